"""Split invariants: exact counts, rare classes stay in train, byte-identical files per seed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tailtune.data import split_frame, write_split
from tailtune.data.synth import PRESETS, preset_sizes, synthesize
from tailtune.errors import DataError

pytestmark = pytest.mark.unit


def frame_of(sizes: dict[str, int]) -> pd.DataFrame:
    labels = [k for k, n in sizes.items() for _ in range(n)]
    return pd.DataFrame(
        {
            "id": [f"f:{i + 2}" for i in range(len(labels))],
            "text": [f"text {i}" for i in range(len(labels))],
            "label": labels,
            "line": np.arange(2, len(labels) + 2),
        }
    )


def test_stratified_counts_are_exact_and_proportional():
    f = frame_of({"a": 60, "b": 30, "c": 10})
    s = split_frame(f, val=0.2, seed=1)
    assert s.val["label"].value_counts().to_dict() == {"a": 12, "b": 6, "c": 2}
    assert len(s.train) == 80 and s.test.empty
    assert set(s.train["id"]) | set(s.val["id"]) == set(f["id"])


def test_singleton_stays_in_train_and_is_reported_and_pairs_give_one():
    f = frame_of({"big": 50, "pair": 2, "solo": 1})
    s = split_frame(f, val=0.5, seed=0)
    assert (s.train["label"] == "solo").sum() == 1
    assert s.report["singletons_in_train"] == ["solo"]
    assert (s.val["label"] == "pair").sum() <= 1
    assert set(s.val["label"]) <= set(s.train["label"])
    assert len(s.val) == round(0.5 * 53)  # 26.5 -> 26 (banker's rounding), exact total


def test_val_and_test_classes_all_appear_in_train():
    f = frame_of({"a": 40, "b": 3, "c": 2, "d": 2, "e": 1})
    s = split_frame(f, val=0.2, test=0.2, seed=3)
    train = set(s.train["label"])
    assert set(s.val["label"]) <= train and set(s.test["label"]) <= train
    assert (len(s.val), len(s.test)) == (10, 10)
    for label, n in {"b": 3, "c": 2, "d": 2}.items():
        held = (s.val["label"] == label).sum() + (s.test["label"] == label).sum()
        assert held <= n - 1


def test_whole_count_split_of_cfpb113_sizes_is_exact():
    sizes = preset_sizes("cfpb113")
    f = frame_of({f"c{i:03d}": n for i, n in enumerate(sizes)})
    s = split_frame(f, val=PRESETS["cfpb113"]["val"], seed=42)
    assert (len(s.train), len(s.val)) == (57_846, 6_430)


def test_too_large_holdout_is_one_line_error():
    with pytest.raises(DataError, match="cannot hold out 3 rows of 4: at most 2 can leave train"):
        split_frame(frame_of({"a": 2, "b": 2}), val=3)


def test_bad_fraction():
    with pytest.raises(DataError, match=r"split.val: got 1.5"):
        split_frame(frame_of({"a": 5, "b": 5}), val=1.5)


def test_unstratified_split_is_still_rare_class_safe():
    f = frame_of({"a": 30, "b": 2, "c": 1})
    s = split_frame(f, val=10, seed=5, stratify=False)
    assert len(s.val) == 10 and set(s.val["label"]) <= set(s.train["label"])


def test_same_seed_byte_identical_files_other_seed_differs(tmp_path):
    f = synthesize("tiny", seed=0)
    paths = {}
    for name, seed in (("a", 7), ("b", 7), ("c", 8)):
        write_split(split_frame(f, val=0.2, test=0.1, seed=seed), tmp_path / name)
        paths[name] = {
            p: (tmp_path / name / p).read_bytes() for p in ("train.csv", "val.csv", "test.csv")
        }
    assert paths["a"] == paths["b"]
    assert paths["a"]["val.csv"] != paths["c"]["val.csv"]
    head = paths["a"]["train.csv"].decode().splitlines()[0]
    assert head == "id,text,label,line"
    assert (tmp_path / "a" / "split.json").is_file()


def test_written_split_reads_back_with_ids(tmp_path):
    from tailtune.data import load_table

    f = frame_of({"a": 8, "b": 4})
    f.loc[0, "text"] = "two\nlines"
    s = split_frame(f, val=0.25, seed=0)
    write_split(s, tmp_path)
    back = load_table(tmp_path / "train.csv", id_column="id").frame
    assert back["id"].tolist() == s.train["id"].tolist()
    assert back["text"].tolist() == s.train["text"].tolist()
