"""tailtune: fine-tune and evaluate text classifiers on long-tailed label sets.

The public API: configs (:func:`load_config`), the workflow (:func:`train`, :func:`evaluate`,
:func:`predict`), run directories (:func:`read_run`), and backends (:func:`build_backend`,
:func:`load_backend`). Sub-packages: ``data``, ``objectives``, ``backends``, ``training``,
``evaluation``, ``experiments``, ``runs``, ``report``, ``calc``.
"""

from tailtune.config import Config, config_from_dict, load_config
from tailtune.errors import ConfigError, DataError, MissingExtraError, TailtuneError

__version__ = "0.1.0"

__all__ = [
    "Config",
    "ConfigError",
    "DataError",
    "MissingExtraError",
    "TailtuneError",
    "__version__",
    "build_backend",
    "config_from_dict",
    "evaluate",
    "load_backend",
    "load_config",
    "predict",
    "read_run",
    "train",
]


def __getattr__(name: str):
    # Lazy so that `import tailtune` stays light (no sklearn/pandas import at startup).
    if name in ("train", "evaluate", "predict"):
        from tailtune import workflow

        return getattr(workflow, name)
    if name in ("build_backend", "load_backend"):
        from tailtune import backends

        return getattr(backends, name)
    if name == "read_run":
        from tailtune.runs import read_run

        return read_run
    raise AttributeError(f"module 'tailtune' has no attribute {name!r}")
