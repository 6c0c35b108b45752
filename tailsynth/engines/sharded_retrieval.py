"""The retrieval stage over a sharded index on Ray Data: encode, one pool per index shard, merge.

With ``EngineConfig.index_shards = S > 1`` the Ray engine replaces the retrieval pool (each actor
holding the whole FAISS index) by ``S + 2`` operators, each a pool of ``num_workers`` actors:

    filtered rewrites ─► EncodeActor (the encoder, once) ─► IndexShardActor 0 … S-1 (rows
    ``[start, stop)`` of the catalog index, once) ─► MergeActor (top-k of the union, candidates)

The halves around the search are the local engine's own ``RetrievalStage.texts`` and
``RetrievalStage.rows``; the search is ``VectorIndex.search`` on each shard and
``sharded_index.merge_top_k`` over them, which for a flat index equals the search over the whole
index, so the candidates (and everything after them) are the local engine's. Query vectors and
per-shard hits travel in the Ray blocks; only the merge writes a file (the candidates shard), so
resume is the same as for the other stages: a shard whose candidates exist passes through.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from tailsynth.programs.stages import RetrievalStage
from tailsynth.retrieval.catalog_index import as_pairs, encode_texts
from tailsynth.retrieval.sharded_index import load_index_shard, merge_top_k
from tailsynth.store.shards import ShardLayout

Batch = dict[str, np.ndarray]


def set_torch_threads(threads: int) -> None:
    try:
        import torch

        torch.set_num_threads(threads)
    except ImportError:  # pragma: no cover - torch is a core dependency
        pass


def _column(values: list[Any]) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


class _Actor:
    def __init__(self, root: str, run_id: str, torch_threads: int = 1):
        set_torch_threads(torch_threads)
        self.layout = ShardLayout(root, run_id)

    def done(self, shard) -> bool:
        return self.layout.done("retrieve", int(shard))


class EncodeActor(_Actor):
    """The texts ``RetrievalStage`` searches, encoded in one batch per shard (as the local engine does)."""

    def __init__(self, spec, root: str, run_id: str, torch_threads: int = 1):
        super().__init__(root, run_id, torch_threads)
        self.encoder = spec.encoder()

    def __call__(self, batch: Batch) -> Batch:
        vectors, dims = [], []
        for shard, rows_json in zip(batch["shard"], batch["rows"]):
            if self.done(shard):
                vectors.append(b""), dims.append(0)
                continue
            rewrites = json.loads(rows_json) if rows_json else self.layout.read("filter", int(shard))
            texts = RetrievalStage.texts(rewrites)
            v = encode_texts(self.encoder, texts, "encoding queries") if texts else np.zeros((0, 1), np.float32)
            vectors.append(np.ascontiguousarray(v, dtype=np.float32).tobytes()), dims.append(int(v.shape[1]))
        return {**batch, "vectors": _column(vectors), "dim": np.array(dims), "hits": _column(["[]"] * len(dims))}


class IndexShardActor(_Actor):
    """One shard of the catalog index, loaded once; appends its top-k of every query vector."""

    def __init__(self, spec, index_shard: int, index_shards: int, root: str, run_id: str, torch_threads: int = 1):
        super().__init__(root, run_id, torch_threads)
        self.index = load_index_shard(spec.index_cache(), index_shard, index_shards)
        self.top_k = spec.config.top_k

    def __call__(self, batch: Batch) -> Batch:
        hits = []
        for shard, vectors, dim, parts_json in zip(batch["shard"], batch["vectors"], batch["dim"], batch["hits"]):
            if self.done(shard) or not len(vectors):
                hits.append(parts_json)
                continue
            scores, ids = self.index.search(np.frombuffer(vectors, dtype=np.float32).reshape(-1, int(dim)), self.top_k)
            hits.append(json.dumps(json.loads(parts_json) + [[scores.tolist(), ids]]))
        return {**batch, "hits": _column(hits)}


class MergeActor(_Actor):
    """The shards' hits merged to the top-k, turned into candidate rows, written as the retrieve shard."""

    def __init__(self, spec, root: str, run_id: str, torch_threads: int = 1):
        super().__init__(root, run_id, torch_threads)
        self.top_k = spec.config.top_k

    def __call__(self, batch: Batch) -> Batch:
        out = []
        for shard, rows_json, parts_json in zip(batch["shard"], batch["rows"], batch["hits"]):
            shard = int(shard)
            if self.done(shard):  # finished before a restart: its file is the answer
                out.append(json.dumps(self.layout.read("retrieve", shard)))
                continue
            rewrites = json.loads(rows_json) if rows_json else self.layout.read("filter", shard)
            parts = [(np.asarray(scores, dtype=np.float32).reshape(len(ids), -1), ids)
                     for scores, ids in json.loads(parts_json)]
            hits = as_pairs(merge_top_k(parts, self.top_k)) if parts and parts[0][1] else []
            rows = RetrievalStage.rows(rewrites, hits)
            self.layout.write("retrieve", shard, rows)
            out.append(json.dumps(rows))
        return {"shard": batch["shard"], "queries": batch["queries"], "rows": _column(out)}


def sharded_retrieval(ds, spec, engine, root: str, run_id: str, cpus: float, torch_threads: int):
    """``ds`` (one row per query shard, the filter stage's rows) through the sharded retrieval."""
    common = {"batch_size": 1, "batch_format": "numpy", "concurrency": engine.num_workers, "num_cpus": cpus}
    args = {"spec": spec, "root": root, "run_id": run_id, "torch_threads": torch_threads}
    ds = ds.map_batches(EncodeActor, fn_constructor_kwargs=args, **common)
    for s in range(engine.index_shards):
        ds = ds.map_batches(IndexShardActor, fn_constructor_kwargs={**args, "index_shard": s,
                                                                     "index_shards": engine.index_shards}, **common)
    return ds.map_batches(MergeActor, fn_constructor_kwargs=args, **common)


OPERATORS_ADDED = 2
"""Pools beyond one per index shard that the sharded retrieval adds (encode and merge)."""
