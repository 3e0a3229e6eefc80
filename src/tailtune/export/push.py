"""``tailtune export --push REPO``: upload an export folder to the Hugging Face Hub.

Through ``huggingface_hub`` (``create_repo`` then ``upload_folder``, the calls ``hf upload``
makes). Without a network, or with ``HF_HUB_OFFLINE`` set, it is one line saying so, with the
command that pushes the folder later; the export itself is already written and stays.
"""

from __future__ import annotations

from pathlib import Path

from tailtune._hub import unreachable_reason
from tailtune.errors import TailtuneError

__all__ = ["push_export"]


def push_export(folder: str | Path, repo: str, *, private: bool = False) -> str:
    """Upload ``folder`` to the model repository ``repo`` (created when missing); its URL."""
    folder = Path(folder)
    later = f"the export is in {folder}; push it later with: hf upload {repo} {folder}"
    why = unreachable_reason()
    if why is not None:
        raise TailtuneError(f"export --push {repo}: the Hub is not available ({why}); {later}")
    try:
        from huggingface_hub import HfApi
    except ImportError as exc:  # pragma: no cover - a dependency of transformers and datasets
        raise TailtuneError(
            f"export --push needs huggingface_hub (pip install huggingface_hub); {later}"
        ) from exc
    api = HfApi()
    try:
        api.create_repo(repo, repo_type="model", private=private, exist_ok=True)
        info = api.upload_folder(
            folder_path=str(folder), repo_id=repo, repo_type="model",
            commit_message="tailtune export", ignore_patterns=[".*"],
        )  # fmt: skip
    except Exception as exc:  # noqa: BLE001 - auth, permissions, network: one line
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
        raise TailtuneError(
            f"export --push {repo}: {type(exc).__name__}: {first}; {later}"
        ) from exc
    return str(getattr(info, "repo_url", None) or f"https://huggingface.co/{repo}")
