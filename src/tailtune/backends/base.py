"""The backend contract in one place: the ``Backend`` protocol and ``BackendBase``.

As in scikit-learn's ``base.py``: a backend's constructor arguments are its *params* — stored
as given, read back by ``get_params`` (from the ``__init__`` signature), changed by
``set_params``; learned state ends in ``_``. ``clone`` and ``freeze`` live in
:mod:`tailtune.backends.params`. :class:`BackendBase` holds the mechanics every backend shares
as template methods, and what the workflow, the CLI and the exports ask of a backend, so that
a composite answers for itself and no code outside backends/ asks a backend its name.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any, Protocol, runtime_checkable

import numpy as np

from tailtune._settings import from_kwargs
from tailtune.backends._common import read_backend_json, write_backend_json
from tailtune.backends._sets import as_sets, is_label_sets
from tailtune.backends.labels import LabelSpace, as_labels, decision_rule
from tailtune.backends.params import decode_params, encode_params, is_backend, split_flat
from tailtune.errors import ConfigError, DataError

__all__ = ["Backend", "BackendBase", "SET_BACKENDS", "check_fit_input"]

SET_BACKENDS = "tfidf, embedding_head, prototype, encoder, decoder_lora and ensembles of them"
"""The backends that train on label sets, as a refusal names them."""


@runtime_checkable
class Backend(Protocol):
    """What every backend offers (docs/architecture.md, "The backend contract")."""

    name: str
    classes_: np.ndarray
    history_: list[dict]
    info_: dict

    def get_params(self, deep: bool = True) -> dict[str, Any]: ...

    def set_params(self, **params: Any) -> Backend: ...

    def fit(self, texts, labels, eval_set=None, work_dir=None) -> Backend: ...

    def predict_proba(self, texts) -> np.ndarray: ...

    def predict(self, texts) -> np.ndarray: ...

    def save(self, path: str | Path) -> None: ...


SECTIONS = {"tfidf": "model.tfidf", "embedding": "model.embedding", "lora": "model.lora"}
"""The config section of a settings argument (where it is not the argument's own name)."""


class BackendBase:
    """The shared mechanics of every backend, as template methods (scikit-learn's mixins).

    ``__init__`` of a subclass stores each constructor argument under its own name and does
    nothing else; ``settings`` maps argument names to their settings dataclass (for
    ``backend.json`` and :meth:`from_flat`). ``fit`` checks the input and the settings, learns
    the label space (``classes_``, ``prior_``), calls ``_fit`` and, when asked, chooses the
    post-hoc τ on validation; it never changes a parameter: what it learns ends in ``_``
    (``tau_``, ``temperature_``, ``weights_``). ``predict_proba`` guards empty input, calls
    ``_raw_proba`` and applies τ; ``predict`` applies the decision rule (argmax);
    ``save``/``load`` write ``backend.json`` and ``state.json`` around ``_state``/``_restore``.
    """

    name = "backend"
    settings: dict[str, type] = {}
    prefixes: dict[str, str] = {}
    """Flat-keyword prefix of a settings argument for :meth:`from_flat` (``lora_r`` → ``lora.r``)."""
    decision = "argmax"
    """The decision rule of :data:`tailtune.backends.labels.RULES` that ``predict`` applies
    (a fitted model of label sets uses ``thresholds``, see :attr:`decision_`)."""
    takes_sets = False
    """Whether ``fit`` takes label sets (multi-label: one sequence of labels per text)."""
    sets_refusal = ""
    """Why a backend that does not take label sets cannot (shown in its refusal)."""
    chance_by_design = False
    """A reference predictor whose predictions are chance by construction (the majority
    baseline): the prediction guards (collapsed, at chance) do not judge it."""
    # unfitted defaults, read-only: fit assigns fresh ones
    history_: Sequence[dict] = ()
    info_: Mapping[str, Any] = MappingProxyType({})

    @classmethod
    def from_flat(cls, **kwargs: Any):
        """Build from keyword arguments where settings fields may be given flat:
        ``TfidfBackend.from_flat(C=2.0)`` is ``TfidfBackend(tfidf=TfidfSettings(C=2.0))``.
        A key that is neither a parameter nor a settings field is a ConfigError."""
        names = cls._param_names()
        direct = {k: v for k, v in kwargs.items() if k in names}
        flat = {k: v for k, v in kwargs.items() if k not in names}
        if cls.settings:
            spec = {
                arg: (sc, direct.get(arg), cls.prefixes.get(arg, ""))
                for arg, sc in cls.settings.items()
            }
            direct.update(split_flat(cls.name, flat, spec))
        elif flat:
            raise ConfigError(
                f"{cls.name} backend: unknown parameter(s) {', '.join(sorted(flat))}; "
                f"allowed: {', '.join(names)}"
            )
        return cls(**direct)

    def _store(self, args: Mapping[str, Any]) -> None:
        """What every ``__init__`` does, as its one statement ``self._store(locals())``: store
        each constructor argument under its own name, a settings argument left None as its
        settings class's defaults. Nothing is checked here: ``fit`` checks (scikit-learn's
        contract: ``__init__`` only stores)."""
        for name in self._param_names():
            value = args[name]
            if value is None and name in self.settings:
                value = self.settings[name]()
            setattr(self, name, value)

    @classmethod
    def _param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return [
            p.name
            for p in sig.parameters.values()
            if p.name != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
        ]

    # -- the template methods ------------------------------------------------------------------

    def fit(self, texts, labels, eval_set=None, work_dir=None):
        """Check input and settings, learn the label space, ``_fit``, then τ on validation.

        ``labels`` may be label sets (one list or tuple of labels per text, as scikit-learn's
        multi-label estimators take them): the space is then of kind ``multi``, ``_fit`` learns
        one probability per label, and the per-label thresholds of the decision rule are tuned
        on ``eval_set`` (:meth:`_fit_label_sets`).
        """
        check_fit_input(texts, labels, eval_set)
        self._check_params()
        if is_label_sets(labels):
            return self._fit_label_sets(list(texts), as_sets(labels), eval_set, work_dir)
        texts, labels = list(texts), as_labels(labels)
        space = LabelSpace.from_labels(labels)
        self.classes_, self.prior_, self.kind_ = space.classes, space.prior, space.kind
        self.history_, self.info_ = [], {}
        tau, tune = self._posthoc()
        self.tau_ = float(tau)
        self._fit(texts, labels, eval_set, work_dir)
        if tune and eval_set is not None:
            self.tau_ = self._tune_tau(*space.known(*eval_set))
        if self._posthoc() != (0.0, False) or "posthoc_tau" in self.info_:
            self.info_["posthoc_tau"] = self.tau_
        return self

    def _fit_label_sets(self, texts: list[str], sets: list[tuple], eval_set, work_dir):
        """Label sets: learn the ``multi`` space, ``_fit`` on the sets, then the decision rule's
        thresholds on validation (0.5 without validation data or with tune_thresholds off)."""
        from tailtune.objectives.settings import ObjectiveSettings
        from tailtune.training.objective import set_rule

        if not self.takes_sets:
            raise ConfigError(self.sets_refusal_line())
        tau, tune = self._posthoc()
        if tau or tune:
            raise ConfigError("objective.posthoc_tau / tune_posthoc_tau: adjust a softmax over "
                              "classes; label sets have one probability per label, set 0 / false")  # fmt: skip
        space = LabelSpace.from_sets(sets)
        self.classes_, self.prior_, self.kind_ = space.classes, space.prior, space.kind
        self.history_, self.info_, self.tau_ = [], {}, 0.0
        if eval_set is not None:
            eval_set = (list(eval_set[0]), as_sets(eval_set[1]))
        self._fit(texts, sets, eval_set, work_dir)
        objective = self._set_objective() or ObjectiveSettings()
        scores = y = None
        if eval_set is not None and len(eval_set[0]):
            val_texts, y = space.known(*eval_set)
            scores = self._raw_proba(val_texts)
        self.rule_ = set_rule(scores, y, self.classes_, objective)
        self.info_["thresholds"] = {"global": self.rule_.global_threshold,
                                    "tuned": scores is not None and objective.tune_thresholds}  # fmt: skip
        return self

    def _set_objective(self):
        """The ObjectiveSettings whose decision-rule fields (tune_thresholds, threshold_shrink,
        max_labels, at_least_one) decide label sets; a composite answers with its members'."""
        return getattr(self, "objective", None)

    def keep_rule(self, selected) -> None:
        """Label sets: take the decision rule ``selected`` (a model of the same labels, fitted on
        part of this one's data) chose on validation: a refit on train + validation has no data
        left to tune thresholds on (:mod:`tailtune.workflow.refit`)."""
        import dataclasses as dc

        rule = selected.rule_
        chosen = dict(zip(rule.labels, rule.thresholds, strict=True))
        # a label only validation had was never scored on validation: the global threshold
        names = [str(c) for c in self.classes_]
        self.rule_ = dc.replace(rule, labels=names,
                                thresholds=[chosen.get(c, rule.global_threshold) for c in names])  # fmt: skip
        self.info_["thresholds"] = {
            **selected.info_.get("thresholds", {}),
            "kept_from": "selection",
        }

    def sets_refusal_line(self) -> str:
        """The one line that refuses label sets for this backend: why, and what to use."""
        why = f" ({self.sets_refusal})" if self.sets_refusal else ""
        return (f"data.multi_label: sets: backend '{self.name}' does not train on label "
                f"sets{why}; use {SET_BACKENDS}")  # fmt: skip

    @property
    def decision_(self) -> str:
        """The decision rule this fitted model applies: ``thresholds`` for label sets."""
        return "thresholds" if getattr(self, "kind_", "single") == "multi" else self.decision

    def _fit(self, texts: list[str], labels: np.ndarray, eval_set, work_dir) -> None:
        """Train on ``texts``/``labels`` (``classes_``/``prior_`` are set); fill ``info_``.
        With label sets (``self.space_.kind == "multi"``) ``labels`` and ``eval_set``'s labels are
        tuples of labels and the model learns one independent probability per class."""
        raise NotImplementedError

    def _raw_proba(self, texts: list[str]) -> np.ndarray:
        """Probabilities (n >= 1, K) in ``classes_`` order, before post-hoc adjustment."""
        raise NotImplementedError

    def predict_proba(self, texts) -> np.ndarray:
        """Class probabilities (n, K) in ``classes_`` order, post-hoc adjusted when τ > 0
        (log p − τ log prior; Menon et al. 2021, "Long-tail learning via logit adjustment")."""
        texts = list(texts)
        if not texts:  # scikit-learn's transformers and the tokenizers refuse zero rows
            return np.zeros((0, len(self.classes_)))
        proba = self._raw_proba(texts)
        tau = getattr(self, "tau_", 0.0)  # always 0 for label sets
        if tau:
            from tailtune.objectives.adjust import adjust_probabilities

            proba = adjust_probabilities(proba, self.prior_, tau)
        return proba

    def predict(self, texts) -> np.ndarray:
        """The label the decision rule picks for each text (argmax of ``predict_proba``); for
        label sets, a tuple of labels per text (those over their thresholds)."""
        rule = decision_rule(self.decision_)
        return rule.decide(self.classes_, self.predict_proba(texts), getattr(self, "rule_", None))

    # -- post-hoc τ ------------------------------------------------------------------------------

    def _posthoc(self) -> tuple[float, bool]:
        """``(fixed τ, choose τ on validation?)`` from the ``objective`` settings, if any."""
        objective = getattr(self, "objective", None)
        if objective is None:
            return 0.0, False
        return float(objective.posthoc_tau), bool(objective.tune_posthoc_tau)

    def _tune_tau(self, texts: list[str], gold: np.ndarray) -> float:
        """τ chosen on the validation rows of training classes (none: τ stays as it is)."""
        if len(gold) == 0:
            return self.tau_
        return self._choose_tau(self._raw_proba(texts), gold)

    def _choose_tau(self, proba: np.ndarray, gold: np.ndarray) -> float:
        """τ of ``objective.tau_grid()`` maximizing macro F1 of the adjusted ``proba`` against
        ``gold`` (Menon et al. 2021, "Long-tail learning via logit adjustment"; ties: smallest)."""
        from tailtune.objectives.adjust import tune_tau

        tau, _ = tune_tau(proba, gold, self.prior_, self.objective.tau_grid())
        return float(tau)

    @property
    def space_(self) -> LabelSpace:
        """The learned label space (``classes_``, ``prior_`` and its kind)."""
        return LabelSpace(self.classes_, self.prior_, getattr(self, "kind_", "single"))

    def frozen_params(self) -> dict[str, Any]:
        """Params that pin what ``fit`` chose on validation (see :func:`freeze`): here τ."""
        if getattr(self, "objective", None) is None:
            return {}
        return {"objective__posthoc_tau": self.tau_, "objective__tune_posthoc_tau": False}

    # -- what the workflow, the CLI, the report and the exports ask --------------------------
    # A composite answers for itself (recursing into its stages), so no code outside backends/
    # asks a backend its name.

    uses_gpu = False
    """Whether training wants a GPU when one is there (``train.device: auto``)."""
    export_forms: dict[str, str] = {}
    """Export format -> the form this backend takes in it (``classifier``, ``pooled_head``,
    ``pipeline``); a format not listed is refused with :meth:`export_refusal`."""
    export_refusals: dict[str, str] = {}
    """Export format -> why this backend has no such form (and what to do instead)."""

    def export_refusal(self, fmt: str) -> str | None:
        """None when the backend exports to ``fmt``, else the one-line reason it does not."""
        if fmt in self.export_forms:
            return None
        return self.export_refusals.get(fmt, f"backend '{self.name}' has no {fmt} form")

    uses: dict[str, tuple[str, ...]] = {}
    """Settings argument -> the fields of it this backend reads; an argument of ``settings``
    not listed here is read whole."""

    @classmethod
    def fields_in_use(cls) -> dict[str, frozenset[str]]:
        """Config section (``objective``, ``train``, ``model.tfidf`` ...) -> the fields of it this
        backend class reads. A section not listed is not read at all."""
        out = {}
        for arg, settings_cls in cls.settings.items():
            names = cls.uses.get(arg) or [f.name for f in dataclasses.fields(settings_cls)]
            out[SECTIONS.get(arg, arg)] = frozenset(names)
        return out

    def settings_in_use(self) -> dict[str, frozenset[str]]:
        """The config fields this built backend reads (a composite adds its stages')."""
        return self.fields_in_use()

    @classmethod
    def check_model_config(cls, model, where: str = "model") -> None:
        """Rules of this backend on its config section, checked when the config is loaded
        (``model`` is a :class:`tailtune.config.ModelSettings`)."""

    def validation_need(self) -> str | None:
        """Why this backend cannot be fitted without a validation split, or None when it can."""
        if self._posthoc()[1]:
            return "objective.tune_posthoc_tau chooses τ on validation"
        train = getattr(self, "train", None)
        if train is not None and train.patience is not None:
            return (
                "early stopping (train.patience) follows a validation metric; "
                "set train.patience: null"
            )
        return None

    def refit_steps(self, frozen, n_refit: int, n_fit: int, where: str = "model") -> list[dict]:
        """Scale the step count ``freeze`` pinned in ``frozen`` from the ``n_fit`` rows early
        stopping chose it on to the ``n_refit`` rows of the refit (epochs kept); what changed."""
        best = self.info_.get("best_step")
        train = getattr(frozen, "train", None)
        if not best or train is None:
            return []
        steps = max(1, round(int(best) * n_refit / max(n_fit, 1)))
        frozen.train = dataclasses.replace(train, max_steps=steps)
        return [{"stage": where, "selected_step": int(best), "refit_steps": steps}]

    @classmethod
    def summary_lines(cls, info: Mapping[str, Any] | None) -> list[str]:
        """Lines the console prints after training, from ``metrics.json``'s ``info``."""
        return []

    def choice_lines(self, on: str, rows: int) -> tuple[list[str], bool]:
        """What ``fit`` chose on data it then reports on, one line each (``on`` names the
        ``rows`` validation rows), and whether it chose on those validation rows: the workflow
        then calls the run's validation figures optimistic. Here the post-hoc τ (Menon et al.
        2021); a backend that chooses more says so itself."""
        objective = getattr(self, "objective", None)
        if not (rows and getattr(objective, "tune_posthoc_tau", False)):
            return [], False
        tau = float(getattr(self, "tau_", 0.0) or 0.0)
        return [f"post-hoc τ = {tau:g} chosen on {on}"], True

    def _check_params(self) -> None:
        """Validate every settings argument (called by ``fit``, never by ``__init__``)."""
        for arg in self.settings:
            value = getattr(self, arg)
            if hasattr(value, "validate"):
                value.validate(SECTIONS.get(arg, arg))

    # -- persistence -----------------------------------------------------------------------------
    # Plain JSON, arrays and safetensors only, never pickle: a run directory is untrusted input.

    def save(self, path: str | Path) -> None:
        """``backend.json`` (name and params), ``state.json`` (label space, rule, τ, info,
        history and ``_state``) and whatever files ``_state`` writes beside them."""
        from tailtune._atomic import write_text

        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        params = encode_params(self._saved_params(path))
        state = {
            "classes": [str(c) for c in self.classes_],
            "prior": np.asarray(self.prior_, dtype=float).tolist(),
            "rule": self.decision_,
            "kind": getattr(self, "kind_", "single"),
            **({"set_rule": self.rule_.to_dict()} if hasattr(self, "rule_") else {}),
            "tau": float(getattr(self, "tau_", 0.0)),
            "info": dict(self.info_),
            "history": list(self.history_),
            **self._state(path),
        }
        write_text(path / "state.json", json.dumps(state, default=str))
        write_backend_json(path, self.name, params)

    @classmethod
    def load(cls, path: str | Path, **options: Any):
        """The backend ``save`` wrote to ``path``; ``options`` go to ``_restore`` (``device``)."""
        path = Path(path)
        meta = read_backend_json(path)
        if not (path / "state.json").is_file():
            pickled = any(path.glob("*.pkl"))  # never unpickled: a run folder is untrusted
            old = " (a pickle from an older tailtune, refused: retrain)" if pickled else ""
            raise DataError(f"{path}: no state.json of a saved {cls.name} model{old}")
        obj = cls(**decode_params(cls, cls._loaded_params(path, meta["params"])))
        state = json.loads((path / "state.json").read_text(encoding="utf-8"))
        obj.classes_ = np.asarray(state["classes"], dtype=object)
        obj.prior_ = np.asarray(state["prior"], dtype=np.float64)
        decision_rule(state.get("rule", "argmax"))  # a rule this version lacks fails here
        obj.kind_ = state.get("kind", "single")
        if "set_rule" in state:
            from tailtune.objectives.thresholds import SetRule

            obj.rule_ = SetRule.from_dict(state["set_rule"])
        # a model saved before τ was learned state kept the chosen τ in its params
        obj.tau_ = float(state.get("tau", obj._posthoc()[0]))
        obj.info_, obj.history_ = state.get("info", {}), state.get("history", [])
        obj._restore(path, state, **options)
        return obj

    def _saved_params(self, path: Path) -> dict[str, Any]:
        """The params ``backend.json`` records (a composite saves its stages here instead)."""
        return self.get_params(deep=False)

    @classmethod
    def _loaded_params(cls, path: Path, params: dict[str, Any]) -> dict[str, Any]:
        """The constructor arguments from ``backend.json``'s params (inverse of the above)."""
        return params

    def _state(self, path: Path) -> dict[str, Any]:
        """Learned state beyond the label space: JSON values returned, big arrays written."""
        return {}

    def _restore(self, path: Path, state: dict[str, Any], **options: Any) -> None:
        """Rebuild what ``_state`` saved (``classes_``, ``prior_``, ``tau_`` are set)."""

    # -- params ----------------------------------------------------------------------------------

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Constructor arguments; with ``deep``, also ``arg__field`` of settings and sub-backends."""
        out: dict[str, Any] = {}
        for name in self._param_names():
            value = getattr(self, name)
            out[name] = value
            if not deep:
                continue
            if dataclasses.is_dataclass(value) and not isinstance(value, type):
                for f in dataclasses.fields(value):
                    out[f"{name}__{f.name}"] = getattr(value, f.name)
            elif is_backend(value):
                for key, sub in value.get_params(deep=True).items():
                    out[f"{name}__{key}"] = sub
        return out

    def set_params(self, **params: Any):
        """Set constructor arguments (``objective__posthoc_tau=...`` sets one settings field)."""
        names = self._param_names()
        nested: dict[str, dict[str, Any]] = {}
        for key, value in params.items():
            head, _, rest = key.partition("__")
            if head not in names:
                raise ConfigError(
                    f"{self.name} backend: unknown parameter '{head}'; allowed: {', '.join(names)}"
                )
            if rest:
                nested.setdefault(head, {})[rest] = value
            else:
                setattr(self, head, value)
        for head, sub in nested.items():
            current = getattr(self, head)
            if is_backend(current):
                current.set_params(**sub)
            elif dataclasses.is_dataclass(current):
                fields = {**{f.name: getattr(current, f.name) for f in dataclasses.fields(current)}}
                fields.update(sub)
                setattr(self, head, from_kwargs(type(current), fields))
            else:
                raise ConfigError(f"{self.name} backend: '{head}' has no fields to set")
        return self

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params(deep=False).items())
        return f"{type(self).__name__}({args})"


def check_fit_input(texts: Sequence[str], labels: Sequence[str], eval_set=None) -> None:
    """One clear DataError for inputs no backend can train on."""
    n_texts, n_labels = len(texts), len(labels)
    if n_texts == 0:
        raise DataError("fit: no training texts (the training split is empty)")
    if n_texts != n_labels:
        raise DataError(f"fit: {n_texts} texts but {n_labels} labels; expected one label per text")
    if eval_set is not None:
        if len(eval_set) != 2:
            raise DataError("fit: eval_set must be a pair (texts, labels)")
        vt, vl = eval_set
        if len(vt) != len(vl):
            raise DataError(
                f"fit: eval_set has {len(vt)} texts but {len(vl)} labels; expected one per text"
            )
