"""The SQLite run index (``<runs_dir>/index.db``): config fields, metrics, status and timings.

The run directories are the truth; the index is a cache of them for fast listing, filtering and
sorting, plus the status of runs that have no finished directory yet (running / failed with its
error / interrupted when the process that marked it running is gone). Every read reconciles it
with the folders first (:func:`reconcile_index`): a run folder deleted by hand drops out, one
copied in (or written while the index could not be updated) is added, one whose metrics.json
changed is re-read. An index that is empty, unreadable or of an older schema
(``PRAGMA user_version``) is rebuilt from the folders. Several processes may write at once
(parallel executors): WAL journal, a busy timeout and one short ``BEGIN IMMEDIATE`` transaction
per write keep it consistent (https://sqlite.org/wal.html); replacing an unreadable file is
serialized by an exclusive ``flock`` on ``<runs_dir>/.index.lock``.

A read never creates a runs folder: a folder that does not exist is a one-line DataError.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import socket
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from tailtune.errors import DataError, TailtuneError

__all__ = [
    "INDEX_NAME",
    "SCHEMA_VERSION",
    "index_path",
    "require_runs_dir",
    "reconcile_index",
    "pid_alive",
    "run_config_hash",
    "run_key",
    "connect",
    "index_run",
    "mark_status",
    "rebuild_index",
    "walk_runs",
    "ensure_index",
    "flatten_config",
    "list_runs",
    "show_run",
    "compare_runs",
]

INDEX_NAME = "index.db"
# Bump when the table changes: an index of another version is dropped and refilled from the
# run folders (it is a cache; only status rows of runs without a folder are lost).
SCHEMA_VERSION = 2
_METRICS = ("accuracy", "macro_f1", "weighted_f1", "balanced_accuracy", "zero_f1", "n_classes")
_COLUMNS = (
    "key", "run_dir", "name", "experiment", "backend", "model", "data_path", "seed",
    "config_hash", "status", "error", *_METRICS, "train_size", "fit_s", "predict_s", "total_s",
    "created", "updated", "config", "metrics", "mtime", "pid", "host",
)  # fmt: skip
STATUSES = ("running", "finished", "failed", "interrupted")
_SCHEMA = [
    f"""CREATE TABLE IF NOT EXISTS runs (
  key TEXT PRIMARY KEY, run_dir TEXT, name TEXT, experiment TEXT, backend TEXT, model TEXT,
  data_path TEXT, seed INTEGER, config_hash TEXT, status TEXT NOT NULL, error TEXT,
  {", ".join(f"{m} REAL" for m in _METRICS)}, train_size INTEGER,
  fit_s REAL, predict_s REAL, total_s REAL, created TEXT, updated TEXT, config TEXT, metrics TEXT,
  mtime REAL, pid INTEGER, host TEXT
)""",
    *(
        f"CREATE INDEX IF NOT EXISTS runs_{c} ON runs({c})"
        for c in (
            "name",
            "experiment",
            "backend",
            "model",
            "data_path",
            "seed",
            "config_hash",
            "status",
            "run_dir",
        )  # fmt: skip
    ),
]
# what `list_runs` shows, in order
LIST_COLUMNS = [
    "name", "experiment", "backend", "model", "data_path", "seed", "status", "accuracy",
    "macro_f1", "zero_f1", "train_size", "total_s", "created", "config_hash", "run_dir", "error",
]  # fmt: skip


def index_path(runs_dir: str | Path) -> Path:
    """Where the index of a runs folder lives: ``<runs_dir>/index.db``."""
    return Path(runs_dir) / INDEX_NAME


def run_config_hash(config: Any) -> str:
    """Identity of a run: a hash of its resolved config (seed included) apart from ``runs_dir``.

    ``config`` is a :class:`tailtune.config.Config` or its dict (``config.yaml``); the storage
    folder is left out so that moving a runs folder keeps its ids. A dict is read through
    :func:`tailtune.config.config_from_dict` first, so a config.yaml written before a setting
    existed (or without the sections its backend never reads) hashes as the same config with
    that setting at its default; a dict the current schema refuses is hashed as it stands.
    """
    from tailtune.config import config_from_dict, config_to_dict
    from tailtune.errors import ConfigError

    if isinstance(config, dict):
        with contextlib.suppress(ConfigError, TypeError, ValueError):
            config = config_from_dict(config)
    if not isinstance(config, dict):
        config = config_to_dict(config)
    clean = {k: v for k, v in config.items() if k != "runs_dir"}
    text = json.dumps(clean, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def run_key(experiment: str | None, config_hash: str, run_dir: str | None = None) -> str:
    """Primary key: ``<experiment>/<config hash>`` for experiment runs, else the run dir."""
    if experiment:
        return f"{experiment}/{config_hash}"
    return run_dir or config_hash


def require_runs_dir(runs_dir: str | Path) -> Path:
    """``runs_dir`` as a Path, or a one-line DataError when it is not an existing folder.

    Reads call this first so that a mistyped folder is reported, never created.
    """
    root = Path(runs_dir)
    if not root.exists():
        raise DataError(
            f"runs folder '{root}' does not exist (train a run first, or check the path)"
        )
    if not root.is_dir():
        raise DataError(f"runs folder '{root}' is not a folder")
    return root


@contextlib.contextmanager
def connect(db: str | Path, *, create: bool = True) -> Iterator[sqlite3.Connection]:
    """A short-lived connection in WAL mode with a busy timeout, on the current schema.

    ``create`` makes the index's folder when missing (writers); readers pass False and get a
    DataError for a missing folder instead.
    """
    db = Path(db)
    if create:
        db.parent.mkdir(parents=True, exist_ok=True)
    else:
        require_runs_dir(db.parent)
    con = sqlite3.connect(db, timeout=60, isolation_level=None)
    try:
        con.execute("PRAGMA busy_timeout = 60000")
        _retry(lambda: con.execute("PRAGMA journal_mode = WAL"))
        _retry(lambda: _migrate(con, db))
        yield con
    finally:
        con.close()


def _migrate(con: sqlite3.Connection, db: Path) -> None:
    """Bring the file to SCHEMA_VERSION: a new or 0-byte file gets the table, an older layout is
    dropped (the folders refill it on the next reconcile), a newer one is refused."""
    version = con.execute("PRAGMA user_version").fetchone()[0]
    if version == SCHEMA_VERSION:
        return
    if version > SCHEMA_VERSION:
        raise TailtuneError(
            f"{db}: index schema {version} is newer than this tailtune's ({SCHEMA_VERSION}); "
            "upgrade tailtune or run `tailtune runs reindex`"
        )
    con.execute("BEGIN IMMEDIATE")
    try:
        if con.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:  # re-check: locked
            con.execute("DROP TABLE IF EXISTS runs")
            for stmt in _SCHEMA:
                con.execute(stmt)
            con.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def _retry(fn, tries: int = 50):
    """Schema/journal changes can hit 'database is locked' despite busy_timeout; wait it out."""
    for i in range(tries):
        try:
            return fn()
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or i == tries - 1:
                raise
            time.sleep(0.05 * (1 + i % 5))


def _write(db: str | Path, sql: str, params: dict[str, Any]) -> None:
    with connect(db) as con:
        _transaction(con, [(sql, params)])


def _transaction(con: sqlite3.Connection, statements: list[tuple[str, Any]]) -> None:
    """Run statements in one ``BEGIN IMMEDIATE`` transaction (all or nothing), retried on lock."""

    def tx():
        con.execute("BEGIN IMMEDIATE")
        try:
            for sql, params in statements:
                con.execute(sql, params)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise

    _retry(tx)


_UPSERT = (
    f"INSERT INTO runs ({', '.join(_COLUMNS)}) VALUES ({', '.join(f':{c}' for c in _COLUMNS)}) "
    "ON CONFLICT(key) DO UPDATE SET "
    + ", ".join(f"{c}=excluded.{c}" for c in _COLUMNS if c not in ("key", "created"))
)


# ---------------------------------------------------------------------------------------------
# writing


def index_run(
    db: str | Path,
    run_dir: str | Path,
    *,
    experiment: str | None = None,
    key: str | None = None,
) -> str:
    """Record a finished run directory (status ``finished``); returns its key.

    ``experiment`` defaults to the run's parent folder relative to the index folder (None when
    the run sits directly in it).
    """
    row = _row_from_dir(Path(db).parent, Path(run_dir), experiment)
    row["key"] = key or row["key"]
    _write(db, _UPSERT, row)
    return row["key"]


def mark_status(
    db: str | Path,
    key: str,
    status: str,
    *,
    error: str | None = None,
    config: dict[str, Any] | None = None,
    experiment: str | None = None,
    run_dir: str | None = None,
) -> None:
    """Set a run's status (``running`` / ``failed`` / ``finished`` / ``interrupted``) and error,
    creating its row. ``running`` records this process's PID and host: a later read that finds
    that process gone marks the row ``interrupted``."""
    if status not in STATUSES:
        raise ValueError(f"unknown status {status!r}")
    row = {c: None for c in _COLUMNS}
    row.update(key=key, status=status, error=error, experiment=experiment, run_dir=run_dir)
    row.update(created=_now(), updated=_now())
    if status == "running":
        row.update(pid=os.getpid(), host=socket.gethostname())
    if config is not None:
        row.update(_config_columns(config))
    keep = ("name", "backend", "model", "data_path", "seed", "config_hash", "config", "run_dir")
    update = ", ".join(
        ["status=excluded.status", "error=excluded.error", "updated=excluded.updated"]
        + ["pid=excluded.pid", "host=excluded.host"]
        + [f"{c}=COALESCE(excluded.{c}, {c})" for c in keep]
    )
    cols = ", ".join(_COLUMNS)
    vals = ", ".join(f":{c}" for c in _COLUMNS)
    _write(db, f"INSERT INTO runs ({cols}) VALUES ({vals}) ON CONFLICT(key) DO UPDATE SET {update}", row)  # fmt: skip


def rebuild_index(runs_dir: str | Path) -> Path:
    """Recreate ``<runs_dir>/index.db`` from the run directories (nested folders included)."""
    root = require_runs_dir(runs_dir)
    db = index_path(root)
    if db.exists() and not db.is_file():
        raise DataError(f"{db}: is a folder, not the run index; rename or remove it first")
    if not _writable(root, db):
        raise DataError(
            f"{root}: cannot write the index here (read-only or no permission); reading "
            "commands (`runs list`, `runs show`) work without it"
        )
    with _rebuild_lock(root):
        _remove_db(db)
        with connect(db):
            pass  # an empty folder still gets an (empty) index
    reconcile_index(root)
    return db


def walk_runs(runs_dir: str | Path) -> list[Path]:
    """Finished run directories under ``runs_dir`` at any depth (dot-folders skipped)."""
    from tailtune.runs.reader import is_run_dir

    found: list[Path] = []
    root = Path(runs_dir)
    if not root.is_dir():
        return found
    for dirpath, dirnames, _ in os.walk(root):
        here = Path(dirpath)
        if here != root and is_run_dir(here):
            found.append(here)
            dirnames[:] = []  # a run's own subfolders (model/) are not runs
            continue
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
    return sorted(found)


def ensure_index(runs_dir: str | Path) -> Path:
    """The index of an existing ``runs_dir``, reconciled with its folders.

    A missing, empty (0 bytes), unreadable or old-schema index is rebuilt from the folders; a
    ``runs_dir`` that does not exist is a DataError (nothing is created).
    """
    root = require_runs_dir(runs_dir)
    db = index_path(root)
    if db.exists() and not db.is_file():
        raise DataError(
            f"{db}: is a folder, not the run index; rename or remove it "
            "(the index is rebuilt from the run folders)"
        )
    if not _writable(root, db):
        return _private_index(root, db)
    if not _healthy(db):
        with _rebuild_lock(root):
            if not _healthy(db):  # another process may have replaced it while we waited
                _remove_db(db)
    reconcile_index(root)
    return db


def _writable(root: Path, db: Path) -> bool:
    """Can this process write the index (and its WAL files) in ``root``? False on a read-only
    mount, an archive or a shared folder without permission."""
    if not os.access(root, os.W_OK | os.X_OK):
        return False
    return not db.exists() or os.access(db, os.R_OK | os.W_OK)


_PRIVATE: dict[Path, Path] = {}


def _private_index(root: Path, db: Path) -> Path:
    """An index of a runs folder this process cannot write, kept in a temporary folder.

    It starts as a copy of ``<root>/index.db`` when that opens (so the status of runs without a
    folder is kept), or empty, and is reconciled with the run folders like the real one. Nothing
    is written in ``root``; the copy is removed when the process ends.
    """
    import atexit
    import shutil
    import tempfile

    key = root.resolve()
    private = _PRIVATE.get(key)
    if private is None:
        folder = Path(tempfile.mkdtemp(prefix="tailtune-index-"))
        atexit.register(shutil.rmtree, folder, True)
        private = _PRIVATE[key] = folder / INDEX_NAME
        if db.is_file():
            with contextlib.suppress(sqlite3.Error, OSError):
                src = sqlite3.connect(f"file:{db}?mode=ro&immutable=1", uri=True)
                try:
                    if src.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION:
                        dst = sqlite3.connect(private)
                        src.backup(dst)
                        dst.close()
                finally:
                    src.close()
            if not _healthy(private):
                _remove_db(private)
    reconcile_index(root, private)
    return private


def reconcile_index(runs_dir: str | Path, db: str | Path | None = None) -> dict[str, int]:
    """Make the index agree with the folders; returns the counts of what changed.

    ``added``: finished run folders the index lacked (or whose metrics.json changed);
    ``removed``: rows of finished runs whose folder is gone; ``interrupted``: ``running`` rows
    whose process (on this host) has ended without finishing. All changes are one transaction.
    ``db`` is the index file (default ``<runs_dir>/index.db``).
    """
    root = require_runs_dir(runs_dir)
    db = Path(db) if db is not None else index_path(root)
    on_disk = {_rel(root, d): d for d in walk_runs(root)}
    with connect(db, create=False) as con:
        con.row_factory = sqlite3.Row
        rows = con.execute("SELECT key, run_dir, status, mtime, pid, host FROM runs").fetchall()
        finished = {r["run_dir"]: r for r in rows if r["status"] == "finished" and r["run_dir"]}
        owner = {r["key"]: r["run_dir"] for r in rows}
        statements: list[tuple[str, Any]] = []
        counts = {"added": 0, "removed": 0, "interrupted": 0}
        for rel, r in finished.items():
            if rel not in on_disk and not (Path(rel).is_absolute() and Path(rel).is_dir()):
                statements.append(
                    ("DELETE FROM runs WHERE key=? AND run_dir=? AND status='finished'",
                     (r["key"], rel))
                )  # fmt: skip
                counts["removed"] += 1
        for rel, path in on_disk.items():
            mtime = _mtime(path)
            known = finished.get(rel)
            if known is not None and known["mtime"] == mtime:
                continue
            try:
                row = _row_from_dir(root, path, None)
            except (TailtuneError, OSError, ValueError):
                continue  # unreadable: `tailtune runs show` / read_run say why
            if known is not None:
                row["key"] = known["key"]
            elif owner.get(row["key"]) not in (None, rel) and owner[row["key"]] in on_disk:
                # a second finished folder of the same experiment config: list both
                row["key"] = rel
            statements.append((_UPSERT, row))
            counts["added"] += 1
        host = socket.gethostname()
        for r in rows:
            stale = r["status"] == "running" and r["pid"] and r["host"] == host
            if stale and not pid_alive(r["pid"]):
                error = f"process {r['pid']} ended before the run finished"
                statements.append((
                    "UPDATE runs SET status='interrupted', updated=?, error=? "
                    "WHERE key=? AND status='running' AND pid=?",
                    (_now(), error, r["key"], r["pid"]),
                ))  # fmt: skip
                counts["interrupted"] += 1
        if statements:
            _transaction(con, statements)
    return counts


def pid_alive(pid: int) -> bool:
    """Is process ``pid`` running on this machine (a zombie counts as ended)?"""
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    try:
        stat = Path(f"/proc/{int(pid)}/stat").read_text()
    except OSError:
        return True  # no /proc (macOS): kill(0) is all we know
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def _healthy(db: Path) -> bool:
    """The file opens as an SQLite database of this schema and passes ``quick_check``."""
    if not db.is_file():
        return True  # connect() creates it
    try:
        with connect(db, create=False) as con:
            return con.execute("PRAGMA quick_check").fetchone()[0] == "ok"
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            raise
        return False
    except sqlite3.DatabaseError:  # "file is not a database", "malformed"
        return False


@contextlib.contextmanager
def _rebuild_lock(root: Path) -> Iterator[None]:
    """An exclusive lock for replacing the index file, so two processes never both delete it."""
    with open(root / ".index.lock", "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _remove_db(db: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)


def _mtime(run_dir: Path) -> float | None:
    try:
        return (run_dir / "metrics.json").stat().st_mtime
    except OSError:
        return None


def _row_from_dir(root: Path, run_dir: Path, experiment: str | None) -> dict[str, Any]:
    from tailtune.runs.reader import read_run

    run = read_run(run_dir)
    rel = _rel(root, run_dir)
    if experiment is None and run_dir.resolve().parent != root.resolve():
        experiment = _rel(root, run_dir.parent)
    row = {c: None for c in _COLUMNS}
    row.update(_config_columns(run.config))
    val = run.metrics.get("val") or {}
    timing = run.metrics.get("timing") or {}
    row.update({m: val.get(m) for m in _METRICS})
    row.update({t: timing.get(t) for t in ("fit_s", "predict_s", "total_s")})
    mtime = (run_dir / "metrics.json").stat().st_mtime
    row.update(
        mtime=mtime,
        key=run_key(experiment, row["config_hash"], rel),
        run_dir=rel,
        experiment=experiment,
        status="finished",
        train_size=run.metrics.get("train_size"),
        created=time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(mtime)),
        updated=_now(),
        metrics=json.dumps(run.metrics, default=str),
    )
    return row


def _config_columns(config: dict[str, Any]) -> dict[str, Any]:
    model = config.get("model") or {}
    data = config.get("data") or {}
    path = data.get("path")
    if path is None and data.get("synthetic"):
        path = f"synthetic:{data['synthetic']}"
    return {
        "name": config.get("name"),
        "backend": model.get("backend"),
        "model": model.get("name"),
        "data_path": json.dumps(path) if isinstance(path, list) else path,
        "seed": config.get("seed"),
        "config_hash": run_config_hash(config),
        "config": json.dumps(config, default=str),
    }


def _rel(root: Path, path: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path.resolve())


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S")


# ---------------------------------------------------------------------------------------------
# queries (the CLI's `tailtune runs list / show / compare`)

_FILTER = re.compile(r"^\s*([A-Za-z_][\w.]*)\s*(!=|>=|<=|=|~|>|<)\s*(.*?)\s*$")


def list_runs(
    runs_dir: str | Path,
    where: list[str] | None = None,
    sort: str | None = None,
    descending: bool | None = None,
    limit: int | None = None,
    columns: list[str] | None = None,
) -> pd.DataFrame:
    """Runs of the index as a DataFrame, filtered and sorted.

    ``where`` items are ``field<op>value`` with op in ``= != ~ > < >= <=`` (``~`` = contains,
    case-insensitive); ``field`` is a column (``backend``, ``macro_f1``, ``status`` ...) or any
    dotted config field (``data.path``, ``train.batch_size``). ``sort`` is such a field; metrics
    sort best first, other fields ascending, unless ``descending`` says otherwise. ``columns``
    adds dotted config fields to the default columns.
    """
    db = ensure_index(runs_dir)
    known = _known_fields(db)
    for col in columns or []:
        _check_field(col, known, "--column")
    if sort:
        _check_field(sort, known, "--sort")
    clauses, params = [], []
    for item in where or []:
        clause, value = _clause(item, known)
        clauses.append(clause)
        params.append(value)
    sql = "SELECT * FROM runs" + (" WHERE " + " AND ".join(clauses) if clauses else "")
    if sort:
        expr = _field_sql(sort)
        desc = descending if descending is not None else sort in _METRICS and sort != "zero_f1"
        sql += f" ORDER BY {expr} IS NULL, {expr} {'DESC' if desc else 'ASC'}"
    else:
        sql += " ORDER BY created DESC" if descending is not False else " ORDER BY created"
    if limit:
        sql += f" LIMIT {int(limit)}"
    with connect(db, create=False) as con:
        frame = pd.read_sql_query(sql, con, params=params)
    for col in columns or []:
        frame[col] = [_lookup(json.loads(c or "{}"), col) for c in frame["config"]]
    return frame[LIST_COLUMNS + [c for c in columns or [] if c not in LIST_COLUMNS]]


def show_run(runs_dir: str | Path, ref: str) -> dict[str, Any]:
    """One run's row with ``config`` and ``metrics`` parsed; ``ref`` is a key, run dir, name or
    config-hash prefix (an ambiguous or unknown ref is a TailtuneError). A ref that is a finished
    run's folder is read from the folder itself, wherever it is (no index needed)."""
    from tailtune.runs.reader import is_run_dir

    if is_run_dir(Path(ref)):
        folder = Path(ref)
        out = _row_from_dir(folder.parent, folder, None)
        out["run_dir"] = str(folder)
        out["config"] = json.loads(out["config"] or "{}")
        out["metrics"] = json.loads(out["metrics"] or "{}")
        return _with_disk(out, folder)
    db = ensure_index(runs_dir)
    with connect(db, create=False) as con:
        con.row_factory = sqlite3.Row
        rows = con.execute(
            "SELECT * FROM runs WHERE key=? OR run_dir=? OR name=? OR config_hash LIKE ? "
            "OR run_dir LIKE ?",
            (ref, ref, ref, f"{ref}%", f"%{ref}"),
        ).fetchall()
    if not rows:
        raise TailtuneError(f"run '{ref}': not in {db} (see `tailtune runs list`)")
    # precedence: an exact key or run dir, then an exact name, then prefixes (a run named "a"
    # is not ambiguous because another run's config hash happens to start with "a")
    exact = [r for r in rows if ref in (r["key"], r["run_dir"])]
    if not exact:
        exact = [r for r in rows if r["name"] == ref]
    if len(rows) > 1 and len(exact) != 1:
        keys = ", ".join(r["key"] for r in rows[:5])
        raise TailtuneError(f"run '{ref}': matches {len(rows)} runs ({keys}); be more specific")
    out = dict((exact or rows)[0])
    out["config"] = json.loads(out["config"] or "{}")
    out["metrics"] = json.loads(out["metrics"] or "{}")
    folder = Path(out["run_dir"]) if out["run_dir"] else None
    if folder is not None and not folder.is_absolute():
        folder = Path(runs_dir) / folder
    return _with_disk(out, folder)


def _with_disk(row: dict[str, Any], folder: Path | None) -> dict[str, Any]:
    """``row`` plus ``disk``: the bytes the run folder holds (total and model / checkpoints /
    other), when the folder is there."""
    if folder is not None and folder.is_dir():
        from tailtune.runs.retention import disk_usage

        row["disk"] = disk_usage(folder)
    return row


def compare_runs(runs_dir: str | Path, refs: list[str], all_fields: bool = False) -> pd.DataFrame:
    """Runs side by side: rows = metrics, tier mean F1s and the config fields that differ
    (every field with ``all_fields``); one column per run, named by its run dir or key."""
    if len(refs) < 2:
        raise TailtuneError(
            f"runs compare: got {len(refs)} run(s), expected two or more "
            "(`tailtune runs show` prints one)"
        )
    runs = [show_run(runs_dir, r) for r in refs]
    flat = [flatten_config(r["config"]) for r in runs]
    fields = sorted(set().union(*flat))
    if not all_fields:
        fields = [f for f in fields if len({json.dumps(c.get(f), default=str) for c in flat}) > 1]
    rows: dict[str, list[Any]] = {}
    for m in (*_METRICS, "train_size", "total_s", "status"):
        rows[m] = [r.get(m) for r in runs]
    for tier in ("head", "mid", "tail"):
        rows[f"{tier}.mean_f1"] = [
            ((r["metrics"].get("val") or {}).get("tiers") or {}).get(tier, {}).get("mean_f1")
            for r in runs
        ]
    for f in fields:
        rows[f] = [c.get(f) for c in flat]
    names = [r["run_dir"] or r["key"] for r in runs]
    return pd.DataFrame.from_dict(rows, orient="index", columns=names)


def _known_fields(db: Path) -> set[str]:
    """The fields a query may name: the index's columns, every field (and section) of the
    current config, and every dotted field of the configs the index holds (older runs)."""
    from tailtune.config import Config, config_to_dict

    names = {c for c in _COLUMNS if c not in ("config", "metrics")}
    configs = [config_to_dict(Config())]
    with connect(db, create=False) as con:
        configs += [json.loads(c) for (c,) in con.execute("SELECT config FROM runs") if c]
    for config in configs:
        for dotted in flatten_config(config):
            parts = dotted.split(".")
            names.update(".".join(parts[: i + 1]) for i in range(len(parts)))
    return names


def _check_field(field: str, known: set[str], option: str) -> None:
    if field in known:
        return
    import difflib

    close = difflib.get_close_matches(field, sorted(known), n=1)
    hint = f"did you mean '{close[0]}'?" if close else "e.g. macro_f1, backend or train.lr"
    raise TailtuneError(f"{option} {field}: not a column of the index or a config field ({hint})")


def _clause(item: str, known: set[str] | None = None) -> tuple[str, Any]:
    m = _FILTER.match(item)
    if not m:
        raise TailtuneError(f"filter '{item}': expected field=value (ops: = != ~ > < >= <=)")
    field, op, raw = m.groups()
    if known is not None:
        _check_field(field, known, "--where")
    value: Any = raw
    with contextlib.suppress(yaml.YAMLError):
        parsed = yaml.safe_load(raw)
        if isinstance(parsed, (int, float)) and not isinstance(parsed, bool):
            value = parsed
    expr = _field_sql(field)
    if op == "~":
        return f"LOWER(CAST({expr} AS TEXT)) LIKE ?", f"%{str(raw).lower()}%"
    return f"{expr} {op} ?", value


def _field_sql(field: str) -> str:
    if field in _COLUMNS and field not in ("config", "metrics"):
        return field
    if not re.fullmatch(r"[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*", field):
        raise TailtuneError(f"field '{field}': expected a column or a dotted config field")
    return f"json_extract(config, '$.{field}')"


def flatten_config(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """A nested config dict as ``{"data.path": ..., "train.batch_size": ...}``."""
    out: dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict) and v:
            out.update(flatten_config(v, f"{key}."))
        else:
            out[key] = v
    return out


def _lookup(d: dict[str, Any], dotted: str) -> Any:
    for part in dotted.split("."):
        if not isinstance(d, dict):
            return None
        d = d.get(part)
    return d
