"""Predictions written before running, and the verdict on whether they held.

A prediction is free text, or a structured claim the record can check::

    prediction: {metric: macro_f1, direction: up, at_least: 0.01, text: "batch 4 rescues tail classes"}

``direction`` is ``up`` or ``down`` for each varied value against the first one (or only
``value``), ``at_least`` the smallest effect predicted (default 0). The verdict uses the noise the
experiment already measures: the seed spread (mean difference ± 2 × the larger seed standard
deviation) and, for accuracy and macro F1 on a shared validation set, the paired bootstrap 95%
interval of each seed's difference (Koehn 2004). Their hull is the interval of the difference
(every source of noise must agree). With Δ and the interval signed so that the predicted
direction is positive:

- **held**: the interval lies above 0 and Δ ≥ ``at_least``;
- **did not hold**: the interval excludes the predicted effect: its top is ≤ 0 or < ``at_least``;
- **inconclusive**: anything else (the interval straddles the predicted threshold), or no noise
  estimate at all (one seed per value and no paired bootstrap).

Over several compared values the prediction held when it held for each of them, did not hold when
it failed for any of them, and is inconclusive otherwise.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from tailtune.errors import ConfigError

__all__ = ["PREDICTION_METRICS", "Prediction", "check_prediction", "parse_prediction"]

# what a prediction can be about: the record's metrics and the per-tier mean F1s
PREDICTION_METRICS = (
    "macro_f1", "accuracy", "balanced_accuracy", "weighted_f1", "zero_f1",
    "head_f1", "mid_f1", "tail_f1",
)  # fmt: skip
BOOTSTRAPPED = ("accuracy", "macro_f1")  # the paired bootstrap resamples these two
_KEYS = ("metric", "direction", "at_least", "value", "text")
RULE = (
    "held: the difference's interval (seed spread and paired bootstrap, their hull) lies in the "
    "predicted direction and the effect is at least at_least; did not hold: the interval "
    "excludes the predicted effect; otherwise inconclusive"
)


@dataclass(frozen=True)
class Prediction:
    """A machine-checkable prediction: ``metric`` moves ``direction`` by ≥ ``at_least``."""

    metric: str
    direction: str  # up | down
    at_least: float = 0.0
    value: Any = None  # the varied value it is about (None: every value against the first)
    text: str = ""

    def describe(self) -> str:
        who = f" for {self.value}" if self.value is not None else ""
        return f"{self.metric} {self.direction} by at least {self.at_least:g}{who}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def parse_prediction(
    raw: Any, where: str, fields: dict[str, list[Any]], is_grid: bool, default_metric: str
) -> tuple[str, Prediction | None]:
    """``(text, structured prediction or None)`` from an experiment's ``prediction:`` entry."""
    if isinstance(raw, str) and raw.strip():
        return raw.strip(), None
    if not isinstance(raw, dict):
        raise ConfigError(
            f"{where}: prediction is required: write what you expect BEFORE running, as text or "
            "as {metric, direction, at_least, text}"
        )
    for key in raw:
        if key not in _KEYS:
            raise ConfigError(
                f"{where}: prediction: unknown field '{key}'; allowed: {', '.join(_KEYS)}"
            )
    if is_grid:
        raise ConfigError(
            f"{where}: prediction: a structured prediction needs a one-variable experiment "
            "(vary:), not a grid; write it as text"
        )
    metric = raw.get("metric", default_metric)
    if metric not in PREDICTION_METRICS:
        raise ConfigError(
            f"{where}: prediction.metric: got {metric!r}, expected one of: "
            f"{', '.join(PREDICTION_METRICS)}"
        )
    direction = raw.get("direction")
    if direction not in ("up", "down"):
        raise ConfigError(f"{where}: prediction.direction: got {direction!r}, expected up or down")
    at_least = raw.get("at_least", 0.0)
    if isinstance(at_least, bool) or not isinstance(at_least, (int, float)) or at_least < 0:
        raise ConfigError(f"{where}: prediction.at_least: got {at_least!r}, expected a number ≥ 0")
    value = raw.get("value")
    (values,) = fields.values()
    if "value" in raw and value not in values[1:]:
        raise ConfigError(
            f"{where}: prediction.value: got {value!r}, expected one of the compared values "
            f"{values[1:]} (the first, {values[0]!r}, is the baseline)"
        )
    text = raw.get("text")
    if text is not None and not isinstance(text, str):
        raise ConfigError(f"{where}: prediction.text: got {text!r}, expected text")
    pred = Prediction(metric, direction, float(at_least), value, (text or "").strip())
    return pred.text or pred.describe(), pred


def check_prediction(pred: Prediction | None, comparisons: list[dict[str, Any]]) -> dict[str, Any]:
    """The verdict on a prediction.

    ``comparisons`` holds one item per compared value: ``{"a", "b", "value", "a_stats",
    "b_stats", "paired"}`` with ``*_stats`` = ``{"mean", "std", "n"}`` of ``pred.metric`` over
    seeds and ``paired`` = ``[{"seed", "low", "high"}]`` (the paired bootstrap intervals of
    b − a; empty when the metric has none or the values do not share a validation set).
    """
    if pred is None:
        return {
            "checkable": False, "verdict": "not machine-checkable",
            "sentence": "not machine-checkable: a free-text prediction (write prediction: "
            "{metric, direction, at_least} to have it checked)",
        }  # fmt: skip
    items = [c for c in comparisons if pred.value is None or c["value"] == pred.value]
    checked = [_check_one(pred, c) for c in items]
    labels = [c["verdict"] for c in checked]
    if not checked:
        overall = "inconclusive"
    elif all(v == "held" for v in labels):
        overall = "held"
    elif any(v == "did not hold" for v in labels):
        overall = "did not hold"
    else:
        overall = "inconclusive"
    detail = "; ".join(f"{c['b']} vs {c['a']}: {c['sentence']}" for c in checked)
    return {
        "checkable": True, "prediction": pred.to_dict(), "rule": RULE, "verdict": overall,
        "comparisons": checked,
        "sentence": f"{overall}: {pred.describe()}" + (f" ({detail})" if detail else " (no runs to compare)"),
    }  # fmt: skip


def _check_one(pred: Prediction, comp: dict[str, Any]) -> dict[str, Any]:
    a, b = comp["a_stats"], comp["b_stats"]
    out = {"a": comp["a"], "b": comp["b"], "metric": pred.metric}
    if a["mean"] is None or b["mean"] is None:
        return {**out, "verdict": "inconclusive", "sentence": "inconclusive: runs are missing"}
    delta = b["mean"] - a["mean"]
    sources: dict[str, list[float]] = {}
    if a["std"] is not None and b["std"] is not None:
        spread = 2 * max(a["std"], b["std"])
        sources["seed spread"] = [delta - spread, delta + spread]
    for p in comp.get("paired") or []:
        sources[f"paired bootstrap seed {p['seed']}"] = [p["low"], p["high"]]
    out.update(delta=delta, sources=sources)
    if not sources:
        return {**out, "interval": None, "verdict": "inconclusive",
                "sentence": f"inconclusive: Δ = {delta:+.4f} with no noise estimate "
                "(one seed per value and no paired bootstrap)"}  # fmt: skip
    low = min(lo for lo, _ in sources.values())
    high = max(hi for _, hi in sources.values())
    sign = 1.0 if pred.direction == "up" else -1.0
    effect, lo_s, hi_s = sign * delta, min(sign * low, sign * high), max(sign * low, sign * high)
    if lo_s > 0 and effect >= pred.at_least:
        verdict = "held"
    elif hi_s <= 0 or hi_s < pred.at_least:
        verdict = "did not hold"
    else:
        verdict = "inconclusive"
    names = ", ".join(sources)
    sentence = (
        f"{verdict}: Δ {pred.metric} = {delta:+.4f}, interval [{low:+.4f}, {high:+.4f}] "
        f"({names}); predicted {pred.direction} by ≥ {pred.at_least:g}"
    )
    return {**out, "interval": [low, high], "verdict": verdict, "sentence": sentence}
