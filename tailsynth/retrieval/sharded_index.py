"""A catalog index split into shards by product row ranges, searched shard by shard and merged.

At the paper's scale one worker should not hold the whole catalog index, so the Ray engine
(``tailsynth.engines.sharded_retrieval``) gives each actor pool one shard: rows
``[start, stop)`` of the cached catalog index (``shard_bounds``), loaded from the cached
embeddings without reading the others (``load_index_shard``). Every shard returns its own top-k
and ``merge_top_k`` keeps the best k of their union, by score with ties broken by product id.

For an exact (flat) index the merged top-k equals the search over the whole index, ties
included: flat search is canonical under the same order (``VectorIndex`` docstring), and every
member of the global top-k is in its own shard's top-k. ``faiss.IndexShards`` is not used for the
merge because it keeps FAISS's heap order among ties, which depends on the shard split. An
approximate kind (IVF, HNSW) gets one index of that kind per shard, built over the shard's rows;
its recall is per shard, so its results are close to, not equal to, the unsharded index's.

``ShardedIndex`` is the same thing in one process (tests, and anyone who wants shards locally);
it answers ``search`` and ``search_union`` like ``CatalogIndex``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from tailsynth.retrieval.catalog_index import CatalogIndex, as_pairs, encode_texts, is_built, union_hits
from tailsynth.retrieval.encoder import TextEncoder
from tailsynth.retrieval.index import IndexConfig, VectorIndex, tie_key

Hits = tuple[np.ndarray, list[list[str]]]
"""What ``VectorIndex.search`` returns: scores ``[n, k]`` and the ids per query."""


def shard_bounds(n: int, shards: int) -> list[tuple[int, int]]:
    """``shards`` contiguous row ranges covering ``range(n)``, sizes differing by at most one."""
    if shards < 1:
        raise ValueError(f"shards must be >= 1, got {shards}")
    if shards > max(n, 1):
        raise ValueError(f"cannot cut {n} products into {shards} shards")
    edges = [n * s // shards for s in range(shards + 1)]
    return list(zip(edges[:-1], edges[1:]))


def _shard_index(vectors: np.ndarray, ids: list[str], kind: str, config: IndexConfig) -> VectorIndex:
    return VectorIndex.build(np.ascontiguousarray(vectors, dtype=np.float32), ids, config=replace(config, kind=kind))


def load_index_shard(cache: str | Path, shard: int, shards: int) -> VectorIndex:
    """Shard ``shard`` of ``shards`` of the index cached at ``cache`` (``catalog_index.cache_path``),
    built from its rows of the cached embeddings (memory-mapped: the other rows are never read)."""
    cache = Path(cache)
    if not is_built(cache):
        raise FileNotFoundError(f"no built catalog index at {cache}; build it first (CatalogIndex.build_or_load)")
    meta = json.loads((cache / "index" / "index.json").read_text())
    ids = json.loads((cache / "index" / "ids.json").read_text())
    start, stop = shard_bounds(len(ids), shards)[shard]
    embeddings = np.load(cache / "embeddings.npy", mmap_mode="r")
    return _shard_index(embeddings[start:stop], ids[start:stop], meta["kind"], IndexConfig(**meta["config"]))


def merge_top_k(parts: Sequence[Hits], k: int) -> Hits:
    """The best ``k`` per query of several shards' results, by score then product id."""
    n = len(parts[0][0]) if parts else 0
    width = sum(scores.shape[1] for scores, _ in parts)
    k = min(int(k), width)
    if n == 0 or k == 0:
        return np.zeros((n, 0), dtype=np.float32), [[] for _ in range(n)]
    scores = np.concatenate([s for s, _ in parts], axis=1).astype(np.float32)
    ids = np.full((n, width), "", dtype=object)
    col = 0
    for part_scores, part_ids in parts:
        for row, row_ids in enumerate(part_ids):
            ids[row, col : col + len(row_ids)] = row_ids  # a missing tail keeps "" and score -inf
        col += part_scores.shape[1]
    ids = ids.astype(str)
    order = np.lexsort((ids, -tie_key(scores)), axis=-1)[:, :k]  # the order flat search uses
    top_scores = np.take_along_axis(scores, order, axis=-1)
    top_ids = np.take_along_axis(ids, order, axis=-1)
    return top_scores, [[pid for pid, s in zip(r, sc) if s > -np.inf] for r, sc in zip(top_ids.tolist(), top_scores)]


class ShardedIndex:
    """An encoder and the shards of one catalog index; searches each shard and merges."""

    def __init__(self, encoder: TextEncoder, shards: list[VectorIndex]):
        self.encoder, self.shards = encoder, shards

    @classmethod
    def split(cls, index: CatalogIndex, shards: int) -> ShardedIndex:
        """``index`` cut into ``shards`` row ranges (each a new index of the same kind)."""
        ids, vectors = index.index.ids, index.embeddings
        return cls(index.encoder, [_shard_index(vectors[a:b], ids[a:b], index.index.kind, index.index.config)
                                   for a, b in shard_bounds(len(ids), shards)])

    @classmethod
    def load(cls, encoder: TextEncoder, cache: str | Path, shards: int) -> ShardedIndex:
        return cls(encoder, [load_index_shard(cache, s, shards) for s in range(shards)])

    def search_vectors(self, vectors: np.ndarray, k: int) -> Hits:
        return merge_top_k([shard.search(vectors, k) for shard in self.shards], k)

    def search(self, queries: list[str], k: int = 200) -> list[list[tuple[str, float]]]:
        """Top-``k`` ``(product_id, score)`` per query, best first (as ``CatalogIndex.search``)."""
        return as_pairs(self.search_vectors(encode_texts(self.encoder, queries, "encoding queries"), k))

    def search_union(self, groups: list[list[str]], k: int = 200) -> list[list[dict]]:
        flat = [text for group in groups for text in group]
        return union_hits(groups, self.search(flat, k) if flat else [])
