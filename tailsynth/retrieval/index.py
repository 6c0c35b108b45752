"""Vector index over FAISS inner product: exact for small catalogs, approximate (IVF by default) above.

Vectors are expected L2-normalised (see ``encoder.py``), so scores are cosine similarities.
Exact (flat) search returns a canonical top-k: by score, ties broken by product id. FAISS's own
heap keeps an arbitrary member of a tie group at the k-th place (it depends on k and on how the
vectors are split), so without this a search over index shards could not equal the search over
the whole index (``tailsynth.retrieval.sharded_index``); duplicate product texts make such ties
common in real catalogs.

The CPU index is the source of truth (it is what ``save`` writes); when faiss has GPU support and
a GPU is visible, flat and IVF indexes are cloned to it in fp16 for search, falling back to CPU
if the clone fails. HNSW stays on CPU (faiss has no GPU HNSW).
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import faiss
import numpy as np

log = logging.getLogger(__name__)

IndexKind = Literal["auto", "flat", "hnsw", "ivf"]


@dataclass
class IndexConfig:
    """How to build and search; defaults favour recall@200 over raw speed."""

    kind: IndexKind = "auto"
    exact_threshold: int = 100_000  # "auto" uses flat up to this many vectors, IVF above
    """Measured on real MiniLM embeddings of catalog text (benchmarks/results/faiss_real_160k.md):
    at 160k vectors IVF (nlist 4·sqrt(n), nprobe 32) keeps recall@200 0.974 at 11.5× the QPS of
    exact search, while HNSW (M 32, efSearch 256) gives 0.938 at 9.5×; at 120k IVF gives 0.976 at
    7.8×. So above the threshold ``auto`` picks IVF."""
    hnsw_m: int = 32
    hnsw_ef_construction: int = 128
    hnsw_ef_search: int = 256  # raised to k at search time when k is larger
    ivf_nlist: int | None = None  # None: 4·sqrt(n)
    ivf_nprobe: int = 32
    use_gpu: bool = True


def gpu_available() -> bool:
    """True when this faiss build has GPU support and sees at least one GPU."""
    return hasattr(faiss, "StandardGpuResources") and faiss.get_num_gpus() > 0


TIE_DECIMALS = 5
"""Scores equal to this many decimals are a tie. The same (query, product) dot product comes out a
few ulps apart from one BLAS call shape to another (a batch of queries vs one, a shard vs the whole
index), so exact float equality would break ties differently between calls."""


def tie_key(scores: np.ndarray) -> np.ndarray:
    """Scores as compared for the canonical order: rounded to ``TIE_DECIMALS``."""
    return np.round(np.asarray(scores, dtype=np.float64), TIE_DECIMALS)


class VectorIndex:
    """Top-k inner-product search over vectors addressed by string ids."""

    def __init__(self, cpu_index: faiss.Index, ids: list[str], kind: str, config: IndexConfig):
        if cpu_index.ntotal != len(ids):
            raise ValueError(f"index holds {cpu_index.ntotal} vectors but {len(ids)} ids")
        self.cpu_index = cpu_index
        self.ids = ids
        self.kind = kind
        self.config = config
        self._search_index = _maybe_to_gpu(cpu_index, kind, config)
        self._id_rank: np.ndarray | None = None  # row -> rank of its id in sorted order (flat tie-break)

    @property
    def ntotal(self) -> int:
        return int(self.cpu_index.ntotal)

    @property
    def dim(self) -> int:
        return int(self.cpu_index.d)

    @classmethod
    def build(
        cls,
        vectors: np.ndarray,
        ids: list[str],
        kind: IndexKind | None = None,
        exact_threshold: int | None = None,
        config: IndexConfig | None = None,
    ) -> VectorIndex:
        """Index ``vectors`` (``[n, d]``) under ``ids``; ``kind``/``exact_threshold`` override ``config``."""
        config = config or IndexConfig()
        if kind is not None:
            config = IndexConfig(**{**asdict(config), "kind": kind})
        if exact_threshold is not None:
            config = IndexConfig(**{**asdict(config), "exact_threshold": exact_threshold})
        vectors = _as_matrix(vectors)
        if len(ids) != len(vectors):
            raise ValueError(f"{len(vectors)} vectors but {len(ids)} ids")
        resolved = config.kind
        if resolved == "auto":
            resolved = "flat" if len(vectors) <= config.exact_threshold else "ivf"
        index = _new_cpu_index(resolved, vectors, config)
        index.add(vectors)
        return cls(index, list(ids), resolved, config)

    def search(self, query_vectors: np.ndarray, k: int) -> tuple[np.ndarray, list[list[str]]]:
        """Top-``k`` per query: scores ``[n, min(k, ntotal)]`` and ids per query.

        Asking for more than the index holds returns everything it holds. If an approximate index
        finds fewer than that, the missing tail has score ``-inf`` and is absent from the ids list,
        so faiss's ``-1`` placeholder never reaches a caller. A flat index orders ties by product id
        (the module docstring says why).
        """
        queries = _as_matrix(query_vectors)
        k = min(int(k), self.ntotal)
        if k <= 0 or len(queries) == 0:
            return np.zeros((len(queries), 0), dtype=np.float32), [[] for _ in range(len(queries))]
        if self.kind == "flat":
            scores, rows = self._exact_search(queries, k)
        else:
            self._set_search_params(k)
            scores, rows = self._search_index.search(queries, k)
        scores = np.where(rows >= 0, scores, -np.inf).astype(np.float32)
        ids = [[self.ids[r] for r in row if r >= 0] for row in rows]
        return scores, ids

    def _exact_search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-k by (score, product id): fetch past k until every query's tie group at the k-th
        score is complete (the last fetched score is below it), then sort and cut."""
        limit = self.ntotal if self._search_index is self.cpu_index else max(k, min(self.ntotal, 2048))  # GPU k cap
        fetch = min(limit, k + max(16, k // 8))
        while True:
            scores, rows = self._search_index.search(queries, fetch)
            tied = tie_key(scores)
            if fetch >= limit or bool(np.all(tied[:, fetch - 1] < tied[:, k - 1])):
                break
            fetch = min(limit, fetch * 2)
        if self._id_rank is None:
            self._id_rank = np.argsort(np.argsort(np.asarray(self.ids), kind="stable"), kind="stable")
        order = np.lexsort((self._id_rank[rows], -tied), axis=-1)[:, :k]
        return np.take_along_axis(scores, order, axis=-1), np.take_along_axis(rows, order, axis=-1)

    def recall_against_exact(self, sample_queries: np.ndarray, k: int) -> float:
        """Mean recall@k of this index against exact search over the same vectors (1.0 for flat)."""
        if self.kind == "flat":
            return 1.0
        exact = VectorIndex(_exact_copy(self.cpu_index, self.kind), self.ids, "flat", self.config)
        _, approx_ids = self.search(sample_queries, k)
        _, exact_ids = exact.search(sample_queries, k)
        hits = [len(set(a) & set(e)) / len(e) for a, e in zip(approx_ids, exact_ids) if e]
        return float(np.mean(hits)) if hits else 1.0

    def save(self, directory: str | Path) -> None:
        """Write ``index.faiss`` (the CPU index), ``ids.json`` and ``index.json`` (kind, config)."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        faiss.write_index(self.cpu_index, str(directory / "index.faiss"))
        (directory / "ids.json").write_text(json.dumps(self.ids))
        meta = {"kind": self.kind, "config": asdict(self.config)}
        (directory / "index.json").write_text(json.dumps(meta, indent=2))

    @classmethod
    def load(cls, directory: str | Path) -> VectorIndex:
        """Read an index written by ``save`` (moved to GPU again when one is available)."""
        directory = Path(directory)
        meta = json.loads((directory / "index.json").read_text())
        ids = json.loads((directory / "ids.json").read_text())
        index = faiss.read_index(str(directory / "index.faiss"))
        return cls(index, ids, meta["kind"], IndexConfig(**meta["config"]))

    def _set_search_params(self, k: int) -> None:
        if self.kind == "hnsw":
            self.cpu_index.hnsw.efSearch = max(self.config.hnsw_ef_search, k)
        elif self.kind == "ivf":
            target = self._search_index
            if hasattr(target, "nprobe"):
                target.nprobe = self.config.ivf_nprobe
            else:  # GPU clone
                faiss.GpuParameterSpace().set_index_parameter(target, "nprobe", self.config.ivf_nprobe)


def _as_matrix(vectors: np.ndarray) -> np.ndarray:
    array = np.ascontiguousarray(vectors, dtype=np.float32)
    if array.ndim != 2:
        raise ValueError(f"expected a [n, d] matrix, got shape {array.shape}")
    return array


def _new_cpu_index(kind: str, vectors: np.ndarray, config: IndexConfig) -> faiss.Index:
    n, d = vectors.shape
    if kind == "flat":
        return faiss.IndexFlatIP(d)
    if kind == "hnsw":
        index = faiss.IndexHNSWFlat(d, config.hnsw_m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = config.hnsw_ef_construction
        return index
    if kind == "ivf":
        nlist = config.ivf_nlist or max(1, min(n // 39, int(4 * math.sqrt(n))))
        index = faiss.IndexIVFFlat(faiss.IndexFlatIP(d), d, nlist, faiss.METRIC_INNER_PRODUCT)
        sample = vectors[np.random.default_rng(0).permutation(n)[: nlist * 64]]
        index.train(sample)
        return index
    raise ValueError(f"unknown index kind {kind!r}; expected auto, flat, hnsw or ivf")


def _exact_copy(index: faiss.Index, kind: str) -> faiss.Index:
    """A flat index over the vectors an approximate index stores (both kinds keep them uncompressed)."""
    if kind == "ivf":
        index.make_direct_map()
    exact = faiss.IndexFlatIP(index.d)
    exact.add(index.reconstruct_n(0, index.ntotal))
    return exact


def _maybe_to_gpu(index: faiss.Index, kind: str, config: IndexConfig) -> faiss.Index:
    if not (config.use_gpu and kind in ("flat", "ivf") and gpu_available()):
        return index
    try:
        options = faiss.GpuClonerOptions()
        options.useFloat16 = True
        resources = faiss.StandardGpuResources()
        gpu_index = faiss.index_cpu_to_gpu(resources, 0, index, options)
        gpu_index.referenced_resources = resources  # keep resources alive with the index
        return gpu_index
    except Exception as error:  # noqa: BLE001 - any GPU failure means "search on CPU"
        log.warning("faiss GPU clone failed (%s); searching on CPU", error)
        return index
