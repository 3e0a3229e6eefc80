"""benchmarks/hierarchy_new_user.py's data: every GoEmotions emotion gets one path under the
sentiment and Ekman groupings, comments with several emotions are left out, and the configs it
writes load as hierarchical runs of the CLI."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd
import pytest

pytestmark = pytest.mark.unit

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "hierarchy_new_user.py"
NAMES = ["admiration", "amusement", "anger", "annoyance", "approval", "caring", "confusion", "curiosity", "desire", "disappointment", "disapproval", "disgust", "embarrassment", "excitement", "fear", "gratitude", "grief", "joy", "love", "nervousness", "optimism", "pride", "realization", "relief", "remorse", "sadness", "surprise", "neutral"]  # fmt: skip


def _bench():
    spec = importlib.util.spec_from_file_location("hierarchy_new_user", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_emotion_has_one_path():
    paths = _bench().emotion_paths()
    assert sorted(paths) == sorted(NAMES)
    assert paths["neutral"] == "neutral"
    assert paths["grief"] == "negative > sadness > grief"
    assert paths["curiosity"] == "ambiguous > surprise > curiosity"
    assert all(len(p.split(" > ")) == 3 for e, p in paths.items() if e != "neutral")


def test_folder_and_config(tmp_path):
    from tailtune.config import load_config

    bench = _bench()
    root = tmp_path / "goemotions"
    root.mkdir()
    (root / "labels.txt").write_text("\n".join(NAMES) + "\n")
    rows = "so proud\t21\ta1\nhmm what\t6,7\ta2\nok then\t27\ta3\ngross\t11\ta4\n"
    for split in ("train", "dev", "test"):
        (root / f"{split}.tsv").write_text(rows)
    user = tmp_path / "user"
    user.mkdir()
    sizes = bench.write_folder(user, root, train_rows=2)
    assert sizes == {"train.csv": 2, "val.csv": 3, "test.csv": 3}
    test = pd.read_csv(user / "test.csv")
    assert test["path"].tolist() == ["positive > joy > pride", "neutral",
                                     "negative > disgust > disgust"]  # fmt: skip
    cfg = load_config(bench.write_config(user, "back-off-0.8"))
    assert cfg.data.hierarchy and cfg.data.label_separator == " > "
    assert cfg.model.hierarchy.strategy == "top_down" and cfg.model.hierarchy.per == "parent"
    assert cfg.model.hierarchy.backoff_precision == 0.8
