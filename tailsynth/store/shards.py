"""Parquet shards of a distributed run, and DuckDB over them with the local store's tables.

An engine that runs on many workers cannot share one DuckDB writer, so each (stage, shard) of a
run is one Parquet file, written atomically (temp file, then rename): a file exists only when
its shard finished that stage, which is all resume needs. ``ShardStore(root)`` opens DuckDB
with views named like the local store's tables (``runs``, ``queries``, ``rewrites``,
``candidates``, ``pairs``) over ``read_parquet`` of every run under ``root``, so the funnel,
``tailsynth inspect``, export and plain SQL read a Ray run exactly as a local one;
``root/views.sql`` holds the same views for the ``duckdb`` command line (``duckdb -init``).

Layout: ``root/<run_id>/<table>/shard-00003.parquet``; stage outputs that a later stage completes
(raw rewrites, business-scored pairs) live under ``root/<run_id>/_stage/<stage>/``.
"""

from __future__ import annotations

import json
import os
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from tailsynth.store.schema import COLUMNS
from tailsynth.store.store import Store

_STR, _INT, _F64, _BOOL, _TS = pa.string(), pa.int32(), pa.float64(), pa.bool_(), pa.timestamp("us")
TYPES: dict[str, dict[str, pa.DataType]] = {
    "runs": {"run_id": _STR, "kind": _STR, "config": _STR, "model_ids": _STR, "started_at": _TS, "finished_at": _TS},
    "queries": {"run_id": _STR, "query_id": _STR, "text": _STR, "qtype": _STR},
    "rewrites": {"run_id": _STR, "query_id": _STR, "rank": _INT, "rewrite": _STR, "label": _STR,
                 "p_relevant": _F64, "p_partial": _F64, "p_irrelevant": _F64, "kept": _BOOL},
    "candidates": {"run_id": _STR, "query_id": _STR, "product_id": _STR, "rewrite_rank": _INT, "ann_rank": _INT,
                   "ann_score": _F64},
    "pairs": {"run_id": _STR, "query_id": _STR, "product_id": _STR, "rewrite_rank": _INT, "ann_rank": _INT,
              "business_score": _F64, "general_p_yes": _F64, "kept": _BOOL, "decided_by": _STR,
              "ann_score": _F64},
}
TABLES = tuple(TYPES)
OUTPUT = {"queries": "queries", "rewrite": "_stage/rewrite", "filter": "rewrites", "retrieve": "candidates",
          "business": "_stage/business", "general": "pairs"}
"""Where each stage's output goes: the final tables carry the local store's names."""
TABLE_OF = {"queries": "queries", "rewrite": "rewrites", "filter": "rewrites", "retrieve": "candidates",
            "business": "pairs", "general": "pairs"}
_SAFE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
assert all(tuple(TYPES[t]) == COLUMNS.get(t, tuple(TYPES[t])) for t in TYPES)


def schema(table: str) -> pa.Schema:
    return pa.schema(list(TYPES[table].items()))


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


class ShardLayout:
    """The files of one run under ``root``: one Parquet file per (stage, shard)."""

    def __init__(self, root: str | Path, run_id: str):
        if not _SAFE.match(run_id):
            raise ValueError(f"run id {run_id!r} must be a plain name (letters, digits, '.', '_', '-')")
        self.root, self.run_id = Path(root), run_id
        self.dir = self.root / run_id

    def path(self, stage: str, shard: int) -> Path:
        return self.dir / OUTPUT[stage] / f"shard-{shard:05d}.parquet"

    def done(self, stage: str, shard: int) -> bool:
        return self.path(stage, shard).exists()

    def write(self, stage: str, shard: int, rows: list[dict[str, Any]]) -> Path:
        """Write a stage's rows (dicts without run_id) for one shard; atomic, so never half a shard."""
        table = TABLE_OF[stage]
        data = pa.Table.from_pylist([{"run_id": self.run_id, **row} for row in rows], schema=schema(table))
        return _write_atomic(data, self.path(stage, shard))

    def read(self, stage: str, shard: int) -> list[dict[str, Any]]:
        """A stage's rows of one shard, without run_id (the input of the next stage on resume)."""
        rows = pq.read_table(self.path(stage, shard)).to_pylist()
        return [{k: v for k, v in r.items() if k != "run_id"} for r in rows]

    # --- the run's row in ``runs`` --------------------------------------------------------------
    def start_run(self, kind: str, config: dict, model_ids: dict) -> bool:
        """Register the run; False when it exists (a resume). A different config is refused."""
        path = self.dir / "runs" / "run.parquet"
        if path.exists():
            (row,) = pq.read_table(path).to_pylist()
            if json.loads(row["config"]) != json.loads(json.dumps(config)):
                raise ValueError(f"run {self.run_id!r} exists with a different config; choose another run id")
            _write_atomic(pa.Table.from_pylist([{**row, "finished_at": None}], schema=schema("runs")), path)
            return False
        row = {"run_id": self.run_id, "kind": kind, "config": json.dumps(config), "model_ids": json.dumps(model_ids),
               "started_at": _now(), "finished_at": None}
        _write_atomic(pa.Table.from_pylist([row], schema=schema("runs")), path)
        write_views_sql(self.root)
        return True

    def finish_run(self) -> None:
        path = self.dir / "runs" / "run.parquet"
        (row,) = pq.read_table(path).to_pylist()
        _write_atomic(pa.Table.from_pylist([{**row, "finished_at": _now()}], schema=schema("runs")), path)


def _write_atomic(data: pa.Table, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    pq.write_table(data, tmp)
    os.replace(tmp, path)
    return path


def _glob(root: Path, table: str) -> str:
    return str(root.resolve() / "*" / table / "*.parquet")


def view_statements(root: str | Path, present_only: bool = False) -> list[str]:
    """``CREATE VIEW`` per table over ``read_parquet`` of all runs under ``root`` (typed by the schema)."""
    root = Path(root)
    statements = []
    for table in TABLES:
        if present_only and not list(root.glob(f"*/{table}/*.parquet")):
            continue
        pattern = _glob(root, table).replace("'", "''")
        columns = ", ".join(f'"{c}"' for c in TYPES[table])
        statements.append(f"CREATE OR REPLACE VIEW {table} AS SELECT {columns} FROM read_parquet('{pattern}', union_by_name = true)")
    return statements


def write_views_sql(root: str | Path) -> Path:
    """``root/views.sql``: ``duckdb -init root/views.sql`` gives plain SQL over every run's shards."""
    path = Path(root) / "views.sql"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(";\n".join(view_statements(root)) + ";\n")
    return path


class ShardStore(Store):
    """A read-only ``Store`` over the shards under ``root``: the same table names and columns as the
    local DuckDB store, as views (a table with no shard yet is an empty table of the schema)."""

    def __init__(self, root: str | Path):
        super().__init__(":memory:")  # an in-memory DuckDB holding the views, pinned until close()
        self.path = str(root)
        with self.connection() as con:
            for statement in view_statements(root, present_only=True):
                table = statement.split()[4]
                con.execute(f"DROP TABLE {table}")
                con.execute(statement)

    def done(self, run_id: str, stage: str) -> set[str]:
        """Query ids whose shard finished ``stage``."""
        layout = ShardLayout(self.path, run_id)
        ids: set[str] = set()
        for path in sorted((layout.dir / OUTPUT[stage]).glob("shard-*.parquet")):
            shard = int(path.stem.split("-")[1])
            if layout.done("queries", shard):
                ids |= {r["query_id"] for r in layout.read("queries", shard)}
        return ids


def is_shard_root(path: str | Path) -> bool:
    path = Path(path)
    return path.is_dir() and (any(path.glob("*/runs/run.parquet")) or (path / "views.sql").exists())


def open_store(path: str | Path, read_only: bool = False) -> Store:
    """The store at ``path``: a ``ShardStore`` for a directory of shards (a Ray run), else DuckDB."""
    return ShardStore(path) if is_shard_root(path) else Store(path, read_only=read_only)
