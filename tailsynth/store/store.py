"""The DuckDB store: one file, every stage appends rows tagged with a run id.

All values go through parameters, never string formatting: titles and queries are untrusted.
A stage writes its rows and its progress markers in one transaction, so a run killed at any
point resumes from the last completed (chunk, stage) with no row written twice.

Readers during a run: a file store holds the DuckDB file only while it runs a statement or
commits a chunk, then closes it, so ``tailsynth inspect`` or a read-only ``duckdb.connect`` get
in between chunks (they see the chunks committed so far). Both sides retry a locked file for
``lock_timeout_s`` and then raise ``StoreLocked``. One writer at a time: a writing ``Store``
holds ``<file>.writer`` (an OS lock, released when the process ends, even by ``kill -9``),
so a second writer fails at once with the first one's pid, before any model is loaded.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import duckdb

from tailsynth.store.schema import ADDED_COLUMNS, COLUMNS, SCHEMA

DEFAULT_STORE = "store.duckdb"


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


class StoreLocked(RuntimeError):
    """The store file is held by another process (a second writer, or a reader that does not let go)."""


def _is_lock_error(err: Exception) -> bool:
    text = str(err)
    return "lock" in text.lower() or "different configuration" in text


def connect(path: str, read_only: bool = False, timeout_s: float = 60.0) -> duckdb.DuckDBPyConnection:
    """``duckdb.connect`` that waits (with backoff) while another process holds the file."""
    deadline, delay = time.monotonic() + timeout_s, 0.02
    while True:
        try:
            return duckdb.connect(path, read_only=read_only)
        except (duckdb.IOException, duckdb.ConnectionException) as err:
            if not _is_lock_error(err) or time.monotonic() >= deadline:
                raise StoreLocked(f"store {path} stayed locked for {timeout_s:g}s by another process "
                                  f"({' '.join(str(err).split())[:200]})") from None
            time.sleep(delay)
            delay = min(delay * 2, 0.5)


class Store:
    """``Store("store.duckdb")``; ``Store(":memory:")`` for tests. ``read_only`` opens no writer lock."""

    def __init__(self, path: str | Path = DEFAULT_STORE, read_only: bool = False, lock_timeout_s: float = 60.0):
        self.path, self.read_only, self.lock_timeout_s = str(path), read_only, lock_timeout_s
        self._lock = threading.RLock()
        self._held: duckdb.DuckDBPyConnection | None = None
        self._pinned = False
        self._writer_fd: int | None = None
        if self.path == ":memory:":
            self._held, self._pinned = duckdb.connect(self.path), True
        else:
            if not read_only:
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
                self._take_writer_lock()
            elif not Path(self.path).exists():
                raise FileNotFoundError(f"no store at {self.path}")
        if not read_only:
            with self.connection() as con:
                con.execute(SCHEMA)
                _migrate(con)

    def _take_writer_lock(self) -> None:
        lock_path = self.path + ".writer"
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or "another process"
            os.close(fd)
            raise StoreLocked(f"store {self.path} is being written by {holder}; wait for it to finish, "
                              "or give another --store") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} since {_now():%Y-%m-%d %H:%M:%S} UTC".encode(), 0)
        self._writer_fd = fd

    @contextmanager
    def connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """The connection for one operation: opened (waiting out a lock) and closed after it,
        unless one is already held (in memory, ``con``, or an enclosing ``connection()``)."""
        with self._lock:
            if self._held is not None:
                yield self._held
                return
            con = connect(self.path, self.read_only, self.lock_timeout_s)
            self._held = con
            try:
                yield con
            finally:
                self._held = None
                con.close()

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        """A connection held until ``close()`` (for callers that run their own SQL); it keeps the
        file locked meanwhile, so prefer ``fetch``/``execute``/``insert``."""
        with self._lock:
            if self._held is None:
                self._held, self._pinned = connect(self.path, self.read_only, self.lock_timeout_s), True
            return self._held

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        with self.connection() as con:
            con.execute(sql, list(params))

    def close(self) -> None:
        with self._lock:
            if self._held is not None and self._pinned:
                self._held.close()
            self._held, self._pinned = None, False
            if self._writer_fd is not None:
                os.close(self._writer_fd)  # releases the writer lock
                self._writer_fd = None

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """What runs inside commits as one, or not at all (rolled back on any error)."""
        with self.connection() as con:
            con.execute("BEGIN TRANSACTION")
            try:
                yield
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise

    # --- runs -----------------------------------------------------------------------------
    def start_run(self, run_id: str, kind: str, config: dict, model_ids: dict) -> bool:
        """Register a run; returns False when it already exists (a resume). Config must match."""
        with self.connection() as con:
            row = con.execute("SELECT config FROM runs WHERE run_id = ?", [run_id]).fetchone()
            if row is not None:
                if json.loads(row[0]) != json.loads(json.dumps(config)):
                    raise ValueError(f"run {run_id!r} exists with a different config; choose another run id")
                con.execute("UPDATE runs SET finished_at = NULL WHERE run_id = ?", [run_id])
                return False
            con.execute(
                "INSERT INTO runs VALUES (?, ?, ?, ?, ?, NULL)",
                [run_id, kind, json.dumps(config), json.dumps(model_ids), _now()],
            )
            return True

    def finish_run(self, run_id: str) -> None:
        self.execute("UPDATE runs SET finished_at = ? WHERE run_id = ?", [_now(), run_id])

    # --- rows -----------------------------------------------------------------------------
    def insert(self, table: str, rows: Sequence[Sequence[Any]], *, replace: bool = False) -> int:
        """Insert rows (tuples in ``COLUMNS[table]`` order); duplicates on the key are ignored
        (or replaced), so writing the same stage output twice is harmless. Rows may leave out
        the trailing ``ADDED_COLUMNS`` (NULL), so callers written before a column existed still insert."""
        if not rows:
            return 0
        columns = COLUMNS[table]
        if len(columns) - len(ADDED_COLUMNS.get(table, ())) <= len(rows[0]) < len(columns):
            columns = columns[: len(rows[0])]
        verb = "INSERT OR REPLACE" if replace or table in ("eval_results", "eval_query_results") else "INSERT OR IGNORE"
        sql = f"{verb} INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})"
        with self.connection() as con:
            con.executemany(sql, [list(r) for r in rows])
        return len(rows)

    def write_stage(
        self, run_id: str, stage: str, query_ids: Iterable[str], tables: dict[str, list[tuple]], replace: bool = False
    ) -> None:
        """Rows of one stage for a chunk of queries plus their progress markers, atomically.
        ``replace`` lets a later stage complete rows an earlier stage wrote (same key)."""
        with self.transaction():
            for table, rows in tables.items():
                self.insert(table, rows, replace=replace)
            self.insert("progress", [(run_id, q, stage) for q in query_ids])

    def copy_runs(self, source: str | Path) -> int:
        """Copy every row of the store file ``source`` into this one, in one transaction, rows of
        the same key replaced (copying twice leaves one copy). How runs written in another process
        (a side-by-side worker's own file: ``runner.side_by_side.run_into_store``) join the run's
        store, since DuckDB lets one process write a file. Returns the rows copied."""
        with Store(source, read_only=True, lock_timeout_s=self.lock_timeout_s) as other:
            copied = {table: other.fetch(f"SELECT {', '.join(columns)} FROM {table}") for table, columns in COLUMNS.items()}
        with self.transaction():
            for table, rows in copied.items():
                self.insert(table, rows, replace=True)
        return sum(len(rows) for rows in copied.values())

    def done(self, run_id: str, stage: str) -> set[str]:
        rows = self.fetch("SELECT query_id FROM progress WHERE run_id = ? AND stage = ?", [run_id, stage])
        return {r[0] for r in rows}

    def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        with self.connection() as con:
            return con.execute(sql, list(params)).fetchall()

    def fetch_dicts(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        with self.connection() as con:
            cursor = con.execute(sql, list(params))
            names = [d[0] for d in cursor.description]
            return [dict(zip(names, row)) for row in cursor.fetchall()]


def _migrate(con: duckdb.DuckDBPyConnection) -> None:
    """Stores written before ``eval_results`` had a key: keep the latest row per key, add the key."""
    keyed = con.execute("SELECT count(*) FROM duckdb_constraints() WHERE table_name = 'eval_results' "
                        "AND constraint_type = 'PRIMARY KEY'").fetchone()[0]
    if keyed:
        return
    con.execute("BEGIN TRANSACTION")
    con.execute("ALTER TABLE eval_results RENAME TO eval_results_unkeyed")
    con.execute(SCHEMA)
    con.execute("INSERT INTO eval_results SELECT run_id, suite, system, coalesce(qtype, 'all'), metric, arg_max(value, created_at), "
                "max(created_at) FROM eval_results_unkeyed GROUP BY ALL")
    con.execute("DROP TABLE eval_results_unkeyed")
    con.execute("COMMIT")
