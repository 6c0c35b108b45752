"""Kept pairs of a synthesis run as training files other tools read unchanged.

Formats (each written as Parquet and/or JSONL):

- ``sentence-transformers``: plain columns, as ``MultipleNegativesRankingLoss`` expects them
  (the first column is the anchor, the second the positive, any further ones negatives):
  ``st_pairs`` has ``anchor, positive`` for every kept pair; ``st_triplets`` has
  ``anchor, positive, negative`` (the query's best-ranked rejected candidate) for the kept pairs
  whose query has a hard negative. Two files, because a column cannot be missing on some rows.
- ``tevatron``: one row per query, ``query_id, query, positive_passages, negative_passages``,
  passages as ``{docid, title, text}`` (Tevatron's training-data layout).
- ``flagembedding``: one row per query, ``query, pos: [text], neg: [text]`` (FlagEmbedding's
  fine-tuning layout; it samples ``train_group_size - 1`` negatives per query, so queries with an
  empty ``neg`` only suit ``train_group_size = 1``).

Hard negatives are the ones ``trainer.pairs_from_store`` picks (rejected by the relevance filters,
still ranked well by the ANN).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from tailsynth.catalog import Catalog
from tailsynth.retrieval.trainer import hard_negatives
from tailsynth.store import reads

FORMATS = ("sentence-transformers", "tevatron", "flagembedding")
FILE_TYPES = ("parquet", "jsonl")


def export_pairs(
    store,
    run_id: str,
    catalog: Catalog,
    out_dir: str | Path,
    formats: Sequence[str] = FORMATS,
    file_types: Sequence[str] = FILE_TYPES,
    max_negatives: int = 4,
    max_negative_rank: int = 50,
    titles: Mapping[str, str] | None = None,
) -> list[Path]:
    """Write the run's kept pairs in each format and file type; returns the files written.
    ``catalog``: the products the run was synthesized over (``source.catalog()`` of its data).

    ``titles`` (product id → title) fills Tevatron's ``title`` field; without it the title is
    empty and ``text`` carries the whole catalog text.
    """
    unknown = set(formats) - set(FORMATS) | set(file_types) - set(FILE_TYPES)
    if unknown:
        raise ValueError(f"unknown formats/file types {sorted(unknown)}; known: {FORMATS} and {FILE_TYPES}")
    rows = reads.kept_pairs(store, run_id)
    if not rows:
        raise ValueError(f"run {run_id!r} has no kept pairs in the store")
    found = hard_negatives(store, run_id, max_negatives, max_negative_rank)
    negatives = {qid: found.get(qid, []) for qid, _, _ in rows}
    tables = {}
    if "sentence-transformers" in formats:
        tables["st_pairs"] = [{"anchor": q, "positive": catalog.text(p)} for _, q, p in rows]
        tables["st_triplets"] = [
            {"anchor": q, "positive": catalog.text(p), "negative": catalog.text(negatives[qid][0])}
            for qid, q, p in rows
            if negatives[qid]
        ]
    by_query: dict[str, tuple[str, list[str]]] = {}
    for qid, q, p in rows:
        by_query.setdefault(qid, (q, []))[1].append(p)
    if "tevatron" in formats:

        def passage(pid: str) -> dict:
            return {"docid": pid, "title": (titles or {}).get(pid, ""), "text": catalog.text(pid)}

        tables["tevatron"] = [
            {"query_id": qid, "query": q, "positive_passages": [passage(p) for p in pids],
             "negative_passages": [passage(n) for n in negatives[qid]]}
            for qid, (q, pids) in by_query.items()
        ]
    if "flagembedding" in formats:
        tables["flagembedding"] = [
            {"query": q, "pos": [catalog.text(p) for p in pids], "neg": [catalog.text(n) for n in negatives[qid]]}
            for qid, (q, pids) in by_query.items()
        ]
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, records in tables.items():
        if "parquet" in file_types:
            path = out / f"{name}.parquet"
            pq.write_table(pa.Table.from_pylist(records, schema=_SCHEMAS[name]), path)
            written.append(path)
        if "jsonl" in file_types:
            path = out / f"{name}.jsonl"
            with path.open("w", encoding="utf-8") as f:
                for record in records:
                    f.write(json.dumps(record, ensure_ascii=False) + "\n")
            written.append(path)
    return written


_PASSAGE = pa.struct([("docid", pa.string()), ("title", pa.string()), ("text", pa.string())])
_SCHEMAS = {
    "st_pairs": pa.schema([("anchor", pa.string()), ("positive", pa.string())]),
    "st_triplets": pa.schema([("anchor", pa.string()), ("positive", pa.string()), ("negative", pa.string())]),
    "tevatron": pa.schema([("query_id", pa.string()), ("query", pa.string()),
                           ("positive_passages", pa.list_(_PASSAGE)), ("negative_passages", pa.list_(_PASSAGE))]),
    "flagembedding": pa.schema([("query", pa.string()), ("pos", pa.list_(pa.string())), ("neg", pa.list_(pa.string()))]),
}
