"""Read run directories: every analysis (diagnose, noise, errors, report, experiments) goes through here."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from tailtune.errors import DataError
from tailtune.runs import layout

__all__ = ["Run", "read_run", "find_runs", "is_run_dir"]


@dataclass
class Run:
    """A finished run directory, loaded lazily."""

    path: Path
    config: dict[str, Any] = field(repr=False)
    metrics: dict[str, Any] = field(repr=False)

    @property
    def name(self) -> str:
        return self.path.name

    @cached_property
    def labels(self) -> dict[str, Any]:
        return _read_json(self.path / layout.LABELS, default={})

    @cached_property
    def data(self) -> dict[str, Any]:
        return _read_json(self.path / layout.DATA, default={})

    @cached_property
    def env(self) -> dict[str, Any]:
        return _read_json(self.path / layout.ENV, default={})

    @cached_property
    def per_class(self) -> pd.DataFrame:
        return self.per_class_for("val")

    def per_class_for(self, split: str = "val") -> pd.DataFrame:
        """Per-class table of one split (``per_class.csv`` for val, ``per_class_<split>.csv``)."""
        p = self.path / layout.per_class_file(split)
        if not p.is_file():
            return pd.DataFrame(
                columns=["label", "tier", "train_count", "support", "precision", "recall", "f1"]
            )
        return pd.read_csv(p, keep_default_na=False, dtype={"label": str})

    @cached_property
    def predictions(self) -> pd.DataFrame:
        p = self.path / layout.PREDICTIONS
        if not p.is_file():
            return pd.DataFrame(columns=["split", "id", "text", "gold", "pred", "prob", "top_k"])
        return pd.read_csv(
            p, keep_default_na=False, dtype={"gold": str, "pred": str, "id": str, "text": str}
        )

    @cached_property
    def history(self) -> list[dict[str, Any]]:
        p = self.path / layout.HISTORY
        if not p.is_file():
            return []
        return [json.loads(line) for line in p.read_text().splitlines() if line.strip()]

    def probabilities(self, split: str = "val") -> tuple[list[str], np.ndarray]:
        """(classes, probabilities) of a split, rows in ``predictions.csv`` order for that split."""
        p = self.path / layout.PROBABILITIES
        if not p.is_file():
            raise DataError(f"{self.path}: no {layout.PROBABILITIES} in this run")
        with np.load(p, allow_pickle=False) as z:
            if split not in z.files:
                raise DataError(f"{p}: no probabilities for split '{split}' (has {z.files})")
            return [str(c) for c in z["classes"]], z[split]

    def split_predictions(self, split: str = "val") -> pd.DataFrame:
        frame = self.predictions
        return frame[frame["split"] == split].reset_index(drop=True)


def is_run_dir(path: Path) -> bool:
    """A finished run has metrics.json and config.yaml and is not a temporary folder."""
    return (
        path.is_dir()
        and not path.name.startswith(".")
        and (path / layout.METRICS).is_file()
        and (path / layout.CONFIG).is_file()
    )


def read_run(path: str | Path) -> Run:
    """Load a run directory, or raise DataError naming what is missing."""
    p = Path(path)
    if not p.is_dir():
        raise DataError(f"{p}: run directory not found")
    if not is_run_dir(p):
        raise DataError(
            f"{p}: not a finished run directory (expected {layout.METRICS} and {layout.CONFIG})"
        )
    try:
        config = yaml.safe_load((p / layout.CONFIG).read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise DataError(f"{p / layout.CONFIG}: not valid YAML") from exc
    return Run(path=p, config=config, metrics=_read_json(p / layout.METRICS))


def find_runs(runs_dir: str | Path) -> list[Path]:
    """Finished run directories directly under ``runs_dir``, oldest first by name."""
    root = Path(runs_dir)
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if is_run_dir(p))


def _read_json(p: Path, default: Any = None) -> Any:
    if not p.is_file():
        if default is not None:
            return default
        raise DataError(f"{p}: file not found")
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DataError(f"{p}: not valid JSON (line {exc.lineno})") from exc
