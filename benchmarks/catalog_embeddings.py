"""Real embeddings of demo-world catalog text, encoded once with the packaged MiniLM and cached.

The index benchmark (``bench_faiss.py --embeddings DIR``) needs vectors with the structure of real
catalog text, not random ones; encoding a million titles takes a CPU hour, so it runs in chunks
saved as ``.npy`` and a restart skips the chunks already on disk.

    nohup nice python benchmarks/catalog_embeddings.py --n 1000000 --out .cache/bench-emb &
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np


def catalog_texts(seed: int, n: int) -> list[str]:
    """The texts retrieval sees (``World.product_texts``) for a generated catalog of ``n`` products."""
    from tailsynth.world.catalog import attribute_string, generate_products

    rows = generate_products(seed, n)
    return [f"{r['title']}. {attribute_string(json.loads(r['attributes']))}".rstrip(". ") for r in rows]


def query_texts(seed: int, n_queries: int) -> list[str]:
    """Queries of the (default-size) demo world: long-tail queries and head queries of every split."""
    from tailsynth.world import load_world

    world = load_world(seed=seed)
    texts = list(dict.fromkeys(world.queries.column("text").to_pylist()))
    rng = np.random.default_rng(seed)
    return [texts[i] for i in sorted(rng.permutation(len(texts))[:n_queries])]


def load(out: Path, n: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(catalog vectors of the first ``n`` finished products, query vectors)."""
    meta = json.loads((out / "meta.json").read_text())
    chunks = sorted(out.glob("chunk_*.npy"))
    data, have = [], 0
    for path in chunks:
        data.append(np.load(path))
        have += len(data[-1])
        if n is not None and have >= n:
            break
    vectors = np.concatenate(data)[:n]
    assert meta["chunk"] * len(chunks) >= len(vectors)
    return vectors, np.load(out / "queries.npy")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--chunk", type=int, default=20_000)
    parser.add_argument("--queries", type=int, default=1_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    import torch

    from tailsynth.retrieval.encoder import Encoder

    torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    meta = {"n": args.n, "chunk": args.chunk, "seed": args.seed, "encoder": "packaged all-MiniLM-L6-v2, max_seq_length 64"}
    (args.out / "meta.json").write_text(json.dumps(meta))
    encoder = Encoder()
    if not (args.out / "queries.npy").exists():
        np.save(args.out / "queries.npy", encoder.encode(query_texts(args.seed, args.queries)))
    t0 = time.perf_counter()
    texts = catalog_texts(args.seed, args.n)
    print(f"generated {len(texts):,} texts in {time.perf_counter() - t0:.0f}s", flush=True)
    for i, start in enumerate(range(0, args.n, args.chunk)):
        path = args.out / f"chunk_{i:04d}.npy"
        if path.exists():
            continue
        t0 = time.perf_counter()
        vectors = encoder.encode(texts[start : start + args.chunk])
        np.save(args.out / f".tmp_{i:04d}.npy", vectors)
        (args.out / f".tmp_{i:04d}.npy").rename(path)  # atomic: a killed run never leaves half a chunk
        print(f"chunk {i} ({start + len(vectors):,}/{args.n:,}) in {time.perf_counter() - t0:.0f}s", flush=True)


if __name__ == "__main__":
    main()
