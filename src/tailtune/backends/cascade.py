"""Router + specialist cascade: decompose a long-tail task into head classes and the rest.

The router learns the head classes (training count >= ``head_threshold``, or the ``head_top_k``
most frequent) plus one OTHER class; the specialist learns only the remaining classes, so the
dominant classes exert no pressure on its updates. Prediction routes, then specializes: a text
the router sends to a head class never reaches the specialist, which is why routing errors are
counted (on 113 complaint issues, for example: router 0.695 macro F1 on 7 head classes + OTHER,
specialist 0.266 on 106, cascade 0.262 on all 113 — routing loses what the specialist gains).

Probabilities combine as ``p(head c) = p_router(c)`` and ``p(tail c) = p_router(OTHER) *
p_spec(c)`` (rows sum to 1). ``predict`` follows the hard routing; the argmax of
``predict_proba`` can differ when the router picks OTHER by a small margin (both figures are
in ``info_``). Each stage is any non-composite backend, passed built (as scikit-learn's
``VotingClassifier`` takes estimators); ``fit`` trains clones of them (``router_``,
``specialist_``).
"""

from __future__ import annotations

import time
from dataclasses import fields
from pathlib import Path
from typing import Any

import numpy as np

from tailtune.backends._common import sub_dir, trainable_params
from tailtune.backends._registry import as_stage
from tailtune.backends.base import BackendBase
from tailtune.backends.labels import as_labels
from tailtune.backends.params import clone, freeze, is_backend, merge_in_use
from tailtune.errors import ConfigError, DataError

__all__ = ["CascadeBackend", "OTHER", "split_head", "routing_losses"]

OTHER = "__other__"


def split_head(
    labels: np.ndarray, head_threshold: int = 2000, head_top_k: int | None = None
) -> tuple[list[str], list[str]]:
    """``(head, tail)`` class lists: top-K by count (ties by name) or count >= threshold."""
    classes, counts = np.unique(np.asarray(labels, dtype=object).astype(str), return_counts=True)
    if head_top_k is not None:
        order = sorted(range(len(classes)), key=lambda i: (-counts[i], classes[i]))
        head = {classes[i] for i in order[:head_top_k]}
    else:
        head = {c for c, n in zip(classes, counts, strict=True) if n >= head_threshold}
    rule = (
        f"head_top_k={head_top_k}" if head_top_k is not None else f"head_threshold={head_threshold}"
    )
    if not head:
        raise ConfigError(
            f"model.cascade: no head class under {rule} (largest class has {counts.max()} "
            "examples); lower head_threshold or set head_top_k"
        )
    tail = [c for c in classes if c not in head]
    if len(tail) < 2:
        raise ConfigError(
            f"model.cascade: {rule} leaves {len(tail)} class(es) for the specialist; "
            "it needs at least 2 (raise head_threshold or lower head_top_k)"
        )
    return sorted(head), tail


def routing_losses(gold, routed, head: list[str]) -> dict[str, int]:
    """Examples routing lost: gold tail sent to a head class; gold head sent to OTHER."""
    gold = np.asarray(gold, dtype=object).astype(str)
    routed = np.asarray(routed, dtype=object).astype(str)
    gold_head = np.isin(gold, head)
    tail_to_head = int((~gold_head & (routed != OTHER)).sum())
    head_to_other = int((gold_head & (routed == OTHER)).sum())
    return {
        "tail_sent_to_head": tail_to_head,
        "head_sent_to_other": head_to_other,
        "routing_lost": tail_to_head + head_to_other,
    }


class CascadeBackend(BackendBase):
    """A router over head classes + OTHER and a specialist over the rest (any two backends)."""

    name = "cascade"
    uses_gpu = True  # when a stage is neural
    sets_refusal = ("it routes each text to one head class or to the specialist; a text with "
                    "several labels would need both")  # fmt: skip
    export_refusals = {
        "sklearn": "a cascade routes between two models; serve the run with tailtune serve",
        "onnx": "a cascade routes between two models in tailtune; serve the run with tailtune serve",
        "hf": (
            "a cascade routes between two models, which one transformers model cannot hold; "
            "serve the run with tailtune serve"
        ),
    }

    def __init__(
        self,
        router: Any = None,
        specialist: Any = None,
        head_threshold: int = 2000,
        head_top_k: int | None = None,
        seed: int = 42,
    ):
        self._store(locals())

    # -- training ----------------------------------------------------------------------------

    def _fit(self, texts, labels, eval_set, work_dir) -> None:
        """Fit the router on head + OTHER and the specialist on the tail classes only."""
        start = time.perf_counter()
        if OTHER in labels:
            raise ConfigError(f"model.cascade: a class is named {OTHER!r}, the router's own label")
        self.head_, self.tail_ = split_head(labels, self.head_threshold, self.head_top_k)
        work = Path(work_dir) if work_dir is not None else None
        self.router_ = clone(self._stage(self.router, "router"))
        self.specialist_ = clone(self._stage(self.specialist, "specialist"))
        self.router_name_, self.specialist_name_ = self.router_.name, self.specialist_.name

        router_eval = spec_eval = None
        if eval_set is not None:
            val_texts, val_labels = list(eval_set[0]), as_labels(eval_set[1])
            router_eval = (val_texts, self._router_labels(val_labels))
            spec_eval = _subset(val_texts, val_labels, self.tail_)
        in_tail = np.isin(labels, self.tail_)
        self.router_.fit(
            texts,
            self._router_labels(labels),
            eval_set=router_eval,
            work_dir=sub_dir(work, "router"),
        )
        self.specialist_.fit(
            [t for t, k in zip(texts, in_tail, strict=True) if k],
            labels[in_tail],
            eval_set=spec_eval if spec_eval and spec_eval[0] else None,
            work_dir=sub_dir(work, "specialist"),
        )
        self.history_ = [{**h, "stage": "router"} for h in self.router_.history_] + [
            {**h, "stage": "specialist"} for h in self.specialist_.history_
        ]
        self.info_ = {
            "head_classes": self.head_,
            "n_head": len(self.head_),
            "n_tail": len(self.tail_),
            "router_backend": self.router_name_,
            "specialist_backend": self.specialist_name_,
            "router_train_size": len(texts),
            "specialist_train_size": int(in_tail.sum()),
            "trainable_params": trainable_params(self.router_) + trainable_params(self.specialist_),
        }
        if eval_set is not None:
            self.info_.update(self.evaluate(*eval_set))
        self.info_["fit_s"] = round(time.perf_counter() - start, 3)

    @classmethod
    def fields_in_use(cls) -> dict[str, frozenset[str]]:
        from tailtune.backends.build import CascadeSettings

        return {"model.cascade": frozenset(f.name for f in fields(CascadeSettings))}

    def settings_in_use(self) -> dict[str, frozenset[str]]:
        """The cascade's own section and what its two stages read (they get the run's
        objective and training settings)."""
        stages = [s for s in (self.router, self.specialist) if is_backend(s)]
        return merge_in_use(self.fields_in_use(), *(s.settings_in_use() for s in stages))

    def validation_need(self) -> str | None:
        for role in ("router", "specialist"):
            stage = getattr(self, role)
            reason = stage.validation_need() if is_backend(stage) else None
            if reason is not None:
                return f"the cascade's {role}: {reason}"
        return None

    def refit_steps(self, frozen, n_refit: int, n_fit: int, where: str = "model") -> list[dict]:
        out: list[dict] = []
        for role in ("router", "specialist"):
            fitted = getattr(self, f"{role}_")
            out += fitted.refit_steps(getattr(frozen, role), n_refit, n_fit, f"{where}.{role}")
        return out

    @classmethod
    def summary_lines(cls, info) -> list[str]:
        """The cascade's four validation figures: router macro F1 over the head classes +
        OTHER, the specialist's on the gold-tail rows, the combined macro F1 (hard routing),
        and the rows routing lost (neither can be recovered by the specialist)."""
        info = info or {}
        if "router_macro_f1" not in info:
            return []
        head = f" ({info['n_head']} head + OTHER)" if info.get("n_head") else ""
        tail = f" ({info['n_tail']} tail classes)" if info.get("n_tail") else ""
        proba = info.get("combined_macro_f1_proba")
        return [
            "cascade (validation):",
            f"  router macro F1{head}: {_f(info.get('router_macro_f1'))}",
            f"  specialist macro F1 on its subset{tail}: {_f(info.get('specialist_macro_f1'))}",
            f"  combined macro F1 (all classes, hard routing): {_f(info.get('combined_macro_f1'))}"
            + (f"; argmax of the probabilities (the val row): {_f(proba)}" if proba else ""),
            f"  routing lost {info.get('routing_lost')}: {info.get('tail_sent_to_head')} gold "
            f"tail sent to a head class, {info.get('head_sent_to_other')} gold head sent to OTHER",
        ]

    def _stage(self, stage: Any, role: str):
        """The given stage (a backend, or ``{"backend": name, **kwargs}``)."""
        if stage is None:
            raise ConfigError(f"model.cascade.{role}: no {role} backend given")
        return as_stage(stage, f"model.cascade.{role}", self.seed)

    def frozen_params(self) -> dict:
        """Both stages frozen (see :func:`tailtune.backends.base.freeze`)."""

        return {"router": freeze(self.router_), "specialist": freeze(self.specialist_)}

    def _router_labels(self, labels: np.ndarray) -> np.ndarray:
        return np.where(np.isin(labels, self.head_), labels, OTHER).astype(object)

    # -- evaluation --------------------------------------------------------------------------

    def evaluate(self, texts, labels) -> dict:
        """The four figures of a cascade on labelled texts: router macro F1 (K+1 classes),
        specialist macro F1 (gold-tail rows), cascade macro F1 (all classes, hard routing), and
        the examples routing lost; plus the macro F1 of the argmax of ``predict_proba``."""
        from tailtune.evaluation import compute_metrics

        texts = list(texts)
        gold = np.asarray(labels, dtype=object).astype(str)
        routed = self.router_.predict(texts).astype(str)
        pred = self._specialize(texts, routed)
        out = {
            "router_macro_f1": compute_metrics(self._router_labels(gold), routed)["macro_f1"],
            "combined_macro_f1": compute_metrics(gold, pred)["macro_f1"],
            "combined_macro_f1_proba": compute_metrics(
                gold, self.classes_[self.predict_proba(texts).argmax(axis=1)].astype(str)
            )["macro_f1"],
            **routing_losses(gold, routed, self.head_),
        }
        tail_texts, tail_gold = _subset(texts, gold, self.tail_)
        if tail_texts:
            spec_pred = self.specialist_.predict(tail_texts).astype(str)
            out["specialist_macro_f1"] = compute_metrics(tail_gold, spec_pred)["macro_f1"]
        return out

    # -- prediction --------------------------------------------------------------------------

    def predict(self, texts) -> np.ndarray:
        """Route each text; those routed to OTHER get the specialist's label."""
        texts = list(texts)
        return self._specialize(texts, self.router_.predict(texts).astype(str))

    def _specialize(self, texts: list[str], routed: np.ndarray) -> np.ndarray:
        out = routed.astype(object).copy()
        rest = np.flatnonzero(routed == OTHER)
        if rest.size:
            out[rest] = self.specialist_.predict([texts[i] for i in rest])
        return out

    def _raw_proba(self, texts) -> np.ndarray:
        """``(n, K)`` over ``classes_``: p_router(c) for head c, p_router(OTHER)·p_spec(c) else."""
        proba = np.zeros((len(texts), len(self.classes_)))
        col = {c: i for i, c in enumerate(self.classes_)}
        p_router = self.router_.predict_proba(texts)
        router_classes = [str(c) for c in self.router_.classes_]
        for j, c in enumerate(router_classes):
            if c != OTHER:
                proba[:, col[c]] = p_router[:, j]
        p_other = p_router[:, router_classes.index(OTHER)]
        p_spec = self.specialist_.predict_proba(texts)
        for j, c in enumerate(self.specialist_.classes_):
            proba[:, col[str(c)]] = p_other * p_spec[:, j]
        return proba

    # -- persistence -------------------------------------------------------------------------

    def _saved_params(self, path: Path) -> dict:
        """Each stage saved in ``router/`` and ``specialist/``; backend.json names the folders."""
        self.router_.save(path / "router")
        self.specialist_.save(path / "specialist")
        return {**self.get_params(deep=False), "router": "router", "specialist": "specialist"}

    @classmethod
    def _loaded_params(cls, path: Path, params: dict) -> dict:
        from tailtune.backends import load_backend

        if not isinstance(params.get("router"), str):
            raise DataError(f"{path}: a cascade saved by an older tailtune; retrain it")
        stages = {role: load_backend(path / params[role]) for role in ("router", "specialist")}
        return {**params, **stages}

    def _state(self, path: Path) -> dict:
        return {"head": self.head_, "tail": self.tail_}

    def _restore(self, path: Path, state: dict, **options) -> None:
        # load passed the fitted stages as params: they are the *_ stages, the params clones
        self.router_, self.router = self.router, clone(self.router)
        self.specialist_, self.specialist = self.specialist, clone(self.specialist)
        self.router_name_, self.specialist_name_ = self.router_.name, self.specialist_.name
        self.head_, self.tail_ = state["head"], state["tail"]


def _subset(texts: list[str], labels: np.ndarray, keep: list[str]) -> tuple[list[str], np.ndarray]:
    mask = np.isin(labels, keep)
    return [t for t, k in zip(texts, mask, strict=True) if k], labels[mask]


def _f(value) -> str:
    return "–" if value is None or value != value else f"{value:.3f}"
