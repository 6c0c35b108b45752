"""The product catalog as a searchable index: the DenseRetriever box of the pipeline.

Embedding a catalog is the slow step, so embeddings and the FAISS index are cached on disk under a
fingerprint of (encoder, texts, ids); a rerun with the same catalog and encoder loads them instead
of re-encoding; the cache is written to a temp folder and renamed, so workers that build it at the
same time never read half of one. ``search_union`` is the paper's per-query retrieval: top-k for
every kept rewrite, then union and dedupe (``union_hits``, shared with the sharded index).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import numpy as np

from tailsynth.progress import work_progress
from tailsynth.retrieval.encoder import TextEncoder
from tailsynth.retrieval.index import IndexConfig, VectorIndex

PROGRESS_THRESHOLD = 1_000  # encode larger batches behind a progress bar
_CHUNK = 1_024


def fingerprint(model_id: str, texts: list[str], ids: list[str]) -> str:
    """sha256 over the encoder id and every (id, text); any change means a new cache entry."""
    digest = hashlib.sha256(model_id.encode())
    for pid, text in zip(ids, texts):
        digest.update(b"\x00" + pid.encode() + b"\x01" + text.encode())
    digest.update(str(len(ids)).encode())
    return digest.hexdigest()


def cache_path(directory: str | Path, model_id: str, texts: list[str], ids: list[str]) -> Path:
    """Where ``build_or_load`` keeps the embeddings and index of this (encoder, catalog)."""
    return Path(directory) / fingerprint(model_id, texts, ids)


def is_built(cache: str | Path) -> bool:
    return (Path(cache) / "complete.json").exists()


def encode_texts(encoder: TextEncoder, texts: list[str], label: str = "encoding") -> np.ndarray:
    """Encode, showing progress (a rich bar, or lines when piped) past ``PROGRESS_THRESHOLD`` texts."""
    if len(texts) <= PROGRESS_THRESHOLD:
        return encoder.encode(texts)
    chunks = []
    with work_progress(unit="texts", transient=True) as progress:
        task = progress.add_task(label, total=len(texts))
        for start in range(0, len(texts), _CHUNK):
            chunks.append(encoder.encode(texts[start : start + _CHUNK]))
            progress.advance(task, len(chunks[-1]))
    return np.concatenate(chunks)


class CatalogIndex:
    """Encoder + vector index over one catalog, cached by fingerprint."""

    def __init__(self, encoder: TextEncoder, index: VectorIndex, embeddings: np.ndarray, key: str):
        self.encoder = encoder
        self.index = index
        self.embeddings = embeddings
        self.fingerprint = key

    @classmethod
    def build_or_load(
        cls,
        texts: list[str],
        ids: list[str],
        encoder: TextEncoder,
        directory: str | Path,
        config: IndexConfig | None = None,
    ) -> CatalogIndex:
        """Load ``directory/<fingerprint>/`` if present, else encode, index and write it there."""
        if len(texts) != len(ids):
            raise ValueError(f"{len(texts)} texts but {len(ids)} ids")
        if len(set(ids)) != len(ids):
            raise ValueError("product ids must be unique")
        key = fingerprint(encoder.model_id, texts, ids)
        cache = Path(directory) / key
        if is_built(cache):
            embeddings = np.load(cache / "embeddings.npy")
            return cls(encoder, VectorIndex.load(cache / "index"), embeddings, key)
        embeddings = encode_texts(encoder, texts, "encoding catalog")
        index = VectorIndex.build(embeddings, ids, config=config)
        tmp = cache.with_name(f".{key}.{os.getpid()}.tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        np.save(tmp / "embeddings.npy", embeddings)
        index.save(tmp / "index")
        marker = {"model_id": encoder.model_id, "n": len(ids), "kind": index.kind}
        (tmp / "complete.json").write_text(json.dumps(marker))
        try:
            os.rename(tmp, cache)  # atomic; a crash before it leaves no cache, so the next call rebuilds
        except OSError:  # another worker renamed its identical copy first (or a pre-marker leftover is there)
            if not is_built(cache):
                shutil.rmtree(cache, ignore_errors=True)
                os.rename(tmp, cache)
            shutil.rmtree(tmp, ignore_errors=True)
        return cls(encoder, index, embeddings, key)

    def search(self, queries: list[str], k: int = 200) -> list[list[tuple[str, float]]]:
        """Top-``k`` ``(product_id, score)`` per query, best first."""
        return as_pairs(self.index.search(encode_texts(self.encoder, queries, "encoding queries"), k))

    def search_union(self, groups: list[list[str]], k: int = 200) -> list[list[dict]]:
        """Per group (the rewrites of one query): top-``k`` per rewrite, unioned and deduped.

        Each product appears once, with the best (lowest, 1-based) rank any rewrite gave it, that
        rewrite's score and ``rewrite_index`` (position in the group); ties on rank keep the higher
        score. Results are sorted by (rank, -score). All rewrites are encoded in one batch.
        """
        flat = [text for group in groups for text in group]
        return union_hits(groups, self.search(flat, k) if flat else [])


def as_pairs(hits: tuple[np.ndarray, list[list[str]]]) -> list[list[tuple[str, float]]]:
    """``VectorIndex.search`` results (scores, ids) as ``(product_id, score)`` per query, best first."""
    scores, ids = hits
    return [list(zip(row_ids, map(float, row_scores))) for row_ids, row_scores in zip(ids, scores)]


def union_hits(groups: list[list[str]], hits: list[list[tuple[str, float]]]) -> list[list[dict]]:
    """``search_union`` given the top-k ``(product_id, score)`` of every text of ``groups``, flattened
    in order: per group each product once, with the best rank any of its texts gave it."""
    results, offset = [], 0
    for group in groups:
        best: dict[str, dict] = {}
        for rewrite_index in range(len(group)):
            for rank, (pid, score) in enumerate(hits[offset + rewrite_index], start=1):
                held = best.get(pid)
                if held is None or (rank, -score) < (held["rank"], -held["score"]):
                    best[pid] = {"product_id": pid, "rewrite_index": rewrite_index, "rank": rank, "score": score}
        offset += len(group)
        results.append(sorted(best.values(), key=lambda hit: (hit["rank"], -hit["score"])))
    return results
