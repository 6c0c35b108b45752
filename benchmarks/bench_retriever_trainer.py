"""Our retriever trainer vs sentence-transformers' own MultipleNegativesRankingLoss training.

Answers "does the hand-written loop cost throughput": the same model, batch size, max length,
number of steps and (query, product) pairs from the demo world's head logs, trained once by
``train_retriever`` and once by sentence-transformers (``old_fit``, which needs no ``datasets``
package), in one process on one device. Prints examples/s of each and their ratio. Model loading
and saving are outside both timings.

    python benchmarks/bench_retriever_trainer.py --steps 30 --batch-size 32
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from dataclasses import dataclass

import torch
from rich.console import Console
from rich.table import Table

from tailsynth.retrieval import trainer as T


@dataclass
class BenchConfig:
    steps: int = 30
    batch_size: int = 32
    max_seq_length: int = 64
    lr: float = 5e-5
    device: str | None = None
    warmup_steps: int = 3  # untimed steps first for each trainer (allocator, lazy imports)


def bench_ours(config: BenchConfig, pairs: list[tuple[str, str]], workdir: str) -> float:
    """Examples/s of ``train_retriever``'s step loop (it logs the rate over its loop, excl. load/save)."""
    from tailsynth.store import Store

    def run(steps: int, name: str) -> float:
        store = Store(":memory:")
        cfg = T.RetrieverTrainConfig(steps=steps, batch_size=config.batch_size, lr=config.lr,
                                     max_seq_length=config.max_seq_length, device=config.device,
                                     out_dir=f"{workdir}/{name}", show_progress=False, checkpoint_every=10**9)
        T.train_retriever(cfg, pairs, store=store)
        return float(store.fetch("SELECT value FROM train_log WHERE metric = 'examples_per_s'")[0][0])

    run(config.warmup_steps, "ours-warmup")  # untimed: lazy imports, allocator
    return run(config.steps, "ours")


def bench_sentence_transformers(config: BenchConfig, pairs: list[tuple[str, str]], workdir: str) -> float:
    """Examples/s of sentence-transformers' ``old_fit`` with ``MultipleNegativesRankingLoss``."""
    from sentence_transformers.readers import InputExample
    from sentence_transformers.sentence_transformer.losses.multiple_negatives_ranking import (
        MultipleNegativesRankingLoss,
    )
    from torch.utils.data import DataLoader

    device = config.device or ("cuda" if torch.cuda.is_available() else "cpu")
    model = T.load_model(None, device, config.max_seq_length)
    examples = [InputExample(texts=[q, p]) for q, p in pairs]
    loader = DataLoader(examples, batch_size=config.batch_size, shuffle=True, drop_last=True)
    loss = MultipleNegativesRankingLoss(model, scale=20.0)
    model.old_fit(train_objectives=[(loader, loss)], epochs=1, steps_per_epoch=config.warmup_steps,
                  warmup_steps=0, optimizer_params={"lr": config.lr}, show_progress_bar=False,
                  use_amp=device.startswith("cuda"))
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    start = time.perf_counter()
    model.old_fit(train_objectives=[(loader, loss)], epochs=1, steps_per_epoch=config.steps, warmup_steps=0,
                  optimizer_params={"lr": config.lr}, show_progress_bar=False, use_amp=device.startswith("cuda"))
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return config.steps * config.batch_size / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=BenchConfig.steps)
    parser.add_argument("--batch-size", type=int, default=BenchConfig.batch_size)
    parser.add_argument("--max-seq-length", type=int, default=BenchConfig.max_seq_length)
    parser.add_argument("--device", default=None)
    args = parser.parse_args()
    config = BenchConfig(steps=args.steps, batch_size=args.batch_size, max_seq_length=args.max_seq_length,
                         device=args.device)
    from tailsynth.sources import load_source

    pairs = T.baseline_pairs(load_source("world"))
    workdir = tempfile.mkdtemp(prefix="bench-trainer-")
    try:
        theirs = bench_sentence_transformers(config, pairs, workdir)
        ours = bench_ours(config, pairs, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    device = config.device or ("cuda" if torch.cuda.is_available() else "cpu")
    table = Table(title=f"retriever training, {config.steps} steps x batch {config.batch_size}, "
                        f"max_len {config.max_seq_length}, {device}")
    table.add_column("trainer")
    table.add_column("examples/s", justify="right")
    table.add_row("sentence-transformers old_fit + MNRL", f"{theirs:.1f}")
    table.add_row("tailsynth train_retriever", f"{ours:.1f}")
    Console().print(table)
    print(f"ratio ours/sentence-transformers = {ours / theirs:.2f}")


if __name__ == "__main__":
    main()
