"""Configuration: the components' own settings dataclasses, composed into one run config.

Each concern's settings live with the component that uses it — ``training.TrainSettings``
(``train:``), ``objectives.ObjectiveSettings`` (``objective:``), ``backends.tfidf.TfidfSettings``,
``backends.embedding_head.HeadSettings``, ``backends.lora.LoraSettings`` and the composites'
settings (``model.*``) — each documenting its fields and validating itself. This module only
composes them (plus the run's own data, split and evaluation settings) and maps YAML onto them:
an unknown key or a bad value raises :class:`~tailtune.errors.ConfigError` naming the dotted
field, the bad value and what is allowed (with a "did you mean" suggestion for typos).
Components never see a ``Config``: ``tailtune.backends.build_backend`` hands them their settings.
"""

from __future__ import annotations

import copy
import difflib
import json
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from tailtune._settings import check_choices, deep_merge, from_dict, not_a_choice, to_dict
from tailtune.backends._long_text import TextWindow
from tailtune.backends._registry import BACKENDS, backend_class
from tailtune.backends.build import CascadeSettings, EnsembleSettings
from tailtune.backends.build_hierarchy import HierarchySettings
from tailtune.backends.embedding_head import HeadSettings
from tailtune.backends.lora import LoraSettings
from tailtune.backends.tfidf import TfidfSettings
from tailtune.errors import ConfigError
from tailtune.objectives.settings import ObjectiveSettings
from tailtune.training.settings import TrainSettings

__all__ = [
    "DataSettings",
    "SplitSettings",
    "ModelSettings",
    "EvalSettings",
    "Config",
    "load_config",
    "read_config_file",
    "read_yaml_mapping",
    "recipe_names",
    "recipe_path",
    "config_from_dict",
    "config_to_dict",
    "apply_overrides",
    "check_seed",
    "dump_config",
]

RECIPES_DIR = Path(__file__).resolve().parent / "recipes"
DATA_PATH_FIELDS = ("path", "val_path", "test_path", "label_names")
"""The data fields that name files (resolved against the folder of the config file)."""


@dataclass
class DataSettings:
    """Where the labelled texts come from and how to read and clean them."""

    path: str | list[str] | None = None
    """File(s) or a `datasets` directory; null = synthetic data."""
    format: Literal["auto", "csv", "tsv", "jsonl", "parquet", "hf", "hub", "lines"] = "auto"
    """File format; auto = from the extension (a folder: a `datasets` save_to_disk folder, or
    line-aligned files); hub = path is a Hugging Face Hub data set name (needs a network)."""
    split: str | None = None
    """The split of a `datasets` DatasetDict (save_to_disk folder or hub data set) read as
    path, e.g. train; ignored for files without splits."""
    val_split: str | None = None
    """The DatasetDict split read as validation (no split is made): of val_path when it is
    given, else of path itself, e.g. validation."""
    test_split: str | None = None
    """The DatasetDict split read as test: of test_path when it is given, else of path, e.g.
    test."""
    hub_config: str | None = None
    """The configuration (subset) of a hub data set, e.g. simplified for go_emotions."""
    text_columns: list[str] = field(default_factory=lambda: ["text"])
    """Column(s) holding the text; several are joined by text_separator."""
    label_columns: list[str] = field(default_factory=lambda: ["label"])
    """Column(s) holding the label; several are joined into one composite label."""
    label_separator: str = " | "
    """Joins several label columns into one composite label."""
    text_separator: str = "\n"
    """Joins several text columns."""
    column_names: list[str] | None = None
    """Names for a file without a header row."""
    skip_rows: int | list[int] = 0
    """Leading lines to skip (per file when a list)."""
    encoding: str = "utf-8"
    """Text encoding of the files."""
    label_names: str | None = None
    """File with one class name per line; the labels are indices into it."""
    multi_label_separator: str | None = None
    """Separator of several labels in one cell, e.g. "," for GoEmotions ids, "#" for ATIS."""
    multi_label: Literal["keep", "single", "sets"] = "keep"
    """keep: a set of labels is one class; single: keep rows with exactly one label; sets: each
    text carries a set of labels (multi-label classification, tailtune.data.labelsets)."""
    label_format: Literal["separator", "json", "columns"] = "separator"
    """How a label set is written (multi_label: sets): separator = labels in one cell split on
    multi_label_separator (list cells of JSONL/Parquet are lists); json = a JSON list in the
    cell; columns = label_columns are one 0/1 column per label, named after it."""
    keep_empty_set: bool = False
    """multi_label: sets: keep texts with no label as the empty set (else they are removed and
    listed, as empty labels are)."""
    hierarchy: bool = False
    """Read each label as a path: the label columns are its levels, top first (with one column,
    each cell is a path split on label_separator, e.g. " > "); empty trailing levels end a path
    early. Data stats and metrics then report every level."""
    level_names: list[str] | None = None
    """Names of the hierarchy's levels, top first; null = the label columns (or level 1, 2...)."""
    missing_levels: list[str] = field(default_factory=lambda: ["None"])
    """With hierarchy: label cells that mean "no value here", read as empty so the path ends
    above (CFPB's payday file writes an absent Sub-issue as the word None); [] = none."""
    drop_duplicates: bool = False
    """Drop repeated (text, label) rows."""
    min_class_size: int = 1
    """Drop classes with fewer examples than this."""
    synthetic: Literal["small", "cfpb113", "tiny"] | None = None
    """A synthetic long-tailed data set instead of files."""
    synthetic_scale: float = 1.0
    """Scale the synthetic data set's class sizes."""
    val_path: str | list[str] | None = None
    """An explicit validation file: no split is made."""
    test_path: str | list[str] | None = None
    """An explicit test file."""
    subset_labels: int | list[str] | None = None
    """Keep the top-K labels, or the named labels."""
    subset_per_class: int | None = None
    """N examples per class (a balanced subset)."""
    subset_total: int | None = None
    """N examples in all, balanced: N // K per class (a budget-matched subset)."""
    subsample: int | None = None
    """A stratified subsample of N rows, drawn before the split (validation shrinks with it)."""
    train_subsample: int | None = None
    """Keep about N rows of the training split, after the split (validation unchanged):
    nested and stratified, every class at least once. For data-scaling curves."""
    train_fraction: float | None = None
    """Keep this fraction (0, 1] of the training split, after the split; as train_subsample."""

    def validate(self, where: str = "data") -> None:
        """Raise ConfigError naming the first bad field, its value and what is allowed."""
        check_choices(self, where)
        if self.min_class_size < 1:
            raise ConfigError(
                f"{where}.min_class_size: got {self.min_class_size}, expected at least 1"
            )
        if self.synthetic_scale <= 0:
            raise ConfigError(
                f"{where}.synthetic_scale: got {self.synthetic_scale}, expected a positive number"
            )
        if self.train_subsample is not None and self.train_subsample < 1:
            raise ConfigError(
                f"{where}.train_subsample: got {self.train_subsample}, expected a positive "
                "number of training rows"
            )
        if self.train_fraction is not None and not 0 < self.train_fraction <= 1:
            raise ConfigError(
                f"{where}.train_fraction: got {self.train_fraction}, expected a fraction in (0, 1]"
            )
        self._validate_hierarchy(where)
        self._validate_sets(where)
        for name in ("multi_label_separator", "label_separator", "text_separator"):
            if getattr(self, name) == "":  # "".split fails; a silent default would mislead
                raise ConfigError(f"{where}.{name}: got an empty string, expected a separator "
                                  "(quote it in YAML: '|' or \"|\")")  # fmt: skip
        for name, own in (("val_split", "val_path"), ("test_split", "test_path")):
            if getattr(self, name) and self.path is None and getattr(self, own) is None:
                raise ConfigError(
                    f"{where}.{name}: names a split of a DatasetDict, but neither {where}.path "
                    f"nor {where}.{own} is given"
                )
        if self.train_subsample is not None and self.train_fraction is not None:
            raise ConfigError(
                f"{where}.train_subsample and {where}.train_fraction: give one of them, not both"
            )

    def _validate_sets(self, where: str) -> None:
        sets = self.multi_label == "sets"
        if not sets and (self.label_format != "separator" or self.keep_empty_set):
            field_ = "label_format" if self.label_format != "separator" else "keep_empty_set"
            raise ConfigError(
                f"{where}.{field_}: applies to label sets only; set {where}.multi_label: sets"
            )
        if sets and self.hierarchy:
            raise ConfigError(
                f"{where}.multi_label: sets and {where}.hierarchy: a label is a path or a set of "
                "labels, not both"
            )
        if sets and self.label_format == "columns" and len(self.label_columns) < 2:
            raise ConfigError(
                f"{where}.label_columns: label_format columns needs one 0/1 column per label "
                f"(at least 2), got {self.label_columns}"
            )

    def _validate_hierarchy(self, where: str) -> None:
        if self.level_names is not None and not self.hierarchy:
            raise ConfigError(
                f"{where}.level_names: names levels of a hierarchy; set {where}.hierarchy: true"
            )
        if not self.hierarchy:
            return
        if not self.label_separator:
            # a YAML file reads an unquoted ' > ' as an empty folded block (--set keeps it)
            raise ConfigError(
                f"{where}.label_separator: empty, expected the string between levels; quote it "
                f'in a YAML file ({where.split(".")[-1]}: {{label_separator: " > "}}; '
                "unquoted, YAML reads > as empty)"
            )
        if self.multi_label_separator is not None:
            raise ConfigError(
                f"{where}.hierarchy: a label is a path or a set of labels, not both; "
                f"unset {where}.multi_label_separator"
            )
        n_cols = len(self.label_columns)
        if self.level_names is not None and n_cols > 1 and len(self.level_names) != n_cols:
            raise ConfigError(
                f"{where}.level_names: got {len(self.level_names)} names for {n_cols} label "
                "columns, expected one per column"
            )


@dataclass
class SplitSettings:
    """A seeded, stratified, rare-class-safe split (fractions in (0, 1) or counts)."""

    val: float = 0.1
    """Validation share (a fraction in [0, 1)) or a whole count of rows."""
    test: float = 0.0
    """Test share (a fraction in [0, 1)) or a whole count of rows."""
    seed: int | None = None
    """Seed of the split; null = the run's seed."""
    stratify: bool = True
    """Keep class proportions in every part (rare classes stay in training)."""

    def validate(self, where: str = "split") -> None:
        """Raise ConfigError naming the first bad field, its value and what is allowed."""
        for name in ("val", "test"):
            v = getattr(self, name)
            if v < 0 or (v >= 1 and not float(v).is_integer()):
                raise ConfigError(
                    f"{where}.{name}: got {v}, expected a fraction in [0, 1) or a whole count"
                )
        check_seed(self.seed, f"{where}.seed")


@dataclass
class ModelSettings:
    """Which backend, which transformers model (hub id or local path) and its settings."""

    backend: str = "tfidf"
    """The backend: a name of tailtune.backends.BACKENDS (majority, tfidf, embedding_head,
    encoder, decoder_lora, prototype, cascade, ensemble)."""
    name: str | None = None
    """A transformers model: hub id or local path (neural backends)."""
    max_length: int = 128
    """Tokens per text, or per window of a long text (model.long_text)."""
    long_text: Literal["truncate", "head_tail", "chunk_mean", "chunk_max"] = "truncate"
    """A text longer than max_length (embedding_head, prototype, encoder, and the composites'
    members built on them; another backend refuses a mode other than truncate):
    truncate (its first tokens), head_tail (its first and last tokens, Sun et al. 2019), or
    chunk_mean / chunk_max (overlapping windows; embeddings, or the encoder's logits at
    prediction, averaged or max-pooled)."""
    chunk_overlap: int = 32
    """Chunk modes: tokens shared by neighbouring windows (at least 0, below max_length / 2)."""
    max_chunks: int = 8
    """Chunk modes: windows per text at most, spread evenly over the text; 0 = all windows."""
    head_share: float = 0.25
    """head_tail: share of the window taken from the text's start (the rest from its end)."""
    tfidf: TfidfSettings = field(default_factory=TfidfSettings)
    """TF-IDF backend settings."""
    embedding: HeadSettings = field(default_factory=HeadSettings)
    """Embedding-head backend settings."""
    lora: LoraSettings = field(default_factory=LoraSettings)
    """LoRA settings of the decoder_lora backend."""
    cascade: CascadeSettings = field(default_factory=CascadeSettings)
    """Router + specialist cascade settings."""
    ensemble: EnsembleSettings = field(default_factory=EnsembleSettings)
    """Probability-averaging ensemble settings."""
    hierarchy: HierarchySettings = field(default_factory=HierarchySettings)
    """How a path is predicted when data.hierarchy is on (flat or top-down, back-off)."""

    def window(self) -> TextWindow:
        """How the transformers backends read a text longer than max_length."""
        return TextWindow(self.long_text, self.chunk_overlap, self.max_chunks, self.head_share)

    def validate(self, where: str = "model") -> None:
        """Raise ConfigError naming the first bad field, its value and what is allowed."""
        check_choices(self, where)
        if self.max_length < 1:
            raise ConfigError(f"{where}.max_length: got {self.max_length}, expected at least 1")
        self.window().validate(where, self.max_length)
        if self.backend not in BACKENDS:  # the registry is the list: a new backend is one line
            raise not_a_choice(self.backend, tuple(BACKENDS), f"{where}.backend")
        backend_class(self.backend).check_model_config(self, where)


@dataclass
class EvalSettings:
    """Metrics and frequency tiers (by training count)."""

    head_min: int | None = None
    """Head tier: classes with at least this many training examples; null = auto: 2000, or a
    data-driven rule when the fixed thresholds leave a tier empty (tailtune.evaluation.tiers)."""
    tail_max: int | None = None
    """Tail tier: fewer than this many; mid: in between. null = auto: 100, as head_min. A value
    set here (either one) always wins, the other takes its default."""
    top_k: int = 5
    """Top-k probabilities written per prediction."""
    score_test: bool = True
    """Score the test split. false = its rows stay out of training and validation but are
    never predicted or reported: a hyperparameter search's trials choose on validation alone."""

    def validate(self, where: str = "eval") -> None:
        """Raise ConfigError naming the first bad field, its value and what is allowed."""
        from tailtune.evaluation.tiers import DEFAULT_HEAD_MIN, DEFAULT_TAIL_MAX

        for name in ("head_min", "tail_max"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ConfigError(f"{where}.{name}: got {value}, expected a count >= 0 or null")
        if self.head_min is None and self.tail_max is None:
            return
        head = DEFAULT_HEAD_MIN if self.head_min is None else self.head_min
        tail = DEFAULT_TAIL_MAX if self.tail_max is None else self.tail_max
        if tail > head:
            tail_s = f"{tail}" + (", the default" if self.tail_max is None else "")
            head_s = f"{head}" + (", the default" if self.head_min is None else "")
            raise ConfigError(
                f"{where}.tail_max ({tail_s}) must not exceed {where}.head_min ({head_s})"
            )


@dataclass
class Config:
    """A whole run: data, split, model, objective, training and evaluation."""

    name: str = "run"
    """Run name (the run directory is <runs_dir>/<name>-<timestamp>)."""
    seed: int = 42
    """Seed of the split, the model's initialization and data order."""
    runs_dir: str = "runs"
    """Where run directories and the run index go."""
    data: DataSettings = field(default_factory=DataSettings)
    """Input data."""
    split: SplitSettings = field(default_factory=SplitSettings)
    """Train / validation / test split."""
    model: ModelSettings = field(default_factory=ModelSettings)
    """Backend and model."""
    objective: ObjectiveSettings = field(default_factory=ObjectiveSettings)
    """Long-tail objective."""
    train: TrainSettings = field(default_factory=TrainSettings)
    """The neural training loop (ignored by the linear backends)."""
    eval: EvalSettings = field(default_factory=EvalSettings)
    """Metrics and tiers."""

    def validate(self, where: str = "") -> None:
        """Every section validates itself when it is built; the run's own fields here."""
        check_seed(self.seed, f"{where}.seed" if where else "seed")

    def merged(self, partial: dict[str, Any]) -> Config:
        """A new config: ``partial`` (a nested dict of fields) deep-merged over this one."""
        return config_from_dict(deep_merge(config_to_dict(self), copy.deepcopy(partial)))


SEED_MAX = 2**32 - 1
"""numpy's and torch's generators take seeds from 0 to 2**32 - 1."""


def check_seed(seed: int | None, where: str) -> None:
    """A seed numpy and torch both accept (null passes: it means "the run's seed")."""
    if seed is not None and not 0 <= seed <= SEED_MAX:
        raise ConfigError(f"{where}: got {seed}, expected an integer from 0 to {SEED_MAX}")


# ---------------------------------------------------------------------------------------------
# dict <-> dataclass with validation


def config_from_dict(raw: dict[str, Any] | None, cls: type = Config, where: str = "") -> Any:
    """Build a (nested) config dataclass from a plain dict, validating every field."""
    return from_dict(raw, cls, where)


def config_to_dict(cfg: Any) -> dict[str, Any]:
    """The plain-dict form of a config dataclass (what YAML and JSON store): its config-file
    fields in declaration order, nested sections as dicts."""
    return to_dict(cfg)


def dump_config(cfg: Any, leave_out: Mapping[str, Sequence[str]] | None = None) -> str:
    """YAML text of a config, keys in declaration order.

    ``leave_out`` maps a section (``train``, ``model.lora``; ``window`` is the model section's
    long-text fields) to fields not to write, for a run's config.yaml: the fields its backend
    does not read, at their defaults (:func:`tailtune.backends.build.unread_defaults`). A
    section left empty is dropped, and comment lines at the top name what was left out and why;
    loading the file fills the defaults in again.
    """
    raw = config_to_dict(cfg)
    whole, some = [], []
    for section, names in (leave_out or {}).items():
        where = "model" if section == "window" else section  # the long-text fields are model's
        parent = raw
        for part in where.split("."):
            parent = parent[part]
        for name in names:
            parent.pop(name, None)
        if parent:
            some.append(f"{where}: {', '.join(names)}")
        else:
            whole.append(where)
            head, _, last = where.rpartition(".")
            (raw[head] if head else raw).pop(last)
    text = yaml.safe_dump(raw, sort_keys=False, allow_unicode=True)
    if not (whole or some):
        return text
    lines = ["Left out at their defaults, as the run's backend does not read them (loading this",
             "file fills them in again):"]  # fmt: skip
    for item in ([f"{', '.join(whole)} (whole sections)"] if whole else []) + some:
        lines += textwrap.wrap(item, 94, initial_indent="  ", subsequent_indent="    ")
    return "".join(f"# {line}\n" for line in lines) + text


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
    """Read a YAML config (or start from defaults), apply ``a.b=c`` overrides, validate.

    Paths given with ``--set data.path=…`` follow the config file's rule: as given when they
    exist from the current folder, else relative to the config file's folder.
    """
    raw = read_config_file(path) if path is not None else {}
    raw = apply_overrides(raw, overrides or [])
    raw = _resolve_paths(raw, Path(path).parent if path is not None else Path("."))
    return config_from_dict(raw)


def read_config_file(path: str | Path) -> dict[str, Any]:
    """The raw mapping of a YAML config file, its data paths resolved against the file's folder
    (unless they exist as given). Not validated: overrides may still apply."""
    p = Path(path)
    raw = read_yaml_mapping(p, "config file", "a mapping of config sections")
    return _resolve_paths(raw, p.parent)


def read_yaml_mapping(path: Path, what: str, expected: str) -> dict[str, Any]:
    """The mapping a YAML file holds (empty for an empty file), or a one-line ConfigError:
    ``what`` not found, not UTF-8 text, not valid YAML (with the line), not ``expected``."""
    if not path.is_file():
        raise ConfigError(f"{path}: {what} not found")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start})") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{path}: not valid YAML{at}") from exc
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected {expected} at the top level")
    return raw


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
        if value in (None, "") and text.strip() not in ("", "null", "Null", "NULL", "~", "''",
                                                         '""'):  # fmt: skip
            # e.g. '#' (ATIS's label separator), which YAML reads as a comment, or '|' / '>',
            # which it reads as an empty block scalar: the literal text was meant
            value = text
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
    for key in DATA_PATH_FIELDS:
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
