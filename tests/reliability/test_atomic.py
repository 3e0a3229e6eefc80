"""The atomic writer: all of the file or nothing, and one line when the disk refuses."""

from __future__ import annotations

import errno
import os
import subprocess
import threading

import pytest

from tailtune import _atomic
from tailtune._atomic import WriteError, atomic_dir, save_torch, temp_name, write_csv, write_text

pytestmark = pytest.mark.unit


def _leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_write_text_replaces_and_leaves_no_temporary(tmp_path):
    out = tmp_path / "a.json"
    out.write_text("old", encoding="utf-8")
    write_text(out, "new\n")
    assert out.read_text(encoding="utf-8") == "new\n"
    assert _leftovers(tmp_path) == []


def test_temp_name_differs_per_thread(tmp_path):
    names = [temp_name(tmp_path / "x")]
    t = threading.Thread(target=lambda: names.append(temp_name(tmp_path / "x")))
    t.start()
    t.join()
    assert names[0] != names[1]
    assert str(os.getpid()) in names[0].name and names[0].name.startswith(".x.")


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES])
def test_injected_disk_errors_become_one_line_and_keep_the_old_file(tmp_path, monkeypatch, code):
    out = tmp_path / "p.csv"
    out.write_text("kept", encoding="utf-8")

    def refuse(src, dst):
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(_atomic.os, "replace", refuse)
    with pytest.raises(WriteError) as info:
        write_text(out, "x" * 1000)
    msg = str(info.value)
    assert "\n" not in msg
    assert str(out) in msg and _atomic.DISK_ERRNOS[code] in msg and "unchanged" in msg
    assert out.read_text(encoding="utf-8") == "kept"
    assert _leftovers(tmp_path) == []


def test_torch_stream_writer_runtime_error_is_a_write_error(tmp_path, monkeypatch):
    torch = pytest.importorskip("torch")

    def failing_save(obj, f):
        with open(f, "wb") as fh:
            fh.write(b"half")
        raise RuntimeError("[enforce fail at inline_container.cc:595] . unexpected pos 64 vs 0")

    monkeypatch.setattr(torch, "save", failing_save)
    with pytest.raises(WriteError, match=r"could not write .*w\.pt: write failed.*nothing was"):
        save_torch({"a": torch.zeros(2)}, tmp_path / "w.pt")
    assert list(tmp_path.iterdir()) == []


def test_other_errors_propagate_but_the_temporary_is_removed(tmp_path):
    class Boom(Exception):
        pass

    with pytest.raises(Boom), _atomic.atomic_path(tmp_path / "r.html") as tmp:
        tmp.write_text("half", encoding="utf-8")
        raise Boom
    assert list(tmp_path.iterdir()) == []


def test_atomic_dir_appears_whole_or_not_at_all(tmp_path):
    with atomic_dir(tmp_path / "ckpt") as d:
        (d / "a").write_bytes(b"1")
    assert sorted(p.name for p in (tmp_path / "ckpt").iterdir()) == ["a"]
    with pytest.raises(KeyboardInterrupt), atomic_dir(tmp_path / "ckpt2") as d:
        (d / "a").write_bytes(b"1")
        raise KeyboardInterrupt
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt"]


def test_write_csv_writes_the_frame(tmp_path):
    pd = pytest.importorskip("pandas")
    out = write_csv(pd.DataFrame({"a": [1, 2]}), tmp_path / "p.csv")
    assert out.read_text(encoding="utf-8") == "a\n1\n2\n"


@pytest.fixture
def small_fs(tmp_path):
    """A real 1 MiB tmpfs; skipped where mounting is not allowed (not root, no CAP_SYS_ADMIN)."""
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small file system needs root")
    r = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)], capture_output=True
    )
    if r.returncode != 0:
        pytest.skip(f"cannot mount tmpfs here: {r.stderr.decode(errors='replace').strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", str(mnt)], capture_output=True)


def test_real_full_disk_keeps_the_old_file_and_frees_the_space(small_fs):
    out = small_fs / "big.txt"
    write_text(out, "old\n")
    with pytest.raises(WriteError, match="no space left on the device"):
        write_text(out, "x" * (4 << 20))
    assert out.read_text(encoding="utf-8") == "old\n"
    assert _leftovers(small_fs) == []
    write_text(out, "fits\n")  # space was handed back, so the next write succeeds
    assert out.read_text(encoding="utf-8") == "fits\n"


def test_real_full_disk_during_torch_save(small_fs):
    torch = pytest.importorskip("torch")
    with pytest.raises(WriteError, match=r"w\.pt: .*nothing was written"):
        save_torch({"w": torch.zeros(1 << 20)}, small_fs / "w.pt")  # 4 MiB > 1 MiB
    assert list(small_fs.iterdir()) == []
