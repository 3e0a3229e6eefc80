"""Helpers: write experiment files into tmp_path; the fake trainer's import path."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

TRAINER = "fake_trainer:train"


@pytest.fixture
def write_exp(tmp_path):
    """write_exp(name, **fields) -> path of an experiment YAML with an inline base config."""

    def write(name: str = "bs", **fields) -> Path:
        body = {
            "base": {"data": {"synthetic": "tiny"}, "model": {"backend": "tfidf"}},
            "vary": {"train.batch_size": [32, 4]},
            "seeds": [1, 2, 3],
            "prediction": "batch 4 beats batch 32 on macro F1",
            "runs_dir": str(tmp_path / "runs"),
        }
        body.update(fields)
        body = {k: v for k, v in body.items() if v is not None}
        path = tmp_path / f"{name}.yaml"
        path.write_text(yaml.safe_dump(body, sort_keys=False))
        return path

    return write
