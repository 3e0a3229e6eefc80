"""The main job: three runs on built-in SYNTHETIC long-tail data that show the accuracy–macro-F1 trade-off.

Majority class, TF-IDF + a linear classifier, and the same with sqrt-inverse class weights
(w_c ∝ n_c^-1/2, a softer re-weighting than inverse frequency), all on the same seeded split. Nothing is downloaded: the data comes from
:func:`tailtune.data.synthesize`.
"""

from __future__ import annotations

from pathlib import Path

from tailtune.config import config_from_dict
from tailtune.runs import read_run
from tailtune.workflow import train

__all__ = ["quickstart_configs", "run_quickstart"]


def quickstart_configs(preset: str = "small", seed: int = 42) -> list[tuple[str, dict]]:
    """(label, raw config) for the three quickstart runs."""
    from tailtune.data import PRESETS

    info = PRESETS[preset]
    base = {
        "seed": seed,
        "data": {"synthetic": preset},
        "split": {"val": info.get("val", 0.1)},
        "eval": {"head_min": info["head_min"], "tail_max": info["tail_max"]},
    }
    return [
        ("majority", {**base, "name": "majority", "model": {"backend": "majority"}}),
        ("tfidf", {**base, "name": "tfidf", "model": {"backend": "tfidf"}}),
        (
            "tfidf+sqrt-inv",
            {
                **base,
                "name": "tfidf-sqrt-inverse",
                "model": {"backend": "tfidf"},
                "objective": {"class_weights": "sqrt_inverse"},
            },
        ),
    ]


def run_quickstart(
    runs_dir: str | Path = "runs/quickstart", preset: str = "small", seed: int = 42, log=print
) -> list[dict]:
    """Train the three quickstart runs; return their labels, paths and metrics."""
    results, warned = [], set()

    def warn_once(line: str) -> None:  # the three runs share one data set and its warnings
        if line.startswith("warning:") and line not in warned:
            warned.add(line)
            log(line)

    for label, raw in quickstart_configs(preset, seed):
        cfg = config_from_dict({**raw, "runs_dir": str(runs_dir)})
        log(label)
        path = train(cfg, quiet=True, log=warn_once)
        results.append({"label": label, "path": path, "metrics": read_run(path).metrics})
    return results
