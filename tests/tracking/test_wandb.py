"""train.report_to: wandb — offline (no account, no network), and skipped when not installed."""

from __future__ import annotations

import sys
import warnings

import pytest

from tailtune.config import config_from_dict
from tailtune.tracking import TrackingWarning, report_run
from tailtune.workflow import train

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def tfidf_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("wandb") / "runs"
    cfg = config_from_dict({"name": "tiny-wb", "runs_dir": str(root),
                            "data": {"synthetic": "tiny"}, "model": {"backend": "tfidf"}})  # fmt: skip
    return train(cfg)


def test_an_offline_wandb_run_is_written_beside_the_runs(tfidf_run, monkeypatch):
    pytest.importorskip("wandb")
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    done = report_run(tfidf_run, ["wandb"])
    folder = tfidf_run.parent / "wandb"
    runs = list(folder.glob("offline-run-*"))
    (record,) = runs[0].glob("*.wandb")  # the offline log `wandb sync` uploads
    assert done["wandb"] == str(runs[0])
    data = record.read_bytes()  # protobuf records: keys and string values are stored as written
    for key in (b"model.backend", b"val_macro_f1", b"val_macro_f1_low", b"tailtune.run_path"):
        assert key in data, key
    assert str(tfidf_run.resolve()).encode() in data


def test_without_wandb_installed_it_is_one_warning(tfidf_run, monkeypatch):
    monkeypatch.setitem(sys.modules, "wandb", None)  # import wandb raises ImportError
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        done = report_run(tfidf_run, ["wandb"])
    assert done == {}
    (w,) = [w for w in caught if issubclass(w.category, TrackingWarning)]
    assert "wandb is not installed (pip install wandb)" in str(w.message)
