"""Hierarchical classification: a consistent path, each level any backend, and back-off.

Labels are paths (``"Mortgage | Escrow"``, :mod:`tailtune.data.hierarchy`); the tree is learned
from the training labels. Two strategies, both giving probabilities over the leaf paths
(``classes_``), from which every node's probability is the sum of the leaves under it:

- ``flat``: one backend over the leaf paths (the composite label), parents summed from leaves.
- ``top_down``: one backend per level, or per parent, each choosing among the options under
  the node above (:mod:`tailtune.backends._topdown`); a leaf's probability is the product of
  the conditionals along its path. It generalises the router + specialist cascade (a router
  over the top level, a specialist under each parent), and counts routing losses as the cascade
  does: rows whose gold node at a level could not be predicted because the level above was wrong.

``predict`` decodes a path in which each node sits under the one above (``decode``: ``top_down``
follows the most probable node level by level; ``leaf`` takes the most probable leaf). The
back-off rule (:class:`tailtune.objectives.backoff.BackoffRule`) is given as thresholds, or
chosen on the eval set for a target precision per level, and saved with the model;
:meth:`HierarchicalBackend.predict_paths` applies it. Stages are built backends, as the cascade
takes them; ``fit`` trains clones (``model_`` or ``stages_``).
"""

from __future__ import annotations

import time
from dataclasses import fields
from pathlib import Path
from typing import Any

import numpy as np

from tailtune.backends import _topdown as td
from tailtune.backends._common import sub_dir, trainable_params
from tailtune.backends.base import BackendBase
from tailtune.backends.params import clone, is_backend, merge_in_use
from tailtune.errors import ConfigError, DataError
from tailtune.objectives.path_decision import UNKNOWN

__all__ = ["HierarchicalBackend"]


class HierarchicalBackend(BackendBase):
    """A flat or top-down model over label paths, with a saved back-off rule."""

    name = "hierarchical"
    decision = "path"  # predict decodes with path_decision_ (tailtune.backends.labels.PathRule)
    sets_refusal = "a label is one path through a tree here, not a set of labels"

    def __init__(
        self,
        model: Any = None,
        levels: list | None = None,
        parent_models: dict | None = None,
        strategy: str = "flat",
        per: str = "level",
        decode: str = "top_down",
        level_names: list[str] | None = None,
        separator: str = " | ",
        backoff_precision: float | list[float] | None = None,
        backoff_thresholds: list[float | None] | None = None,
        seed: int = 42,
    ):
        self._store(locals())

    # -- training ----------------------------------------------------------------------------

    def _fit(self, texts, labels, eval_set, work_dir) -> None:
        """Learn the tree from ``labels``, fit the stage(s), and choose the back-off rule
        (``fit``, the template method of :class:`BackendBase`, has checked the input and set
        ``classes_``: the sorted leaf labels, the tree's own order)."""
        from tailtune.data.hierarchy import Hierarchy

        start = time.perf_counter()
        labels = [str(x) for x in labels]
        tree = Hierarchy.from_labels(labels, self.level_names, self.separator, where="fit labels")
        if any(td.END in leaf for leaf in tree.leaves):
            raise DataError(f"fit labels: a level is named {td.END!r}, the end-of-path option")
        backs_off = self.backoff_precision is not None or self.backoff_thresholds is not None
        if backs_off and any(leaf[0] == UNKNOWN for leaf in tree.leaves):
            raise DataError(
                f"fit labels: a top-level class is named {UNKNOWN!r}, the back-off answer when "
                "no level is sure; rename it"
            )
        self.hierarchy_ = tree
        work = Path(work_dir) if work_dir is not None else None
        if self.strategy == "flat":
            self.model_ = clone(self._template(0)).fit(
                texts, labels, eval_set=eval_set, work_dir=sub_dir(work, "model")
            )
            self.stages_ = {}
            self.history_ = list(self.model_.history_)
        else:
            self.model_ = None
            self.stages_ = self._fit_stages(texts, labels, eval_set, work)
            self.history_ = [
                {**h, "stage": key} for key, s in self.stages_.items() for h in s.history_
            ]
        self.backoff_ = None  # the rule is chosen on the paths decoded without one
        self.backoff_ = self._rule(eval_set)
        self.info_ = {
            "strategy": self.strategy,
            "per": self.per if self.strategy == "top_down" else None,
            "levels": list(tree.levels),
            "leaf_paths": len(tree.leaves),
            "stages": 1 if self.model_ is not None else len(self.stages_),
            "backoff": None if self.backoff_ is None else self.backoff_.to_dict(),
            "trainable_params": sum(trainable_params(s) for s in self._fitted()),
        }
        if eval_set is not None:
            self.info_.update(self.evaluate(*eval_set))
        self.info_["fit_s"] = round(time.perf_counter() - start, 3)

    def _check_params(self) -> None:
        for name, value, allowed in (
            ("strategy", self.strategy, ("flat", "top_down")),
            ("per", self.per, ("level", "parent")),
            ("decode", self.decode, ("top_down", "leaf")),
        ):
            if value not in allowed:
                raise ConfigError(
                    f"model.hierarchy.{name}: got {value!r}, expected one of {', '.join(allowed)}"
                )
        if self.model is None and not self.levels:
            raise ConfigError("model.hierarchy: no backend given for the levels")

    def _template(self, depth_index: int, key: str | None = None):
        """The unfitted backend for level ``depth_index + 1`` (or the parent ``key``):
        ``parent_models`` (a refit's frozen stages) wins over ``levels``, ``levels`` over
        ``model``."""
        from tailtune.backends._registry import as_stage

        if key is not None and self.parent_models and key in self.parent_models:
            return self.parent_models[key]
        spec = self.model
        if self.levels:
            if depth_index >= len(self.levels):
                raise ConfigError(
                    f"model.hierarchy.levels: {len(self.levels)} backends for a hierarchy of "
                    f"{self.hierarchy_.depth} levels; give one per level"
                )
            spec = self.levels[depth_index]
        if isinstance(spec, dict):
            return as_stage(spec, f"model.hierarchy.levels[{depth_index}]", self.seed)
        return spec

    def _fit_stages(self, texts, labels, eval_set, work) -> dict[str, Any]:
        """One clone per level (or per parent with two options or more), each fitted on the
        rows that choose an option there, labelled with the option they take."""
        tree = self.hierarchy_
        paths = [tree.parse(x) for x in labels]
        val = None
        if eval_set is not None:
            val = (list(eval_set[0]), [tree.parse(str(x)) for x in eval_set[1]])
        stages: dict[str, Any] = {}
        for depth in range(1, tree.depth + 1):
            groups = td.parents(tree, depth)
            if self.per == "level":
                units = [(f"level {depth}", groups)]
            else:
                units = [(tree.label(p) or "(root)", [p]) for p in groups]
            for key, under in units:
                opts = {o for p in under for o in td.options(tree, p)}
                if len(opts) < 2:
                    continue  # one option: nothing to learn, its conditional is 1
                rows, ys = _rows(tree, paths, depth, under)
                stage = clone(self._template(depth - 1, key))
                sub_eval = None
                if val is not None:
                    vrows, vys = _rows(tree, val[1], depth, under)
                    keep = [i for i, y in zip(vrows, vys, strict=True) if y in opts]
                    if keep:
                        sub_eval = ([val[0][i] for i in keep],
                                    [y for y in vys if y in opts])  # fmt: skip
                # numbered folders: a parent's label can be long or hold any character
                stage.fit([texts[i] for i in rows], ys, eval_set=sub_eval,
                          work_dir=sub_dir(work, f"stage{len(stages)}"))  # fmt: skip
                stages[key] = stage
        return stages

    def _rule(self, eval_set):
        from tailtune.objectives.backoff import BackoffRule, choose_thresholds

        levels = tuple(self.hierarchy_.levels)
        if self.backoff_thresholds is not None:
            given = tuple(None if t is None else float(t) for t in self.backoff_thresholds)
            if len(given) != len(levels):
                raise ConfigError(
                    f"model.hierarchy.backoff_thresholds: {len(given)} thresholds for "
                    f"{len(levels)} levels ({', '.join(levels)})"
                )
            return BackoffRule(given, None, levels)
        if self.backoff_precision is None:
            return None
        if eval_set is None:
            raise ConfigError(
                "model.hierarchy.backoff_precision: chosen on validation, but there is no "
                "validation split; give backoff_thresholds instead"
            )
        paths, path_proba = self.paths_proba(list(eval_set[0]))
        gold = [self.hierarchy_.parse(str(x)) for x in eval_set[1]]
        target = self.backoff_precision
        try:
            return choose_thresholds(gold, paths, path_proba, target, levels)
        except ValueError as exc:
            raise ConfigError(f"model.hierarchy.backoff_precision: {exc}") from None

    def fit_backoff(self, texts, labels) -> HierarchicalBackend:
        """Choose the back-off rule again on labelled texts, under the current
        ``backoff_precision`` / ``backoff_thresholds`` (what ``fit`` does with its eval set)."""
        self.backoff_ = None
        self.backoff_ = self._rule((list(texts), list(labels)))
        self.info_ = {
            **self.info_,
            "backoff": None if self.backoff_ is None else self.backoff_.to_dict(),
        }
        return self

    def frozen_params(self) -> dict:
        """The back-off thresholds chosen, and the stage(s) frozen (per parent: each parent's
        own stage, since each chose on its own validation rows)."""
        from tailtune.backends.params import freeze

        out: dict[str, Any] = {}
        if self.backoff_ is not None:
            out["backoff_thresholds"] = list(self.backoff_.thresholds)
        if self.model_ is not None:
            out["model"] = freeze(self.model_)
            return out
        frozen = {key: freeze(stage) for key, stage in self.stages_.items()}
        if frozen:  # the template of a parent or level the refit data adds
            out["model"] = next(iter(frozen.values()))
        if self.per == "parent":
            out["parent_models"] = frozen
        else:
            out["levels"] = [
                frozen[f"level {d}"] if f"level {d}" in frozen
                else clone(self._template(d - 1))
                for d in range(1, self.hierarchy_.depth + 1)
            ]  # fmt: skip
        return out

    def frozen_pairs(self, frozen) -> list[tuple[str, Any, Any]]:
        """``(key, fitted stage, its frozen copy in `frozen`)`` for every stage, so a refit can
        scale each stage's pinned step count (:mod:`tailtune.workflow.refit`). A top-down stage
        sees only its level's or parent's rows, so its steps scale by the whole data's ratio:
        an approximation the refit block of metrics.json records per stage."""
        if self.model_ is not None:
            return [("model", self.model_, frozen.model)]
        if self.per == "parent":
            return [(k, s, frozen.parent_models[k]) for k, s in self.stages_.items()]
        return [
            (f"levels[{d - 1}]", self.stages_[f"level {d}"], frozen.levels[d - 1])
            for d in range(1, self.hierarchy_.depth + 1)
            if f"level {d}" in self.stages_
        ]

    def _fitted(self) -> list:
        return [self.model_] if self.model_ is not None else list(self.stages_.values())

    # -- prediction --------------------------------------------------------------------------

    def _raw_proba(self, texts) -> np.ndarray:
        """``(n, K)`` over the leaf paths ``classes_`` (module docstring)."""
        if self.model_ is not None:
            return td.restrict(
                self.model_.predict_proba(texts), self.model_.classes_, self.classes_
            )
        tree, cache = self.hierarchy_, {}

        def conditional(parent, rows):
            opts = td.options(tree, parent)
            key = self._stage_key(parent)
            stage = self.stages_[key]
            if self.per == "level":
                if key not in cache:
                    cache[key] = stage.predict_proba(texts)
                proba = cache[key][rows]
            else:
                proba = stage.predict_proba([texts[i] for i in rows])
            return td.restrict(proba, stage.classes_, opts)

        return td.leaf_proba(tree, len(texts), conditional)

    def _stage_key(self, parent) -> str:
        if self.per == "level":
            return f"level {len(parent) + 1}"
        return self.hierarchy_.label(parent) or "(root)"

    @property
    def path_decision_(self):
        """The decision rule (:class:`~tailtune.objectives.path_decision.PathDecision`): the
        tree, ``decode`` and the back-off rule, as predict, serve and exports apply it."""
        from tailtune.objectives.path_decision import PathDecision

        return PathDecision(self.hierarchy_, self.decode, self.backoff_)

    def decide(self, proba: np.ndarray) -> np.ndarray:
        """The predicted leaf label of each row of ``proba`` under the decision rule."""
        return self.path_decision_.labels(np.asarray(proba), list(self.classes_))

    def predict(self, texts) -> np.ndarray:
        """The decoded path of each text, as a leaf label (each node under the one above)."""
        return self.decide(self.predict_proba(texts))

    def paths_proba(self, texts) -> tuple[list, np.ndarray]:
        """``(paths, path_proba)``: the decoded paths and each level's node probability."""
        return self.decode_paths(self.predict_proba(list(texts)))

    def decode_paths(self, proba) -> tuple[list, np.ndarray]:
        """``(paths, path_proba)`` decoded from leaf probabilities (``decode``)."""
        return self.path_decision_.paths(np.asarray(proba), list(self.classes_))

    def predict_paths(self, texts) -> dict[str, Any]:
        """Everything a hierarchical prediction says (``PathDecision.describe``): ``path``,
        ``answer`` (backed off, or "unknown"), ``depth`` answered and ``level_proba``."""
        return self.path_decision_.describe(self.predict_proba(list(texts)), list(self.classes_))

    # -- evaluation --------------------------------------------------------------------------

    def evaluate(self, texts, labels) -> dict:
        """Per level on labelled texts: the path's macro F1, and the rows routing lost (gold
        reaches the level, the node above was predicted wrong), as the cascade counts them."""
        from tailtune.evaluation import compute_metrics

        tree = self.hierarchy_
        gold = [tree.parse(str(x)) for x in labels]
        pred, _ = self.paths_proba(texts)
        out: dict[str, Any] = {"levels_eval": {}}
        for d, name in enumerate(tree.levels, start=1):
            rows = [i for i, g in enumerate(gold) if len(g) >= d]
            if not rows:
                continue
            g_d = [tree.label(gold[i][:d]) for i in rows]
            p_d = [tree.label(pred[i][:d]) for i in rows]
            lost = sum(1 for i in rows if d > 1 and pred[i][: d - 1] != gold[i][: d - 1])
            out["levels_eval"][name] = {
                "macro_f1": compute_metrics(g_d, p_d)["macro_f1"],
                "routing_lost": lost,
                "rows": len(rows),
            }
        out["routing_lost"] = sum(v["routing_lost"] for v in out["levels_eval"].values())
        return out

    # -- what the workflow, the CLI and the checks ask (BackendBase) -------------------------

    @classmethod
    def fields_in_use(cls) -> dict[str, frozenset[str]]:
        from tailtune.backends.build_hierarchy import HierarchySettings

        return {"model.hierarchy": frozenset(f.name for f in fields(HierarchySettings))}

    def settings_in_use(self) -> dict[str, frozenset[str]]:
        """The ``model.hierarchy`` section and what every stage reads."""
        return merge_in_use(self.fields_in_use(), *(s.settings_in_use() for s in self._given()))

    def validation_need(self) -> str | None:
        if self.backoff_precision is not None and self.backoff_thresholds is None:
            return "model.hierarchy.backoff_precision chooses back-off thresholds on validation"
        return next((r for s in self._given() if (r := s.validation_need()) is not None), None)

    def refit_steps(self, frozen, n_refit: int, n_fit: int, where: str = "model") -> list[dict]:
        """Each stage's pinned steps scaled by the whole data's ratio (a top-down stage sees
        only its level's or parent's rows, whose share of the refit data is about the same)."""
        out: list[dict] = []
        for key, stage, target in self.frozen_pairs(frozen):
            out += stage.refit_steps(target, n_refit, n_fit, f"{where}.{key}")
        return out

    def export_refusal(self, fmt: str) -> str | None:
        """A flat model exports as its one model does; a top-down model in the forms all its
        stages have (one export per stage, :mod:`tailtune.export.topdown`)."""
        if getattr(self, "model_", None) is not None:
            return self.model_.export_refusal(fmt)
        for key, stage in self._named():
            reason = stage.export_refusal(fmt)
            if reason is not None:
                return f"the top-down stage for {key} ({stage.name}): {reason}"
        return None

    def export_plan(self) -> dict[str, Any]:
        """What a top-down export writes besides its stages: ``stages`` as ``(folder, key,
        fitted stage)`` (the folders ``save`` uses), and ``nodes``, every parent from the top
        level down with its options, the index of its end option (or None) and the folder of
        the stage that chooses among them (None where there is one option), so a decoder
        outside tailtune can multiply the conditionals as :func:`_topdown.leaf_proba` does."""
        tree = self.hierarchy_
        folders = {key: f"stage{i}" for i, (key, _) in enumerate(self._named())}
        nodes = []
        for depth in range(1, tree.depth + 1):
            for parent in td.parents(tree, depth):
                opts = td.options(tree, parent)
                ends = [k for k, o in enumerate(opts) if tree.parse(o)[-1] == td.END]
                nodes.append({
                    "parent": tree.label(parent),
                    "options": opts,
                    "end": ends[0] if ends else None,
                    "stage": folders[self._stage_key(parent)] if len(opts) > 1 else None,
                })  # fmt: skip
        stages = [(folders[key], key, stage) for key, stage in self._named()]
        return {"per": self.per, "stages": stages, "nodes": nodes}

    @classmethod
    def summary_lines(cls, info) -> list[str]:
        """Per level on validation: the decoded path's macro F1 and the rows routing lost."""
        levels = (info or {}).get("levels_eval") or {}
        if not levels:
            return []
        out = [f"hierarchical, {info.get('strategy', '').replace('_', '-')} (validation):"]
        # a flat model routes nothing: its rows under a wrong parent are plain mistakes above
        what = "under a wrong parent" if info.get("strategy") == "flat" else "routing lost"
        for name, v in levels.items():
            lost = f", {what} {v['routing_lost']}" if v.get("routing_lost") else ""
            out.append(f"  {name}: macro F1 {v['macro_f1']:.3f} on {v['rows']} rows{lost}")
        return out

    def _given(self) -> list:
        """The stage backends given as params (template, per-level, per-parent)."""
        given = [self.model, *(self.levels or []), *(self.parent_models or {}).values()]
        return [s for s in given if is_backend(s)]

    # -- persistence (BackendBase.save / load) -----------------------------------------------

    def _saved_params(self, path: Path) -> dict:
        """Each fitted stage saved in ``stage<i>/``; the params keep no backend (they are the
        stages' templates, rebuilt from the saved stages on load)."""
        folders = {}
        for i, (key, stage) in enumerate(self._named()):
            folders[key] = f"stage{i}"
            stage.save(path / f"stage{i}")
        self._folders = folders
        return {**self.get_params(deep=False), "model": None, "levels": None,
                "parent_models": None}  # fmt: skip

    def _state(self, path: Path) -> dict:
        """The tree, the stage folders and the decision rule (decoding and back-off)."""
        return {"stages": self._folders, "decision": self.path_decision_.to_dict()}

    def _named(self):
        return [("model", self.model_)] if self.model_ is not None else list(self.stages_.items())

    def _restore(self, path: Path, state: dict, **options) -> None:
        from tailtune.backends import load_backend
        from tailtune.objectives.path_decision import PathDecision

        stages = {
            key: load_backend(path / folder, **options) for key, folder in state["stages"].items()
        }
        decision = PathDecision.from_dict(state["decision"], f"{path}/state.json")
        self.hierarchy_, self.backoff_ = decision.hierarchy, decision.rule
        self.model_ = stages.pop("model", None)
        self.stages_ = stages
        # an unfitted template, so that a loaded model can be cloned and refitted
        fitted = self.model_ if self.model_ is not None else next(iter(stages.values()), None)
        if self.model is None and self.levels is None and fitted is not None:
            self.model = clone(fitted)


def _rows(tree, paths, depth: int, under) -> tuple[list[int], list[str]]:
    """Row indices whose path passes through one of ``under`` and takes an option at
    ``depth``, and that option's label."""
    keep = set(under)
    rows, ys = [], []
    for i, path in enumerate(paths):
        if path[: depth - 1] not in keep:
            continue
        y = td.target(tree, path, depth)
        if y is not None:
            rows.append(i)
            ys.append(y)
    return rows, ys
