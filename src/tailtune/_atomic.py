"""The one way tailtune writes a file or a folder: all of it, or nothing.

Every output goes to a hidden sibling whose name is unique per process and thread, is flushed to
disk (``fsync``) and only then renamed over the target, so a reader never sees half a file and a
crash leaves at most a hidden temporary that the next write of the same kind does not reuse. Any
error while writing removes the temporary. A full disk, a quota, a read-only file system or a
missing permission (``ENOSPC``, ``EDQUOT``, ``EROFS``, ``EACCES``, and the ``RuntimeError`` that
``torch.save`` raises instead of ``OSError`` when its stream writer fails) becomes one
:class:`WriteError` line naming the path, what was kept and how to continue.
"""

from __future__ import annotations

import errno
import os
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, NoReturn

from tailtune.errors import TailtuneError

__all__ = [
    "WriteError",
    "atomic_dir",
    "atomic_path",
    "fsync_path",
    "refusal",
    "save_torch",
    "temp_name",
    "write_bytes",
    "write_csv",
    "write_text",
]

#: errno values that mean "the file system will not take this write", each with a short reason.
DISK_ERRNOS = {
    errno.ENOSPC: "no space left on the device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EROFS: "read-only file system",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
}

# torch.save's stream writer reports a failed write as RuntimeError ("unexpected pos …",
# "PytorchStreamWriter failed writing file …", "file write failed"), never as OSError.
_TORCH_WRITE_FAILED = ("unexpected pos", "PytorchStreamWriter", "file write failed")


class WriteError(TailtuneError):
    """A file could not be written; the message names the path, what was kept, how to go on."""


def temp_name(path: Path) -> Path:
    """A hidden sibling of ``path`` that no other process or thread writing it would pick."""
    return path.with_name(f".{path.name}.{os.getpid()}-{threading.get_ident()}.tmp")


def fsync_path(path: Path) -> None:
    """Flush a file or a folder to disk, so a rename never points at data still in memory."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # some file systems refuse fsync on folders
        pass
    finally:
        os.close(fd)


def _give_up(tmp: Path, path: Path, exc: BaseException, kept: str, then: str) -> NoReturn:
    """Remove the half-written ``tmp`` and re-raise: a refused write (disk full, read-only,
    no permission) as one line naming ``path``, anything else as it was."""
    _remove(tmp)
    if refusal(exc) is not None and not isinstance(exc, TailtuneError):
        raise _write_error(path, exc, kept, then) from exc
    raise exc


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with suppress(OSError):
            path.unlink()


def refusal(exc: BaseException) -> str | None:
    """A short reason when ``exc`` means the file system refused the write, else None."""
    if isinstance(exc, OSError):
        if exc.errno in DISK_ERRNOS:
            return DISK_ERRNOS[exc.errno]
        return exc.strerror or str(exc) or type(exc).__name__
    if isinstance(exc, RuntimeError) and any(s in str(exc) for s in _TORCH_WRITE_FAILED):
        return "write failed (no space left on the device?)"
    return None


def _write_error(path: Path, exc: BaseException, kept: str, then: str) -> WriteError:
    kept = kept or (f"{path} is unchanged" if path.exists() else f"nothing was written to {path}")
    then = then or "free space (or fix the permission) and run the same command again"
    return WriteError(f"could not write {path}: {refusal(exc)}; {kept}; {then}")


@contextmanager
def atomic_path(path: str | Path, *, kept: str = "", then: str = "") -> Iterator[Path]:
    """Yield a temporary file path; when the block ends without error it replaces ``path``.

    ``kept`` and ``then`` override the default "what was kept" and "how to continue" parts of
    the :class:`WriteError` raised on a refused write. Other errors propagate unchanged, but the
    temporary is removed whatever happens.
    """
    path = Path(path)
    tmp = temp_name(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        yield tmp
        fsync_path(tmp)
        os.replace(tmp, path)
        fsync_path(path.parent)
    except BaseException as exc:
        _give_up(tmp, path, exc, kept, then)


@contextmanager
def atomic_dir(path: str | Path, *, kept: str = "", then: str = "") -> Iterator[Path]:
    """Yield a fresh temporary folder that is renamed to ``path`` (which must not exist) at the end.

    Each file in it is flushed before the rename, so the folder appears complete or not at all.
    """
    path = Path(path)
    tmp = temp_name(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.mkdir()
        yield tmp
        for f in sorted(tmp.rglob("*")):
            if f.is_file():
                fsync_path(f)
        fsync_path(tmp)
        tmp.rename(path)
        fsync_path(path.parent)
    except BaseException as exc:
        _give_up(tmp, path, exc, kept, then)


def write_text(path: str | Path, text: str, **msg: str) -> Path:
    """Write ``text`` (UTF-8, ``\\n`` line ends) to ``path`` atomically."""
    with atomic_path(path, **msg) as tmp, open(tmp, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(text)
    return Path(path)


def write_bytes(path: str | Path, data: bytes, **msg: str) -> Path:
    """Write ``data`` to ``path`` atomically."""
    with atomic_path(path, **msg) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def write_csv(frame: Any, path: str | Path, **to_csv: Any) -> Path:
    """Write a pandas frame as CSV atomically (no index, ``\\n`` line ends unless overridden)."""
    to_csv.setdefault("index", False)
    to_csv.setdefault("lineterminator", "\n")
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, **to_csv)
    return Path(path)


def save_torch(obj: Any, path: str | Path, **msg: str) -> Path:
    """``torch.save`` atomically; its stream writer's RuntimeError on a full disk included."""
    from tailtune._extras import require

    torch = require("torch")
    with atomic_path(path, **msg) as tmp:
        torch.save(obj, tmp)
    return Path(path)
