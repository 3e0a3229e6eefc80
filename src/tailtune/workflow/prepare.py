"""Turn a DataSettings + SplitSettings into train / val / test frames, with every report kept.

This is the one place that reads data config objects; the functions it calls in
:mod:`tailtune.data` take plain keyword arguments.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from tailtune.config import Config, DataSettings
from tailtune.errors import ConfigError

__all__ = ["Prepared", "build_hierarchy", "load_frame", "prepare_data", "read_options"]


@dataclass
class Prepared:
    """The splits a run trains and evaluates on, and what was done to get them."""

    train: pd.DataFrame
    val: pd.DataFrame
    test: pd.DataFrame | None
    reports: dict[str, Any] = field(default_factory=dict)
    set_separator: str | None = None
    """Label sets (data.multi_label: sets): the separator joining a set's labels; else None."""

    def labels_of(self, frame: pd.DataFrame) -> list:
        """A split's labels as a backend takes them: strings, or (label sets) label tuples."""
        if self.set_separator is None:
            return frame["label"].tolist()
        from tailtune.data.labelsets import parse_sets

        return parse_sets(frame["label"], self.set_separator)


def read_options(data: DataSettings) -> dict[str, Any]:
    """The DataSettings's reading options as :func:`tailtune.data.load_table` keywords (the one
    mapping from config to loader: training, evaluation and checkpoint scoring all use it)."""
    return {
        "format": data.format,
        "text_columns": data.text_columns,
        "label_columns": data.label_columns,
        "label_separator": data.label_separator,
        "text_separator": data.text_separator,
        "column_names": data.column_names,
        "skip_rows": data.skip_rows,
        "encoding": data.encoding,
        "label_names": data.label_names,
        "multi_label_separator": data.multi_label_separator,
        "multi_label": data.multi_label,
        "label_format": data.label_format,
        "keep_empty_set": data.keep_empty_set,
        "hierarchy": data.hierarchy,
        "missing_levels": data.missing_levels,
        "split": data.split,
        "hub_config": data.hub_config,
    }


def build_hierarchy(data: DataSettings, labels, where: str = "training labels"):
    """The :class:`~tailtune.data.Hierarchy` of ``labels`` when ``data.hierarchy`` is on, else
    None. Levels are named by ``data.level_names``, else by the label columns when there are
    several, else numbered; a path deeper than the levels is a DataError naming ``where``."""
    if not data.hierarchy:
        return None
    from tailtune.data.hierarchy import Hierarchy

    columns = data.label_columns if len(data.label_columns) > 1 else None
    levels = data.level_names or columns
    return Hierarchy.from_labels(labels, levels, data.label_separator, where=where)


def load_frame(data: DataSettings, path, **kwargs: Any) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Load one file (or list of files) with the DataSettings's reading options; ``kwargs`` go to
    :func:`tailtune.data.load_table` (e.g. ``min_classes=1`` for an evaluation file)."""
    from tailtune.data import load_table

    result = load_table(path, **{**read_options(data), **kwargs})
    return result.frame, result.report


def prepare_data(cfg: Config) -> Prepared:
    """Load (or synthesize), clean, subset and split the data of a config."""
    from tailtune.data import clean, split_frame, stratified_subsample, subset_labels

    data, reports = cfg.data, {}
    sets = data.multi_label == "sets"
    if sets:
        _check_set_options(data)
    if data.synthetic is not None:
        from tailtune.data import synthesize

        frame = synthesize(data.synthetic, seed=cfg.seed, scale=data.synthetic_scale)
        frame = frame[["id", "text", "label", "line"]]
        reports["load"] = {"source": f"synthetic preset '{data.synthetic}'", "rows": len(frame)}
    elif data.path is not None:
        frame, reports["load"] = load_frame(data, data.path)
    else:
        raise ConfigError("data.path: required (a file), or set data.synthetic to a preset name")

    frame, reports["clean"] = clean(
        frame, drop_duplicates=data.drop_duplicates, min_class_size=data.min_class_size
    )
    frame, reports["subset"] = _subset(frame, data, cfg.seed, subset_labels, stratified_subsample)

    seed = cfg.split.seed if cfg.split.seed is not None else cfg.seed
    test = None
    # a DatasetDict's own validation / test splits stand for val_path / test_path
    val_path = data.val_path if data.val_path is not None or not data.val_split else data.path
    test_path = data.test_path if data.test_path is not None or not data.test_split else data.path
    if val_path is not None:
        # Explicit validation data: the loaded file is all training data.
        val, reports["load_val"] = load_frame(data, val_path, split=data.val_split)
        train = frame
        where = "data.val_split" if data.val_path is None else "data.val_path"
        _check_known(train, val, where, data.multi_label_separator if sets else None)
    elif sets:
        from tailtune.data.split_sets import split_sets

        result = split_sets(
            frame,
            data.multi_label_separator,
            val=cfg.split.val,
            test=0.0 if test_path is not None else cfg.split.test,
            seed=seed,
        )
        train, val, test = result.train, result.val, result.test
        reports["split"] = result.report
    else:
        result = split_frame(
            frame,
            val=cfg.split.val,
            test=0.0 if test_path is not None else cfg.split.test,
            seed=seed,
            stratify=cfg.split.stratify,
        )
        train, val, test = result.train, result.val, result.test
        reports["split"] = result.report
    if test_path is not None:
        test, reports["load_test"] = load_frame(data, test_path, split=data.test_split)
    if test is not None and (len(test) == 0 or not cfg.eval.score_test):
        if len(test):  # held out of training and validation, never scored (a sweep's trials)
            reports["test_held_out"] = {"rows": len(test)}
        test = None
    if data.train_subsample is not None or data.train_fraction is not None:
        # after the split, training rows only: every point of a data-scaling curve keeps the
        # same validation and test examples (paired comparisons between points stay valid)
        from tailtune.data import train_subsample

        if sets:  # label sets: iterative stratification keeps about the fraction of each label
            train, reports["train_subsample"] = _set_subsample(train, data, seed)
        else:
            train, reports["train_subsample"] = train_subsample(
                train, rows=data.train_subsample, fraction=data.train_fraction, seed=seed
            )
    tree = build_hierarchy(data, train["label"])  # a bad path fails here, before any training
    if tree is not None:
        reports["hierarchy"] = {"levels": list(tree.levels), "leaf_paths": len(tree.leaves)}
    # an empty validation split (split.val: 0) is allowed: the workflow checks that the
    # backend chooses nothing on validation (tailtune.workflow.refit.check_no_validation)
    sep = (data.multi_label_separator or ",") if sets else None
    return Prepared(train=train, val=val, test=test, reports=_plain(reports), set_separator=sep)


def _check_set_options(data: DataSettings) -> None:
    """Options that count examples per class string; on label sets they would count set strings."""
    for name, unset in (
        ("synthetic", None),
        ("subset_labels", None),
        ("subset_per_class", None),
        ("subset_total", None),
        ("subsample", None),
        ("min_class_size", 1),
    ):
        if getattr(data, name) != unset:
            raise ConfigError(
                f"data.{name}: not available with data.multi_label: sets (it counts classes, "
                f"not labels inside sets); unset it"
            )


def _set_subsample(train: pd.DataFrame, data: DataSettings, seed: int) -> tuple[pd.DataFrame, dict]:
    """Label sets: keep about ``train_subsample`` rows (or ``train_fraction``) of the training
    split by iterative stratification (Sechidis et al. 2011), every label kept at least once.
    Unlike the single-label subsample, sizes drawn with one seed are not nested."""
    from tailtune.data.split_sets import split_sets

    n = len(train)
    keep = data.train_subsample if data.train_subsample is not None else round(
        float(data.train_fraction) * n)  # fmt: skip
    if keep >= n:
        return train.reset_index(drop=True), {"rows_before": n, "rows_after": n, "fraction": 1.0}
    part = split_sets(train, data.multi_label_separator or ",", val=n - max(int(keep), 1),
                      seed=seed)  # fmt: skip
    kept = part.train.reset_index(drop=True)
    return kept, {"rows_before": n, "rows_after": len(kept), "fraction": round(len(kept) / n, 6),
                  "method": "iterative stratification of label sets (not nested across sizes)"}  # fmt: skip


def _subset(frame, data: DataSettings, seed: int, subset_labels, stratified_subsample):
    report: dict[str, Any] = {}
    if (
        data.subset_labels is not None
        or data.subset_per_class is not None
        or data.subset_total is not None
    ):
        before = len(frame)
        frame = subset_labels(
            frame,
            labels=data.subset_labels
            if data.subset_labels is not None
            else frame["label"].nunique(),
            per_class=data.subset_per_class,
            seed=seed,
            total=data.subset_total,
        )
        report["labels"] = {"rows_before": before, "rows_after": len(frame)}
    if data.subsample is not None:
        before = len(frame)
        frame = stratified_subsample(frame, data.subsample, seed=seed)
        report["subsample"] = {"rows_before": before, "rows_after": len(frame)}
    return frame, report


def _check_known(train: pd.DataFrame, other: pd.DataFrame, where: str, sets_sep=None) -> None:
    if sets_sep is not None:  # label sets: the labels inside them
        from tailtune.data.labelsets import parse_sets

        def names(frame):
            return {x for s in parse_sets(frame["label"], sets_sep) for x in s}

        unseen = sorted(names(other) - names(train))
    else:
        unseen = sorted(set(other["label"]) - set(train["label"]))
    if unseen:
        # Not an error: the metrics count these as misses, but the user should know.
        import warnings

        warnings.warn(
            f"{where}: {len(unseen)} label(s) never seen in training, e.g. {unseen[:3]}",
            stacklevel=2,
        )


def _plain(obj: Any) -> Any:
    """Reports may hold dataclasses or numpy scalars; make them JSON-ready."""
    import dataclasses

    import numpy as np

    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return _plain(dataclasses.asdict(obj))
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    return obj
