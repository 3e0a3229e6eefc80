"""data.split / val_split / test_split: a saved DatasetDict as train, validation and test;
hub data set names, and one line when the Hub cannot be reached."""

from __future__ import annotations

import pytest

from tailtune.config import load_config
from tailtune.errors import ConfigError, DataError
from tailtune.runs import read_run
from tailtune.workflow import train
from tailtune.workflow.prepare import prepare_data

datasets = pytest.importorskip("datasets")
pytestmark = pytest.mark.integration

WORDS = {
    "billing": "invoice charge fee",
    "delivery": "parcel courier late",
    "login": "password locked",
}


def _part(n: int, offset: int):
    texts, labels = [], []
    for i in range(n):
        label = list(WORDS)[i % 3]
        texts.append(f"{WORDS[label]} message {offset + i}")
        labels.append(label)
    return datasets.Dataset.from_dict({"text": texts, "label": labels})


@pytest.fixture(scope="module")
def dataset_dict(tmp_path_factory):
    path = tmp_path_factory.mktemp("dd") / "complaints"
    datasets.DatasetDict(
        {"train": _part(60, 0), "validation": _part(15, 100), "test": _part(12, 200)}
    ).save_to_disk(path)
    return path


def _cfg(tmp_path, path, *sets):
    return load_config(None, [f"data.path={path}", "model.backend=tfidf",
                              f"runs_dir={tmp_path / 'runs'}", *sets])  # fmt: skip


def test_the_dicts_own_splits_are_train_validation_and_test(tmp_path, dataset_dict):
    cfg = _cfg(tmp_path, dataset_dict, "data.split=train", "data.val_split=validation",
               "data.test_split=test")  # fmt: skip
    prepared = prepare_data(cfg)
    assert (len(prepared.train), len(prepared.val), len(prepared.test)) == (60, 15, 12)
    assert "split" not in prepared.reports  # nothing was carved: the dict's splits are used
    run = read_run(train(cfg))
    assert run.metrics["val"]["n_examples"] == 15 and run.metrics["test"]["n_examples"] == 12
    assert {f["sha256"] for f in run.data["fingerprint"]["files"]}  # the folder is hashed


def test_only_a_training_split_is_carved_as_usual(tmp_path, dataset_dict):
    prepared = prepare_data(_cfg(tmp_path, dataset_dict, "data.split=train", "split.val=0.2"))
    assert len(prepared.train) + len(prepared.val) == 60 and prepared.test is None


@pytest.mark.parametrize(
    ("sets", "expected"),
    [
        ([], "a DatasetDict with splits train, validation, test; name the one to read (data.split"),
        (["data.split=train", "data.val_split=valid"],
         "no split 'valid' (did you mean 'validation'?); its splits: train, validation, test"),
        (["data.split=tran"], "no split 'tran' (did you mean 'train'?)"),
    ],
)  # fmt: skip
def test_a_missing_or_wrong_split_lists_the_splits(tmp_path, dataset_dict, sets, expected):
    with pytest.raises(DataError) as err:
        prepare_data(_cfg(tmp_path, dataset_dict, *sets))
    assert expected in str(err.value) and "\n" not in str(err.value)
    assert str(dataset_dict) in str(err.value)


def test_a_split_of_nothing_is_a_config_error():
    with pytest.raises(ConfigError, match="data.val_split: names a split of a DatasetDict"):
        load_config(None, ["data.synthetic=tiny", "data.val_split=validation"])


def test_a_hub_name_offline_is_one_line_saying_how_to_bring_it(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    cfg = _cfg(tmp_path, "google-research-datasets/go_emotions", "data.format=hub",
               "data.hub_config=simplified", "data.split=train")  # fmt: skip
    with pytest.raises(DataError) as err:
        prepare_data(cfg)
    message = str(err.value)
    assert "\n" not in message and "HF_HUB_OFFLINE is set" in message
    assert message.startswith(
        "data.path 'google-research-datasets/go_emotions' (config 'simplified')"
    )
    assert (
        "load_dataset('google-research-datasets/go_emotions', 'simplified').save_to_disk" in message
    )
