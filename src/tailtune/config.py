"""Configuration: one dataclass per concern; YAML is only their serialization.

A config is validated when it is built: an unknown key or a bad value raises
:class:`~tailtune.errors.ConfigError` naming the dotted field, the bad value and what is
allowed (with a "did you mean" suggestion for typos). Components never see these objects:
builders turn them into plain keyword arguments (DESIGN.md, style rule 4).
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Union

import yaml

from tailtune.errors import ConfigError

__all__ = [
    "DataConfig",
    "SplitConfig",
    "TfidfConfig",
    "EmbeddingHeadConfig",
    "LoraConfig",
    "CascadeConfig",
    "EnsembleConfig",
    "ModelConfig",
    "ObjectiveConfig",
    "TrainConfig",
    "EvalConfig",
    "Config",
    "load_config",
    "recipe_names",
    "recipe_path",
    "config_from_dict",
    "config_to_dict",
    "apply_overrides",
    "config_hash",
    "dump_config",
]

RECIPES_DIR = Path(__file__).resolve().parent / "recipes"
WeightScheme = Literal["none", "sqrt_inverse", "inverse", "effective_number"]


@dataclass
class DataConfig:
    """Where the labelled texts come from and how to read and clean them."""

    path: str | list[str] | None = None  # file(s) or a `datasets` directory; None = synthetic
    format: Literal["auto", "csv", "tsv", "jsonl", "parquet", "hf", "lines"] = "auto"
    text_columns: list[str] = field(default_factory=lambda: ["text"])
    label_columns: list[str] = field(default_factory=lambda: ["label"])
    label_separator: str = " | "  # joins several label columns into one composite label
    text_separator: str = "\n"  # joins several text columns
    column_names: list[str] | None = None  # names for a file without a header row
    skip_rows: int | list[int] = 0  # leading lines to skip (per file when a list)
    encoding: str = "utf-8"
    label_names: str | None = None  # file with one name per line; labels are indices into it
    multi_label_separator: str | None = None  # e.g. "," for GoEmotions ids, "#" for ATIS
    multi_label: Literal["keep", "single"] = "keep"  # single: keep rows with exactly one label
    drop_duplicates: bool = False
    min_class_size: int = 1
    synthetic: Literal["small", "cfpb113", "tiny"] | None = None
    synthetic_scale: float = 1.0
    val_path: str | list[str] | None = None  # an explicit validation file: no split is made
    test_path: str | list[str] | None = None  # an explicit test file
    subset_labels: int | list[str] | None = None  # top-K labels, or named labels
    subset_per_class: int | None = None  # N examples per class (balanced subset)
    subset_total: int | None = None  # N examples in all, balanced: N // K per class (seed 003)
    subsample: int | None = None  # stratified subsample of N training rows


@dataclass
class SplitConfig:
    """A seeded, stratified, rare-class-safe split (fractions in (0, 1) or counts)."""

    val: float = 0.1
    test: float = 0.0
    seed: int | None = None  # defaults to the top-level seed
    stratify: bool = True


@dataclass
class TfidfConfig:
    """TF-IDF features and a linear classifier (scikit-learn)."""

    word_ngrams: list[int] = field(default_factory=lambda: [1, 2])
    char_ngrams: list[int] | None = None  # e.g. [2, 5] adds char_wb n-grams
    min_df: int = 1
    max_features: int | None = 200_000
    sublinear_tf: bool = True
    # LinearSVC is the default: on 100+ classes it fits in seconds where lbfgs logistic
    # regression takes minutes, and scores as well on macro F1 (benchmarks/linear.py).
    classifier: Literal["logreg", "linear_svc"] = "linear_svc"
    C: float = 0.5
    max_iter: int = 2000
    probability: Literal["softmax", "calibrated"] = "softmax"


@dataclass
class EmbeddingHeadConfig:
    """A frozen encoder's pooled embeddings, cached, with a small trained head (Kang et al. 2020)."""

    pooling: Literal["mean", "cls"] = "mean"
    normalize: bool = True
    head: Literal["linear", "mlp"] = "linear"
    hidden_size: int = 512
    dropout: float = 0.1
    embed_batch_size: int = 64
    cache_dir: str | None = None  # default: ~/.cache/tailtune/embeddings


@dataclass
class LoraConfig:
    """PEFT LoRA settings; targets are a preset mapped per architecture or explicit names."""

    r: int = 16
    alpha: int = 32
    dropout: float = 0.05
    bias: Literal["none", "all", "lora_only"] = "none"
    targets: str | list[str] = "attention"  # attention | all-linear | [module names]
    quantization: Literal["none", "4bit", "8bit"] = "none"
    merge_on_save: bool = False
    gguf_file: str | None = None


@dataclass
class CascadeConfig:
    """Router over head classes + OTHER, specialist over the rest (seed 000)."""

    head_threshold: int = 2000  # head = classes with at least this many training examples
    head_top_k: int | None = None  # or: the K most frequent classes
    router: dict[str, Any] = field(default_factory=dict)  # partial config for the router
    specialist: dict[str, Any] = field(default_factory=dict)  # partial config for the specialist


@dataclass
class EnsembleConfig:
    """Average several backends' probabilities; blend weights and τ tuned on carved data."""

    members: list[dict[str, Any]] = field(default_factory=list)  # partial configs, >= 2
    weights: list[float] | None = None  # fixed blend weights (default: tuned)
    carve: float = 0.1  # share of training data held out to tune weights and τ (0: use val)
    tune_tau: bool = True  # post-hoc logit adjustment of the blend (Menon et al. 2021)


@dataclass
class ModelConfig:
    """Which backend, which transformers model (hub id or local path) and its settings."""

    backend: Literal[
        "majority", "tfidf", "embedding_head", "encoder", "decoder_lora", "cascade", "ensemble"
    ] = "tfidf"
    name: str | None = None
    max_length: int = 128
    tfidf: TfidfConfig = field(default_factory=TfidfConfig)
    embedding: EmbeddingHeadConfig = field(default_factory=EmbeddingHeadConfig)
    lora: LoraConfig = field(default_factory=LoraConfig)
    cascade: CascadeConfig = field(default_factory=CascadeConfig)
    ensemble: EnsembleConfig = field(default_factory=EnsembleConfig)


@dataclass
class ObjectiveConfig:
    """Long-tail levers shared by every backend."""

    loss: Literal["ce", "focal", "logit_adjusted"] = "ce"
    class_weights: WeightScheme = "none"
    beta: float = 0.999  # effective-number beta (Cui et al. 2019)
    weight_cap: float | None = None  # clip weights (after normalization) at this value
    label_smoothing: float = 0.0
    focal_gamma: float = 2.0  # focal loss gamma (Lin et al. 2017); class weights serve as alpha
    logit_adjust_tau: float = 1.0  # tau of the logit-adjusted loss (Menon et al. 2021)
    posthoc_tau: float = 0.0  # post-hoc logit adjustment at prediction time
    tune_posthoc_tau: bool = False  # choose posthoc_tau on validation macro F1
    sampler: Literal["none", "class_balanced", "sqrt"] = "none"
    sampler_epoch_size: int | None = None  # examples drawn per epoch (default: training size)
    label_name_examples: int = 0  # add each class's name (or description) as N training texts
    label_descriptions: str | None = None  # YAML/JSON {label: description} for those texts


@dataclass
class TrainConfig:
    """The neural training loop (ignored by the linear backends)."""

    epochs: float = 3.0
    max_steps: int | None = None
    batch_size: int = 32
    eval_batch_size: int = 64
    lr: float = 2e-5
    head_lr: float | None = None
    weight_decay: float = 0.01
    scheduler: Literal["linear", "cosine", "constant"] = "linear"
    warmup_ratio: float = 0.0
    grad_clip: float | None = 1.0
    grad_accum: int = 1
    eval_every: int | None = None  # steps; None = every epoch
    early_stopping_metric: str = "macro_f1"
    patience: int | None = 3  # evaluations without improvement; None = no early stopping
    min_delta: float = 0.0
    keep_checkpoints: int = 1
    precision: Literal["no", "bf16", "fp16"] = "no"
    gradient_checkpointing: bool = False
    group_by_length: bool = True
    optimizer: Literal["adamw", "adamw_8bit"] = "adamw"
    device: Literal["auto", "cpu", "cuda"] = "auto"
    not_learning_steps: int = 100  # warn if loss stays within 2% of ln K after this many steps
    tracker: Literal["none", "tensorboard", "mlflow", "wandb"] = "none"
    num_threads: int | None = None  # torch CPU threads; None = torch default
    resume: bool = False  # continue the latest interrupted run of this name (runs/.interrupted-*)


@dataclass
class EvalConfig:
    """Metrics and frequency tiers (by training count)."""

    head_min: int = 2000  # head: at least this many training examples
    tail_max: int = 100  # tail: fewer than this many; mid: in between
    top_k: int = 5  # top-k probabilities written per prediction


@dataclass
class Config:
    """A whole run: data, split, model, objective, training and evaluation."""

    name: str = "run"
    seed: int = 42
    runs_dir: str = "runs"
    data: DataConfig = field(default_factory=DataConfig)
    split: SplitConfig = field(default_factory=SplitConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    objective: ObjectiveConfig = field(default_factory=ObjectiveConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)


# ---------------------------------------------------------------------------------------------
# dict <-> dataclass with validation


def config_from_dict(raw: dict[str, Any] | None, cls: type = Config, where: str = "") -> Any:
    """Build a (nested) config dataclass from a plain dict, validating every field."""
    raw = {} if raw is None else raw
    if not isinstance(raw, dict):
        raise ConfigError(f"{where or 'config'}: expected a mapping, got {_show(raw)}")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    kwargs: dict[str, Any] = {}
    for key, value in raw.items():
        dotted = f"{where}.{key}" if where else str(key)
        if key not in names:
            close = difflib.get_close_matches(str(key), names, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else f"; allowed: {', '.join(names)}"
            raise ConfigError(f"unknown config field '{dotted}'{hint}")
        kwargs[key] = _coerce(value, hints[key], dotted)
    obj = cls(**kwargs)
    _check_ranges(obj, where)
    return obj


def _coerce(value: Any, tp: Any, where: str) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if dataclasses.is_dataclass(tp):
        return config_from_dict(value, tp, where)
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in (a for a in args if a is not type(None)):
            try:
                return _coerce(value, arg, where)
            except ConfigError as exc:
                errors.append(str(exc))
        allowed = " or ".join(_describe(a) for a in args)
        raise ConfigError(f"{where}: got {_show(value)}, expected {allowed}")
    if origin is Literal:
        if value in args:
            return value
        close = difflib.get_close_matches(str(value), [str(a) for a in args], n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        allowed = ", ".join(str(a) for a in args)
        raise ConfigError(f"{where}: got {_show(value)}, expected one of: {allowed}{hint}")
    if origin is list:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: got {_show(value)}, expected a list")
        return [_coerce(v, args[0], f"{where}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: got {_show(value)}, expected a mapping")
        return dict(value)
    if tp is Any:
        return value
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{where}: got {_show(value)}, expected true or false")
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise ConfigError(f"{where}: got {_show(value)}, expected an integer")
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:  # YAML reads 2e-5 as a string; accept it
                return float(value)
            except ValueError:
                pass
        raise ConfigError(f"{where}: got {_show(value)}, expected a number")
    if tp is str:
        if isinstance(value, str):
            return value
        raise ConfigError(f"{where}: got {_show(value)}, expected a string")
    return value


def _describe(tp: Any) -> str:
    if tp is type(None):
        return "null"
    origin = typing.get_origin(tp)
    if origin is list:
        return "a list"
    if origin is Literal:
        return "one of " + ", ".join(map(str, typing.get_args(tp)))
    return {int: "an integer", float: "a number", str: "a string", bool: "true/false"}.get(
        tp, getattr(tp, "__name__", str(tp))
    )


def _show(value: Any) -> str:
    return repr(value) if not isinstance(value, str) else f"'{value}'"


def _check_ranges(obj: Any, where: str) -> None:
    """Value checks that types cannot express."""
    p = f"{where}." if where else ""
    if isinstance(obj, SplitConfig):
        for name in ("val", "test"):
            v = getattr(obj, name)
            if v < 0 or (v >= 1 and not float(v).is_integer()):
                raise ConfigError(
                    f"{p}{name}: got {v}, expected a fraction in [0, 1) or a whole count"
                )
    if isinstance(obj, ObjectiveConfig):
        if not 0 <= obj.label_smoothing < 1:
            raise ConfigError(
                f"{p}label_smoothing: got {obj.label_smoothing}, expected a value in [0, 1)"
            )
        if not 0 < obj.beta < 1:
            raise ConfigError(f"{p}beta: got {obj.beta}, expected a value in (0, 1)")
        if obj.weight_cap is not None and obj.weight_cap <= 0:
            raise ConfigError(f"{p}weight_cap: got {obj.weight_cap}, expected a positive number")
        if obj.label_name_examples < 0:
            raise ConfigError(
                f"{p}label_name_examples: got {obj.label_name_examples}, expected 0 or more"
            )
    if isinstance(obj, TrainConfig):
        for name in ("batch_size", "eval_batch_size", "grad_accum", "keep_checkpoints"):
            if getattr(obj, name) < 1:
                raise ConfigError(f"{p}{name}: got {getattr(obj, name)}, expected at least 1")
        if obj.lr <= 0:
            raise ConfigError(f"{p}lr: got {obj.lr}, expected a positive number")
        if not 0 <= obj.warmup_ratio < 1:
            raise ConfigError(f"{p}warmup_ratio: got {obj.warmup_ratio}, expected [0, 1)")
    if isinstance(obj, EnsembleConfig):
        if not 0 <= obj.carve < 1:
            raise ConfigError(f"{p}carve: got {obj.carve}, expected a fraction in [0, 1)")
        if obj.weights is not None and any(w < 0 for w in obj.weights):
            raise ConfigError(f"{p}weights: got {obj.weights}, expected non-negative numbers")
    if isinstance(obj, EvalConfig) and obj.tail_max > obj.head_min:
        raise ConfigError(
            f"{p}tail_max ({obj.tail_max}) must not exceed {p}head_min ({obj.head_min})"
        )


def config_to_dict(cfg: Any) -> dict[str, Any]:
    """The plain-dict form of a config dataclass (what YAML and JSON store)."""
    return dataclasses.asdict(cfg)


def dump_config(cfg: Any) -> str:
    """YAML text of a config, keys in declaration order."""
    return yaml.safe_dump(config_to_dict(cfg), sort_keys=False, allow_unicode=True)


def config_hash(cfg: Config) -> str:
    """A short stable hash of the resolved config (identifies a run in experiments)."""
    text = json.dumps(config_to_dict(cfg), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


# ---------------------------------------------------------------------------------------------
# files and overrides


def recipe_names() -> list[str]:
    """The recipes tailtune ships (``tailtune/recipes/*.yaml``)."""
    return sorted(p.stem for p in RECIPES_DIR.glob("*.yaml"))


def recipe_path(name: str) -> Path:
    """The YAML file of a shipped recipe; an unknown name fails with the names that exist."""
    path = RECIPES_DIR / f"{name}.yaml"
    if not path.is_file():
        names = recipe_names()
        close = difflib.get_close_matches(name, names, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise ConfigError(
            f"recipe '{name}': not a shipped recipe{hint}; expected one of: {', '.join(names)}"
        )
    return path


def load_config(path: str | Path | None = None, overrides: list[str] | None = None) -> Config:
    """Read a YAML config (or start from defaults), apply ``a.b=c`` overrides, validate."""
    raw: dict[str, Any] = {}
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise ConfigError(f"{p}: config file not found")
        try:
            raw = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            at = f" at line {mark.line + 1}" if mark is not None else ""
            raise ConfigError(f"{p}: not valid YAML{at}") from exc
        if not isinstance(raw, dict):
            raise ConfigError(f"{p}: expected a mapping of config sections at the top level")
        raw = _resolve_paths(raw, p.parent)
    raw = apply_overrides(raw, overrides or [])
    return config_from_dict(raw)


def apply_overrides(raw: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply ``section.field=value`` strings (values parsed as YAML) to a raw config dict."""
    out = json.loads(json.dumps(raw, default=str))
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"override '{item}': expected the form section.field=value")
        key, text = item.split("=", 1)
        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError:
            value = text
        if value is None and text.strip() not in ("", "null", "Null", "NULL", "~"):
            value = text  # e.g. '#' (ATIS's label separator), which YAML reads as a comment
        node = out
        parts = key.strip().split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"override '{item}': '{part}' is not a section")
        node[parts[-1]] = value
    return out


def _resolve_paths(raw: dict[str, Any], base: Path) -> dict[str, Any]:
    """Data paths in a config file are relative to the file, unless they exist as given."""
    objective = raw.get("objective")
    if isinstance(objective, dict) and isinstance(objective.get("label_descriptions"), str):
        objective["label_descriptions"] = _resolve_one(objective["label_descriptions"], base)
    data = raw.get("data")
    if not isinstance(data, dict):
        return raw
    for key in ("path", "val_path", "test_path", "label_names"):
        value = data.get(key)
        if isinstance(value, str):
            data[key] = _resolve_one(value, base)
        elif isinstance(value, list):
            data[key] = [_resolve_one(v, base) if isinstance(v, str) else v for v in value]
    return raw


def _resolve_one(value: str, base: Path) -> str:
    if Path(value).is_absolute() or Path(value).exists():
        return value
    candidate = base / value
    return str(candidate) if candidate.exists() else value
