"""FAISS top-200 search vs numpy brute force, on random 384-d unit vectors.

Answers "which index kind should the catalog use at this size": QPS of each kind relative to
numpy brute force, and its recall@k against exact search, all in one run on one machine.
Random vectors have no cluster structure, so approximate recall here is a pessimistic bound.

    python benchmarks/bench_faiss.py --n 200000
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass

import faiss
import numpy as np
from rich.console import Console
from rich.table import Table

from tailsynth.retrieval.index import IndexConfig, VectorIndex


@dataclass
class BenchConfig:
    n: int = 1_000_000
    dim: int = 384
    queries: int = 1_000
    k: int = 200
    noise: float = 1.0  # queries = data row + noise·N(0, I/d), renormalised
    seed: int = 0


def unit_rows(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    x = rng.standard_normal((n, dim), dtype=np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x


def numpy_topk(data: np.ndarray, queries: np.ndarray, k: int, chunk: int = 128) -> np.ndarray:
    """Exact top-k rows by inner product, chunked over queries to bound memory."""
    out = np.empty((len(queries), k), dtype=np.int64)
    for start in range(0, len(queries), chunk):
        sims = queries[start : start + chunk] @ data.T
        part = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(sims, part, axis=1), axis=1)
        out[start : start + chunk] = np.take_along_axis(part, order, axis=1)
    return out


def recall(found: list[list[str]], exact: np.ndarray, ids: list[str]) -> float:
    return float(np.mean([len(set(f) & {ids[j] for j in e}) / len(e) for f, e in zip(found, exact)]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name, value in vars(BenchConfig()).items():
        parser.add_argument(f"--{name}", type=type(value), default=value)
    config = BenchConfig(**vars(parser.parse_args()))
    console = Console()
    rng = np.random.default_rng(config.seed)
    data = unit_rows(rng, config.n, config.dim)
    picks = rng.integers(0, config.n, config.queries)
    queries = data[picks] + config.noise * unit_rows(rng, config.queries, config.dim)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    ids = [str(i) for i in range(config.n)]
    console.print(f"{config.n:,}×{config.dim} vectors, {config.queries} queries, top-{config.k}, "
                  f"faiss {faiss.__version__}, {faiss.omp_get_max_threads()} threads")

    start = time.perf_counter()
    exact = numpy_topk(data, queries, config.k)
    numpy_s = time.perf_counter() - start
    rows = [("numpy brute force", 0.0, numpy_s, 1.0)]
    for kind in ("flat", "hnsw", "ivf"):
        start = time.perf_counter()
        index = VectorIndex.build(data, ids, kind=kind, config=IndexConfig())
        build_s = time.perf_counter() - start
        index.search(queries[:10], config.k)  # warm-up
        start = time.perf_counter()
        _, found = index.search(queries, config.k)
        search_s = time.perf_counter() - start
        rows.append((f"faiss {kind}", build_s, search_s, recall(found, exact, ids)))
        console.print(f"  {kind}: built in {build_s:.1f}s, searched in {search_s:.2f}s")
        del index

    table = Table(title=f"top-{config.k} search, N={config.n:,}, d={config.dim}")
    for column in ("method", "build s", "QPS", "× numpy", f"recall@{config.k}"):
        table.add_column(column, justify="right")
    for name, build_s, search_s, rec in rows:
        qps = config.queries / search_s
        table.add_row(name, f"{build_s:.1f}", f"{qps:,.0f}", f"{numpy_s / search_s:.2f}", f"{rec:.3f}")
    console.print(table)


if __name__ == "__main__":
    main()
