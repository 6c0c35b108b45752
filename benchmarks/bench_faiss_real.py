"""Which index ``kind="auto"`` should pick, measured on REAL embeddings of catalog text.

The vectors are the demo world's product texts encoded once with the packaged MiniLM
(``benchmarks/catalog_embeddings.py``, cached as .npy chunks); queries are the world's query texts
encoded the same way. For each kind (and search parameter) it reports build time, QPS,
speed-up over exact search (faiss flat, the index ``auto`` uses below its threshold) and
recall@k against exact search, all in one run on one machine; results go to benchmarks/results/.

    python benchmarks/bench_faiss_real.py --embeddings .cache/bench-emb --n 200000
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import faiss
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from catalog_embeddings import load  # noqa: E402

from tailsynth.retrieval.index import IndexConfig, VectorIndex  # noqa: E402

HNSW_EF = (200, 256, 512)  # efSearch is raised to k at search time, so below 200 is 200
IVF_NPROBE = (16, 24, 32, 64)


def recall(found: list[list[str]], exact: list[list[str]]) -> float:
    return float(np.mean([len(set(f) & set(e)) / len(e) for f, e in zip(found, exact)]))


def timed_search(index: VectorIndex, queries: np.ndarray, k: int) -> tuple[float, list[list[str]]]:
    index.search(queries[:10], k)  # warm-up
    start = time.perf_counter()
    _, ids = index.search(queries, k)
    return time.perf_counter() - start, ids


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--embeddings", type=Path, required=True)
    parser.add_argument("--n", type=int, default=None, help="first n products (default: all encoded so far)")
    parser.add_argument("--k", type=int, default=200)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/faiss_real"))
    args = parser.parse_args()
    data, queries = load(args.embeddings, args.n)
    n, k = len(data), args.k
    ids = [str(i) for i in range(n)]
    print(f"{n:,}×{data.shape[1]} real MiniLM vectors, {len(queries)} real queries, top-{k}, faiss {faiss.__version__}, "
          f"{faiss.omp_get_max_threads()} threads", flush=True)
    rows = []
    t0 = time.perf_counter()
    flat = VectorIndex.build(data, ids, kind="flat")
    flat_build = time.perf_counter() - t0
    exact_s, exact = timed_search(flat, queries, k)
    rows.append({"kind": "flat (exact)", "param": "", "build_s": flat_build, "qps": len(queries) / exact_s,
                 "speedup": 1.0, "recall": 1.0})
    del flat
    for kind, params in (("hnsw", HNSW_EF), ("ivf", IVF_NPROBE)):
        t0 = time.perf_counter()
        index = VectorIndex.build(data, ids, kind=kind, config=IndexConfig(use_gpu=False))
        build_s = time.perf_counter() - t0
        print(f"  {kind}: built in {build_s:.1f}s", flush=True)
        for p in params:
            index.config = replace(index.config, **({"hnsw_ef_search": p} if kind == "hnsw" else {"ivf_nprobe": p}))
            search_s, found = timed_search(index, queries, k)
            rows.append({"kind": kind, "param": f"efSearch={p}" if kind == "hnsw" else f"nprobe={p}",
                         "build_s": build_s, "qps": len(queries) / search_s, "speedup": exact_s / search_s,
                         "recall": recall(found, exact)})
            print(f"    {rows[-1]}", flush=True)
        del index
    command = "python " + " ".join(sys.argv)
    result = {"n": n, "dim": int(data.shape[1]), "queries": len(queries), "k": k, "threads": faiss.omp_get_max_threads(),
              "faiss": faiss.__version__, "command": command, "rows": rows,
              "meets_target": [r for r in rows if r["recall"] >= 0.95 and r["speedup"] >= 10]}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(result, indent=2))
    lines = [f"# FAISS index kinds on real catalog embeddings (N={n:,})", "", f"Command: `{command}`", "",
             f"{n:,} demo-world product texts × {data.shape[1]}-d (packaged all-MiniLM-L6-v2), {len(queries)} demo-world "
             f"query texts, top-{k}, faiss {faiss.__version__}, {faiss.omp_get_max_threads()} threads, shared 2-core machine.",
             "", f"`kind=\"auto\"` picks **{'flat' if n <= IndexConfig().exact_threshold else 'hnsw'}** at this N "
             f"(exact up to {IndexConfig().exact_threshold:,} vectors, HNSW M={IndexConfig().hnsw_m}, "
             f"efConstruction={IndexConfig().hnsw_ef_construction}, efSearch={IndexConfig().hnsw_ef_search} above).",
             "", "| kind | search param | build s | QPS | × exact | recall@%d |" % k, "|---|---|---:|---:|---:|---:|"]
    lines += [f"| {r['kind']} | {r['param']} | {r['build_s']:.1f} | {r['qps']:,.0f} | {r['speedup']:.1f} | {r['recall']:.3f} |"
              for r in rows]
    args.out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
