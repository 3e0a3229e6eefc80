"""Import optional dependencies with one clear line when they are missing."""

from __future__ import annotations

import importlib
from types import ModuleType

from tailtune.errors import MissingExtraError

_EXTRA_OF = {
    "torch": "neural",
    "transformers": "neural",
    "tokenizers": "neural",
    "accelerate": "neural",
    "peft": "neural",
    "datasets": "neural",
    "gguf": "neural",
    "bitsandbytes": "gpu",
    "ray": "ray",
    "cleanlab": "labels",
    "onnx": "export",
    "onnxruntime": "export",
    "skops": "export",
    "fastapi": "serve",
    "uvicorn": "serve",
    "httpx": "serve",
    "mlflow": "track",
    "optuna": "track",
}


def require(module: str, purpose: str = "") -> ModuleType:
    """Import ``module`` or raise MissingExtraError naming the pip extra that provides it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:  # pragma: no cover - depends on the environment
        root = module.split(".")[0]
        extra = _EXTRA_OF.get(root, root)
        what = f" for {purpose}" if purpose else ""
        raise MissingExtraError(
            f"{root} is needed{what} but is not installed: pip install 'tailtune[{extra}]'"
            + (" (install torch==2.13.0 first on a CPU machine)" if extra == "neural" else "")
        ) from exc
