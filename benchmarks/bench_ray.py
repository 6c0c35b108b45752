"""Ray engine scaling on the demo world, and a projection to the paper's scale (400K queries → 20M pairs).

    python benchmarks/bench_ray.py --per-type 2 [--business-model DIR]

Runs the same demo-world queries with the local engine, then the Ray engine with 1 and 2 actors per
stage (a local Ray cluster on this machine), and prints pairs/s (kept pairs, and candidates scored)
and the ratios to the local engine, all measured in this run. From the local run's per-stage
seconds and funnel it derives the CPU cost per item of each stage, scales the items to 400K
queries, and sets them next to the GPU throughputs measured in benchmarks/results/gpu_h100.md:
worker-hours per stage and the bottleneck. Output: benchmarks/results/ray_scaling.{md,json}.
Model loading is included in the Ray wall times (each actor loads its stage's models once) and
excluded from the local per-stage seconds; both are printed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import tailsynth  # noqa: F401
from tailsynth.config import SynthesisConfig
from tailsynth.engines import EngineConfig, run_synthesis
from tailsynth.store import Store

PAPER_QUERIES, PAPER_PAIRS = 400_000, 20_000_000
GPU = {  # per-item throughput on one H100 (benchmarks/results/gpu_h100.md), items per second
    "rewrite": 1 / 0.0704,  # queries/s: qwen2-0.5B, 32 queries × 5 rewrites per generate call
    "filter": 2_495,  # (query, rewrite) judgements/s: yes/no-style logit scoring, shared-prefix KV cache, 0.5B
    "retrieve": 19_712,  # rewrites encoded/s: BERT-base bf16 (the FAISS/torch search is 114K q/s, not the limit)
    "business": 19_712 / 2,  # pairs/s: a BERT-size cross-encoder on query+product (~2× the tokens of a sentence)
    "general": 2_495,  # (query, product) p_yes/s: shared-prefix KV cache, 0.5B
}
ITEM = {"rewrite": "queries", "filter": "rewrites", "retrieve": "rewrites_kept", "business": "candidates",
        "general": "general_scored"}


def _business_model(world, path: str | None) -> str:
    if path:
        return path
    from tailsynth.demo import ensure_business_model
    from tailsynth.paths import cache_dir

    return str(ensure_business_model(world, cache_dir() / "models" / "business-relevance-bench", max_examples=512))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-type", type=int, default=2)
    parser.add_argument("--business-model", default=None)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--num-cpus", type=int, default=2)
    parser.add_argument("--business-threshold", type=float, default=0.1,
                        help="low, so the small bench cross-encoder lets candidates reach the general filter")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/ray_scaling"))
    args = parser.parse_args()
    import ray

    from tailsynth.demo import demos_for, world_catalog
    from tailsynth.programs.build import ProgramSpec
    from tailsynth.world import load_world

    world = load_world()
    config = SynthesisConfig(business_model=_business_model(world, args.business_model), k=3, top_k=50,
                             max_general_per_query=8, chunk_size=2,
                             business_threshold=args.business_threshold)
    spec = ProgramSpec(config, world_catalog(world), rewrite_demos=demos_for(world, config))
    queries = world.query_rows("test", limit=args.per_type)
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        program = spec.program()
        load_s = time.perf_counter() - started
        with Store(Path(tmp) / "local.duckdb") as store:
            started = time.perf_counter()
            local = program.run(queries, store, run_id="bench", progress=False)
            wall = time.perf_counter() - started
        runs.append({"engine": "local", "workers": 1, "wall_s": wall, "model_load_s": load_s, "funnel": local.funnel,
                     "stage_s": local.seconds})
        del program
        ray.init(num_cpus=args.num_cpus, include_dashboard=False, address="local", log_to_driver=False)
        for n in args.workers:
            started = time.perf_counter()
            summary = run_synthesis(spec, queries, Path(tmp) / f"ray{n}", EngineConfig(kind="ray", num_workers=n),
                                    run_id="bench", progress=False)
            runs.append({"engine": "ray", "workers": n, "wall_s": time.perf_counter() - started,
                         "model_load_s": None, "funnel": summary.funnel, "same_funnel_as_local": summary.funnel == local.funnel})
        ray.shutdown()
    for r in runs:
        r["pairs_per_s"] = r["funnel"]["pairs_kept"] / r["wall_s"]
        r["candidates_per_s"] = r["funnel"]["candidates"] / r["wall_s"]
        r["ratio_vs_local"] = runs[0]["wall_s"] / r["wall_s"]

    funnel, seconds = local.funnel, local.seconds
    n_q = funnel["queries"]
    projection = []
    for stage, item in ITEM.items():
        per_query = funnel[item] / n_q
        cpu_per_item = seconds[stage] / max(1, funnel[item])
        items = per_query * PAPER_QUERIES
        projection.append({"stage": stage, "item": item, "items_per_query": per_query, "cpu_s_per_item": cpu_per_item,
                           "paper_items": items, "cpu_worker_hours": items * cpu_per_item / 3600,
                           "gpu_items_per_s": GPU[stage], "gpu_hours": items / GPU[stage] / 3600})
    cpu_bottleneck = max(projection, key=lambda p: p["cpu_worker_hours"])["stage"]
    gpu_bottleneck = max(projection, key=lambda p: p["gpu_hours"])["stage"]
    command = "python " + " ".join(sys.argv)
    conditions = (f"{os.cpu_count()} CPU cores shared with other jobs (load average {os.getloadavg()[0]:.1f} at the end), "
                  f"Ray local cluster num_cpus={args.num_cpus}, {len(queries)} demo test queries, k=3, top_k=50, "
                  f"max_general_per_query=8, business_threshold={args.business_threshold}, packaged SmolLM2-135M (rewriter, both filters), MiniLM encoder, "
                  "a MiniLM cross-encoder trained on 512 world pairs")
    result = {"command": command, "conditions": conditions, "runs": runs, "projection": projection,
              "cpu_bottleneck": cpu_bottleneck, "gpu_bottleneck": gpu_bottleneck,
              "paper": {"queries": PAPER_QUERIES, "pairs": PAPER_PAIRS}}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(result, indent=2))
    lines = ["# Ray engine scaling and projection to the paper's scale", "", f"Command: `{command}`", "",
             f"Conditions: {conditions}.", "",
             "| engine | actors/stage | wall s | kept pairs | kept pairs/s | candidates/s | × local | same funnel |",
             "|---|---:|---:|---:|---:|---:|---:|---|"]
    for r in runs:
        lines.append(f"| {r['engine']} | {r['workers']} | {r['wall_s']:.1f} | {r['funnel']['pairs_kept']} | "
                     f"{r['pairs_per_s']:.3f} | {r['candidates_per_s']:.2f} | {r['ratio_vs_local']:.2f} | "
                     f"{r.get('same_funnel_as_local', '')} |")
    lines += ["", f"Local engine model loading (excluded from its wall s): {runs[0]['model_load_s']:.1f} s; "
              "Ray wall s include every actor loading its models.", "",
              f"## Projection to {PAPER_QUERIES:,} queries (the paper: {PAPER_PAIRS:,} pairs)", "",
              "Items per query from this run's funnel; CPU s/item from the local run's per-stage seconds (one process, "
              "2 shared cores); GPU items/s from benchmarks/results/gpu_h100.md (H100, qwen2-0.5B / BERT-base, HF "
              "transformers, not vLLM).", "",
              "| stage | item | items/query | CPU s/item | items at 400K queries | CPU worker-hours | GPU items/s | GPU hours |",
              "|---|---|---:|---:|---:|---:|---:|---:|"]
    for p in projection:
        lines.append(f"| {p['stage']} | {p['item']} | {p['items_per_query']:.1f} | {p['cpu_s_per_item']:.4f} | "
                     f"{p['paper_items']:,.0f} | {p['cpu_worker_hours']:,.0f} | {p['gpu_items_per_s']:,.0f} | {p['gpu_hours']:,.1f} |")
    lines += ["", f"Bottleneck on CPU workers: **{cpu_bottleneck}**; on GPU: **{gpu_bottleneck}**."]
    args.out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
