"""Synthesis program throughput on the demo world, and logit scoring vs generate-and-parse.

    .venv/bin/python benchmarks/bench_synthesis.py [--queries 50] [--pairs 64]

Prints per-stage seconds and pairs/s of a fresh run over ``--queries`` test queries, then scores
the same (query, product) pairs with the general relevance filter two ways on the same model:
p_yes from one batched forward (shared prefix) vs DSPy ``Predict`` generating the answer and
parsing it. Both are measured in this run; the ratio is what to read.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

import tailsynth  # noqa: F401
from tailsynth.config import LMConfig, SynthesisConfig
from tailsynth.demo import synthesize_source
from tailsynth.programs.general_relevance import GeneralRelevanceFilter
from tailsynth.serving import make_lm, make_scorer
from tailsynth.sources import load_source
from tailsynth.store import Store


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--pairs", type=int, default=64)
    parser.add_argument("--relevance-model", default=None,
                        help="also time this general filter (e.g. a `train classifier --method cross-encoder` dir)")
    args = parser.parse_args()
    console = Console()
    source = load_source("world")
    config = SynthesisConfig(rewriter=LMConfig())
    with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp) / "bench.duckdb") as store:
        per_type = max(1, args.queries // 4)
        started = time.perf_counter()
        summary = synthesize_source(source, config, store, per_type=per_type, progress=False)
        total = time.perf_counter() - started
        pairs = store.fetch(
            "SELECT q.text, p.product_id FROM pairs p JOIN queries q USING (run_id, query_id) "
            "WHERE p.run_id = ? ORDER BY p.query_id, p.business_score DESC LIMIT ?",
            [summary.run_id, args.pairs],
        )
    table = Table(title=f"synthesis of {summary.queries} queries ({total:.0f} s incl. model loading)")
    table.add_column("stage")
    table.add_column("seconds", justify="right")
    for stage, seconds in summary.seconds.items():
        table.add_row(stage, f"{seconds:.1f}")
    console.print(table)
    kept = summary.funnel["pairs_kept"]
    console.print(f"pairs kept: {kept}; candidates scored: {summary.funnel['candidates']}; "
                  f"kept pairs/s: {kept / sum(summary.seconds.values()):.2f}")

    catalog = source.catalog()
    texts = [(q, catalog.text(pid)) for q, pid in pairs]
    logits = GeneralRelevanceFilter(make_scorer(config.general))
    generate = GeneralRelevanceFilter(mode="generate", lm=make_lm(config.general, max_tokens=4))
    logits.p_yes(texts[:4])  # warm both paths (model load)
    generate.p_yes(texts[:4])
    t0 = time.perf_counter()
    logits.p_yes(texts)
    t_logits = time.perf_counter() - t0
    t0 = time.perf_counter()
    generate.p_yes(texts)
    t_generate = time.perf_counter() - t0
    console.print(
        f"scoring {len(texts)} pairs: logits {len(texts) / t_logits:.1f} pairs/s, "
        f"generate-and-parse {len(texts) / t_generate:.1f} pairs/s, ratio {t_generate / t_logits:.1f}x"
    )
    if args.relevance_model:
        other = GeneralRelevanceFilter(make_scorer(LMConfig(model=args.relevance_model)))
        other.p_yes(texts[:4])
        t0 = time.perf_counter()
        other.p_yes(texts)
        t_other = time.perf_counter() - t0
        console.print(f"{args.relevance_model}: {len(texts) / t_other:.1f} pairs/s, "
                      f"{t_logits / t_other:.1f}x the LM logit path")


if __name__ == "__main__":
    main()
