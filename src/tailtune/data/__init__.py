"""Data layer: frames in, frames out (``id, text, label, line``); no config objects here.

Loaders (CSV, TSV, JSONL, Parquet, 🤗 datasets on disk, line-aligned files), reporting
cleaning, a seeded rare-class-safe split, class statistics and tiers, hierarchical labels (paths
through a tree of levels), experiment subsets, and a synthetic long-tail generator (clearly
synthetic data, for demos and tests).
"""

from tailtune.data.clean import CleanReport, clean
from tailtune.data.hierarchy import Hierarchy, level_stats
from tailtune.data.load import (
    FRAME_COLUMNS,
    LoadResult,
    load_line_aligned,
    load_table,
    summary_lines,
)
from tailtune.data.split import SplitResult, resolve_count, split_frame, write_split
from tailtune.data.stats import class_counts, class_stats, split_stats
from tailtune.data.subsets import (
    nested_fractions,
    stratified_subsample,
    subset_labels,
    train_subsample,
)
from tailtune.data.synth import PRESETS, preset_sizes, synthesize

__all__ = [
    "FRAME_COLUMNS",
    "PRESETS",
    "CleanReport",
    "Hierarchy",
    "LoadResult",
    "SplitResult",
    "class_counts",
    "class_stats",
    "clean",
    "level_stats",
    "load_line_aligned",
    "load_table",
    "preset_sizes",
    "resolve_count",
    "split_frame",
    "split_stats",
    "nested_fractions",
    "stratified_subsample",
    "train_subsample",
    "subset_labels",
    "summary_lines",
    "synthesize",
    "write_split",
]
