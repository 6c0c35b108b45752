"""The DuckDB store: one file, every stage appends rows tagged with a run id.

All values go through parameters, never string formatting: titles and queries are untrusted.
A stage writes its rows and its progress markers in one transaction, so a run killed at any
point resumes from the last completed (chunk, stage) with no row written twice.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import duckdb

from tailsynth.store.schema import ADDED_COLUMNS, COLUMNS, SCHEMA

DEFAULT_STORE = "store.duckdb"


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


class Store:
    """``Store("store.duckdb")``; ``Store(":memory:")`` for tests."""

    def __init__(self, path: str | Path = DEFAULT_STORE, read_only: bool = False):
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self.con = duckdb.connect(self.path, read_only=read_only)
        self._lock = threading.Lock()
        if not read_only:
            self.con.execute(SCHEMA)

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # --- runs -----------------------------------------------------------------------------
    def start_run(self, run_id: str, kind: str, config: dict, model_ids: dict) -> bool:
        """Register a run; returns False when it already exists (a resume). Config must match."""
        row = self.con.execute("SELECT config FROM runs WHERE run_id = ?", [run_id]).fetchone()
        if row is not None:
            if json.loads(row[0]) != json.loads(json.dumps(config)):
                raise ValueError(f"run {run_id!r} exists with a different config; choose another run id")
            self.con.execute("UPDATE runs SET finished_at = NULL WHERE run_id = ?", [run_id])
            return False
        self.con.execute(
            "INSERT INTO runs VALUES (?, ?, ?, ?, ?, NULL)",
            [run_id, kind, json.dumps(config), json.dumps(model_ids), _now()],
        )
        return True

    def finish_run(self, run_id: str) -> None:
        self.con.execute("UPDATE runs SET finished_at = ? WHERE run_id = ?", [_now(), run_id])

    # --- rows -----------------------------------------------------------------------------
    def insert(self, table: str, rows: Sequence[Sequence[Any]], *, replace: bool = False) -> int:
        """Insert rows (tuples in ``COLUMNS[table]`` order); duplicates on the key are ignored
        (or replaced), so writing the same stage output twice is harmless. Rows may leave out
        the trailing ``ADDED_COLUMNS`` (NULL), so callers written before a column existed still insert."""
        if not rows:
            return 0
        columns = COLUMNS[table]
        if len(rows[0]) == len(columns) - len(ADDED_COLUMNS.get(table, ())):
            columns = columns[: len(rows[0])]
        verb = "INSERT OR REPLACE" if replace else "INSERT OR IGNORE"
        if table == "eval_results":
            verb = "INSERT"
        sql = f"{verb} INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})"
        self.con.executemany(sql, [list(r) for r in rows])
        return len(rows)

    def write_stage(
        self, run_id: str, stage: str, query_ids: Iterable[str], tables: dict[str, list[tuple]], replace: bool = False
    ) -> None:
        """Rows of one stage for a chunk of queries plus their progress markers, atomically.
        ``replace`` lets a later stage complete rows an earlier stage wrote (same key)."""
        with self._lock:
            self.con.execute("BEGIN TRANSACTION")
            try:
                for table, rows in tables.items():
                    self.insert(table, rows, replace=replace)
                self.insert("progress", [(run_id, q, stage) for q in query_ids])
                self.con.execute("COMMIT")
            except BaseException:
                self.con.execute("ROLLBACK")
                raise

    def done(self, run_id: str, stage: str) -> set[str]:
        rows = self.con.execute("SELECT query_id FROM progress WHERE run_id = ? AND stage = ?", [run_id, stage]).fetchall()
        return {r[0] for r in rows}

    def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        return self.con.execute(sql, list(params)).fetchall()

    def fetch_dicts(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        cursor = self.con.execute(sql, list(params))
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]
