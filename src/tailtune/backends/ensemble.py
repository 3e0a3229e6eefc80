"""Probability-averaging ensemble: several backends, one blend, one post-hoc τ.

Sparse TF-IDF and a sentence embedding make different mistakes (surface n-grams versus
paraphrase), so a weighted average of their calibrated probabilities beats either alone on
Banking77 (benchmarks/RESULTS.md). The blend weights and the post-hoc logit adjustment
``log p - τ log prior`` (Menon et al. 2021, "Long-tail learning via logit adjustment", ICLR)
are chosen together by macro F1 on a validation split **carved from the training data**, so
the run's own validation and test figures stay unbiased. Members then train on the remaining
``1 - carve`` of the data: the price of an honest choice, stated in ``info_``.

One 10% carve of a small, long-tailed set holds one or two rows of many classes, so the weights
and τ it picks carry that carve's luck. With ``carves`` > 1 the members are also fitted on further
seeded carves, and the choice maximizes macro F1 over the held-out rows of all carves pooled
(repeated hold-out, as cross-validation pools its folds); the members of the first carve are the
ones kept, so ``carves`` changes what is chosen, not what is trained.

Members are any non-composite backends, passed built (as scikit-learn's ``VotingClassifier``
takes estimators; ``{"backend": name, **kwargs}`` also works); ``fit`` trains clones of them
(``members_``), each with no post-hoc adjustment of its own.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import fields
from pathlib import Path
from typing import Any

import numpy as np

from tailtune.backends._common import sub_dir, trainable_params
from tailtune.backends._registry import as_stage
from tailtune.backends.base import BackendBase
from tailtune.backends.params import clone, freeze, is_backend, merge_in_use
from tailtune.errors import ConfigError, DataError

__all__ = ["EnsembleBackend", "blend", "weight_grid"]


POSTHOC_FIELDS = frozenset({"posthoc_tau", "tune_posthoc_tau", "posthoc_tau_max"})
"""ObjectiveSettings fields a member never sees (the ensemble adjusts the blend once)."""


def without_posthoc(member):
    """``member`` with no post-hoc adjustment of its own: the ensemble adjusts the blend once."""
    if "objective" in member.get_params(deep=False):
        member.set_params(objective__posthoc_tau=0.0, objective__tune_posthoc_tau=False)
    return member


def blend(probas: list[np.ndarray], weights: list[float] | np.ndarray) -> np.ndarray:
    """Weighted arithmetic mean of probability matrices (rows stay distributions)."""
    w = np.asarray(weights, dtype=np.float64)
    if len(probas) != len(w) or np.any(w < 0) or w.sum() <= 0:
        raise ValueError(f"need {len(probas)} non-negative weights with a positive sum, got {w}")
    w = w / w.sum()
    return sum(wi * p for wi, p in zip(w, probas, strict=True))


def weight_grid(n_members: int, step: float = 0.1) -> list[tuple[float, ...]]:
    """Blend weights to try: the simplex at ``step`` for up to 3 members, else equal weights."""
    if n_members == 1:
        return [(1.0,)]
    if n_members > 3:
        return [tuple([1.0 / n_members] * n_members)]
    ticks = int(round(1 / step))
    out = []
    for combo in itertools.product(range(ticks + 1), repeat=n_members - 1):
        rest = ticks - sum(combo)
        if rest >= 0:
            out.append(tuple(c / ticks for c in (*combo, rest)))
    return out


class EnsembleBackend(BackendBase):
    """Average the probabilities of several backends; blend weights and τ from carved data."""

    name = "ensemble"
    uses_gpu = True  # when a member is neural; the members decide for themselves on CPU
    export_refusals = {
        "sklearn": (
            "an ensemble blends several models' probabilities; no one scikit-learn pipeline "
            "holds it (serve the run with tailtune serve)"
        ),
        "onnx": (
            "an ensemble blends models of different kinds in tailtune; serve the run with "
            "tailtune serve, or export each member's own run"
        ),
        "hf": (
            "an ensemble blends several models' probabilities, which one transformers model "
            "cannot hold; serve the run with tailtune serve, or export each member's own run"
        ),
    }

    def __init__(
        self,
        members: list | None = None,
        weights: list[float] | None = None,
        carve: float = 0.1,
        tune_tau: bool = True,
        posthoc_tau: float = 0.0,
        seed: int = 42,
        carves: int = 1,
    ):
        self._store(locals())

    @property
    def takes_sets(self) -> bool:
        """Label sets: when every member takes them (the blend of their sigmoids is then
        thresholded like one model's)."""
        specs = enumerate(self.members or [])
        return all(getattr(as_stage(m, f"model.ensemble.members[{i}]", self.seed), "takes_sets",
                           False) for i, m in specs)  # fmt: skip

    def _check_params(self) -> None:
        _check_rules(len(self.members or []), self.weights, self.carve)
        if not 0 <= self.carve < 1:
            raise ConfigError(
                f"model.ensemble.carve: got {self.carve}, expected a fraction in [0, 1)"
            )
        if self.carves < 1:
            raise ConfigError(f"model.ensemble.carves: got {self.carves}, expected at least 1")

    @classmethod
    def check_model_config(cls, model, where: str = "model") -> None:
        e = model.ensemble
        _check_rules(len(e.members), e.weights, e.carve, f"{where}.ensemble")

    @classmethod
    def fields_in_use(cls) -> dict[str, frozenset[str]]:
        from tailtune.backends.build import EnsembleSettings

        return {"model.ensemble": frozenset(f.name for f in fields(EnsembleSettings))}

    def settings_in_use(self) -> dict[str, frozenset[str]]:
        """The ensemble's own section and what its members read, except post-hoc τ: members
        are built without it, and the ensemble adjusts the blend (``model.ensemble.tune_tau``)."""
        members = [m.settings_in_use() for m in self.members or [] if is_backend(m)]
        out = merge_in_use(self.fields_in_use(), *members)
        if "objective" in out:
            out["objective"] = out["objective"] - POSTHOC_FIELDS
        return out

    def validation_need(self) -> str | None:
        if self.carve > 0:
            return None  # it carves its own tuning split from the training data
        if self.weights is None or self.tune_tau:
            return "the ensemble chooses blend weights and τ on validation (carve 0)"
        stages = (m for m in self.members or [] if is_backend(m))
        return next((r for m in stages if (r := m.validation_need()) is not None), None)

    def refit_steps(self, frozen, n_refit: int, n_fit: int, where: str = "model") -> list[dict]:
        # members were fitted on the ensemble's carve; refit members see everything (carve 0)
        member_fit = int(self.info_.get("fit_size") or n_fit)
        out: list[dict] = []
        for i, (m, f) in enumerate(zip(self.members_, frozen.members, strict=True)):
            out += m.refit_steps(f, n_refit, member_fit, f"{where}.members[{i}]")
        return out

    def _posthoc(self) -> tuple[float, bool]:
        # τ is chosen with the blend weights in _tune, not by the base class's τ search
        return float(self.posthoc_tau), False

    @property
    def _sets(self) -> bool:
        return getattr(self, "kind_", "single") == "multi"

    # -- training ----------------------------------------------------------------------------

    def _fit(self, texts, labels, eval_set, work_dir) -> None:
        """Carve a tuning split, fit every member on the rest, choose blend weights and τ."""
        start = time.perf_counter()
        fit_texts, fit_labels, tune = self._carve(texts, labels, eval_set, self.seed)
        work = Path(work_dir) if work_dir is not None else None
        self.members_ = self._fit_members(fit_texts, fit_labels, tune, work)
        names = [m.name for m in self.members_]
        for i, member in enumerate(self.members_):
            self.history_ += [{**h, "stage": f"member{i}"} for h in member.history_]

        self.weights_ = np.asarray(
            self.weights or [1.0 / len(self.members)] * len(self.members), dtype=np.float64
        )
        tuning: dict[str, Any] = {}
        if tune is not None and len(tune[0]):
            held_out = [self._held_out(self.members_, *tune)]
            for j in range(1, self.carves if self.carve > 0 else 1):
                f_texts, f_labels, tune_j = self._carve(texts, labels, None, self.seed + j)
                others = self._fit_members(f_texts, f_labels, tune_j, None)
                held_out.append(self._held_out(others, *tune_j))
            probas = [np.concatenate(p) for p in zip(*(h[0] for h in held_out), strict=True)]
            gold = np.concatenate([h[1] for h in held_out])
            tuning = self._tune(probas, gold)
            tuning["tune_size"] = len(gold)
        self.info_ = {
            "members": names,
            "weights": [round(float(w), 4) for w in self.weights_ / self.weights_.sum()],
            "posthoc_tau": self.tau_,
            "tuned_on": ("none" if tune is None else ("carved" if self.carve > 0 else "eval_set")),
            "fit_size": len(fit_texts),
            "tune_size": 0 if tune is None else len(tune[0]),
            "carves": self.carves if self.carve > 0 else 1,
            "trainable_params": sum(trainable_params(m) for m in self.members_),
            **tuning,
        }
        self.info_["fit_s"] = round(time.perf_counter() - start, 3)

    def _fit_members(self, texts, labels, tune, work) -> list:
        """Clones of the members, each fitted on ``texts`` (early stopping on ``tune``)."""
        out = []
        for i, spec in enumerate(self.members):
            member = without_posthoc(
                clone(as_stage(spec, f"model.ensemble.members[{i}]", self.seed))
            )
            member = self._fit_member(member, texts, labels, tune, sub_dir(work, f"member{i}"))
            missing = {str(c) for c in self.classes_} - {str(c) for c in member.classes_}
            if missing:  # cannot happen with the carve below, which keeps every class in fit
                raise ConfigError(f"model.ensemble.members[{i}]: never saw {sorted(missing)[:3]}")
            out.append(member)
        return out

    def _fit_member(self, member, texts, labels, tune, work):
        """One member fitted (the seam where a benchmark may reuse an identical earlier fit)."""
        return member.fit(texts, labels, eval_set=tune, work_dir=work)

    def _held_out(self, members, texts, labels) -> tuple[list[np.ndarray], np.ndarray]:
        """Each member's probabilities on tuning rows of known classes, and their gold labels."""
        texts, gold = self.space_.known(texts, labels)
        return [self._member_proba(m, texts) for m in members], np.asarray(gold)

    def _carve(self, texts, labels, eval_set, seed: int):
        """``(fit_texts, fit_labels, tune_set)``: a stratified carve of the training data seeded
        by ``seed`` (every class keeps an example in fit), or the caller's eval_set when
        ``carve`` is 0."""
        if self.carve == 0:
            return texts, labels, eval_set
        import pandas as pd

        from tailtune.data.split import split_frame

        if self._sets:  # label sets: iterative stratification keeps every label in fit
            from tailtune.data.labelsets import join_set, parse_sets
            from tailtune.data.split_sets import split_sets

            sep = "\x1f"  # a separator no label holds
            frame = pd.DataFrame({"id": range(len(texts)), "text": texts, "line": 0,
                                  "label": [join_set(x, sep) for x in labels]})  # fmt: skip
            parts = split_sets(frame, sep, val=self.carve, seed=seed)
            tune = (parts.val["text"].tolist(), parse_sets(parts.val["label"], sep))
            return parts.train["text"].tolist(), parse_sets(parts.train["label"], sep), tune
        frame = pd.DataFrame({"text": texts, "label": labels})
        parts = split_frame(frame, val=self.carve, seed=seed)
        tune = (parts.val["text"].tolist(), parts.val["label"].to_numpy(dtype=object))
        return parts.train["text"].tolist(), parts.train["label"].to_numpy(dtype=object), tune

    def choice_lines(self, on: str, rows: int) -> tuple[list[str], bool]:
        """Blend weights and τ, chosen on carved training rows or on the validation rows."""
        info = dict(self.info_ or {})
        where = (f"{info.get('tune_size', 0):,} training rows carved for tuning"
                 if info.get("tuned_on") == "carved" else on)  # fmt: skip
        if info.get("tuned_on") == "carved" and info.get("carves", 1) > 1:
            where += f" ({info['carves']} seeded carves pooled)"
        lines = []
        if self.weights is None and info.get("weights"):
            lines.append(f"blend weights {info['weights']} chosen on {where}")
        if self.tune_tau:
            lines.append(f"post-hoc τ = {info.get('posthoc_tau', 0):g} chosen on {where}")
        return lines, info.get("tuned_on") == "eval_set" and bool(lines)

    def _tune(self, probas: list[np.ndarray], gold: np.ndarray) -> dict[str, Any]:
        """Choose blend weights (unless fixed) and τ by macro F1 on held-out rows: each member's
        ``probas`` and the ``gold`` labels (encoded) of the same rows."""
        from tailtune.evaluation import compute_metrics
        from tailtune.objectives.adjust import adjust_probabilities, tune_tau

        if self._sets:
            return self._tune_sets(probas, gold)

        member_f1 = [round(compute_metrics(gold, p.argmax(axis=1))["macro_f1"], 4) for p in probas]
        grid = [tuple(self.weights_)] if self.weights is not None else weight_grid(len(probas))
        best_key, best = None, None
        for w in grid:
            p = blend(probas, w)
            if self.tune_tau:
                tau, scores = tune_tau(p, gold, self.prior_)
                score = scores[tau]
            else:
                tau = self.posthoc_tau
                adjusted = adjust_probabilities(p, self.prior_, tau) if tau else p
                score = compute_metrics(gold, adjusted.argmax(axis=1))["macro_f1"]
            # ties: prefer less adjustment, then the more even blend (the smaller max weight)
            key = (score, -tau, -max(w))
            if best_key is None or key > best_key:
                best_key, best = key, (score, tau, w)
        score, tau, w = best
        self.weights_ = np.asarray(w, dtype=np.float64)
        self.tau_ = float(tau)
        return {"member_tune_macro_f1": member_f1, "tune_macro_f1": round(score, 4)}

    def _tune_sets(self, probas: list[np.ndarray], y: np.ndarray) -> dict[str, Any]:
        """Label sets: blend weights by the macro F1 of per-label thresholds tuned on the
        held-out rows (no τ: sigmoids are not adjusted by a prior)."""
        from tailtune.evaluation.set_metrics import set_metrics
        from tailtune.objectives.settings import ObjectiveSettings
        from tailtune.training.objective import set_rule

        names = [str(c) for c in self.classes_]
        objective = self._set_objective() or ObjectiveSettings()

        def score(p):  # the rule the saved model will apply, chosen as fit will choose it
            return set_metrics(y, set_rule(p, y, names, objective).apply(p), names)["macro_f1"]

        member_f1 = [round(score(p), 4) for p in probas]
        grid = [tuple(self.weights_)] if self.weights is not None else weight_grid(len(probas))
        best = max(grid, key=lambda w: (score(blend(probas, w)), -max(w)))
        self.weights_ = np.asarray(best, dtype=np.float64)
        return {"member_tune_macro_f1": member_f1,
                "tune_macro_f1": round(score(blend(probas, best)), 4)}  # fmt: skip

    def _set_objective(self):
        """The members' decision settings: every member is built from the run's one
        ``objective`` section, so the first that has one speaks for the blend."""
        for member in self.members_ if hasattr(self, "members_") else self.members or []:
            if getattr(member, "objective", None) is not None:
                return member.objective
        return None

    def frozen_params(self) -> dict:
        """Params that pin every choice ``fit`` made: frozen members, the blend weights and τ
        (no carve: with nothing left to choose, the members train on all the data)."""

        return {
            "members": [freeze(m) for m in self.members_],
            "weights": [float(w) for w in self.weights_],
            "tune_tau": False,
            "posthoc_tau": self.tau_,
            "carve": 0.0,
            "carves": 1,
        }

    # -- prediction --------------------------------------------------------------------------

    def _member_proba(self, member, texts) -> np.ndarray:
        """A member's probabilities with columns in the ensemble's class order."""
        proba = member.predict_proba(texts)
        if self._sets:  # a multi space encodes sets, not column indices
            order = {str(c): j for j, c in enumerate(member.classes_)}
            return proba[:, [order[str(c)] for c in self.classes_]]
        return proba[:, member.space_.encode(self.classes_)]

    def _raw_proba(self, texts) -> np.ndarray:
        return blend([self._member_proba(m, texts) for m in self.members_], self.weights_)

    # -- persistence -------------------------------------------------------------------------

    def _saved_params(self, path: Path) -> dict:
        """Each member saved in ``member0/``, ``member1/``, ...; backend.json names the folders."""
        folders = [f"member{i}" for i in range(len(self.members_))]
        for folder, member in zip(folders, self.members_, strict=True):
            member.save(path / folder)
        return {**self.get_params(deep=False), "members": folders}

    @classmethod
    def _loaded_params(cls, path: Path, params: dict) -> dict:
        from tailtune.backends import load_backend

        folders = params["members"]
        if not all(isinstance(f, str) for f in folders):
            raise DataError(f"{path}: an ensemble saved by an older tailtune; retrain it")
        return {**params, "members": [load_backend(path / f) for f in folders]}

    def _state(self, path: Path) -> dict:
        return {"weights": self.weights_.tolist()}

    def _restore(self, path: Path, state: dict, **options) -> None:
        # load passed the fitted members as params: they are members_, the params their clones
        self.members_, self.members = self.members, [clone(m) for m in self.members]
        self.weights_ = np.asarray(state["weights"], dtype=np.float64)


def _check_rules(n: int, weights, carve: float, where: str = "model.ensemble") -> None:
    """The ensemble's own rules: at least two members, one weight per member."""
    if n < 2:
        raise ConfigError(f"{where}.members: got {n}, expected at least 2 members")
    if weights is not None and len(weights) != n:
        raise ConfigError(f"{where}.weights: got {len(weights)} weights for {n} members")
