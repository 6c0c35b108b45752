"""Rewrite accuracy with fixed vs nearest few-shot demos, on a run config's training queries.

    python benchmarks/rewrite_demos.py --config examples/paper_small.toml --out results/rewrite_demos

For the packaged zero-shot SmolLM2 and for the run's trained rewriters (SFT and RL w/ PDA, when
``tailsynth run --config ...`` has trained them), each training query is rewritten twice: with the
rewriter's usual prompt (the fixed demos for the packaged model, none for a fine-tuned one, as
synthesis runs them) and with its ``--demos`` nearest annotated examples from the chain source's
pool (``programs.demos.NearestDemos``; a demo chain's pool leaves the run's training queries out).
Each rewrite is labelled by the source's rewrite labeler (the demo world's truth). Writes
``report.md`` and ``report.json`` under ``--out``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(ROOT / "examples" / "paper_small.toml"))
    parser.add_argument("--out", default=str(ROOT / "results" / "rewrite_demos"))
    parser.add_argument("--demos", type=int, default=3)
    parser.add_argument("--k", type=int, default=5)
    args = parser.parse_args()

    import tailsynth  # noqa: F401 - offline defaults
    from tailsynth.config import LMConfig
    from tailsynth.programs.demos import NearestDemos
    from tailsynth.programs.for_source import rewrite_pool
    from tailsynth.programs.rewriter import Rewriter, numbered_lists
    from tailsynth.retrieval.encoder import Encoder
    from tailsynth.runner import chain as chain_mod
    from tailsynth.runner import pipeline
    from tailsynth.runner.config import load_run_config
    from tailsynth.serving import make_lm

    config = load_run_config(args.config)
    _, data = pipeline.make_plan(config)
    queries = pipeline.train_queries(config, data)
    source = chain_mod.chain_source(config)
    label = source.require("rewrite_labeler")
    pool = rewrite_pool(source, args.k)
    nearest = NearestDemos(pool, Encoder(config.models.encoder).encode, args.demos)
    chain = chain_mod.resolve(config)
    fixed_demos = (source.rewrite_demos() or [])[: config.synthesis.rewrite_demos]
    rewriters = {"packaged zero-shot": None}
    rewriters |= {name: chain[s].path for s, name in (("sft", "SFT"), ("rl", "RL w/ PDA")) if chain_mod.done(chain[s])}

    rows = []
    for name, model in rewriters.items():
        lm = make_lm(LMConfig(model=model))
        for demos in ("usual", "nearest"):
            rewriter = Rewriter(k=args.k, lm=lm, max_tokens=config.synthesis.rewrite_max_tokens,
                                numbered=numbered_lists(model), demo_picker=nearest if demos == "nearest" else None)
            if demos == "usual" and model is None:
                rewriter.predict.demos = list(fixed_demos)
            start = time.time()
            outs = rewriter.batch_rewrite([q["text"] for q in queries])
            labels = Counter(label(q["query_id"], r) for q, out in zip(queries, outs) for r in out)
            by_type: dict[str, Counter] = {}
            for q, out in zip(queries, outs):
                by_type.setdefault(q["qtype"], Counter()).update(label(q["query_id"], r) for r in out)
            n = sum(labels.values())
            rows.append({"rewriter": name, "model": model, "demos": demos, "queries": len(queries), "rewrites": n,
                         "per_query": round(n / max(1, len(queries)), 2), "relevant": labels["relevant"],
                         "accuracy": round(labels["relevant"] / n, 3) if n else 0.0, "labels": dict(labels),
                         "relevant_by_type": {t: f"{c['relevant']}/{sum(c.values())}" for t, c in sorted(by_type.items())},
                         "seconds": round(time.time() - start, 1),
                         "example": {"query": queries[0]["text"], "rewrites": outs[0]}})
            print(f"{name:20s} {demos:8s} {n:4d} rewrites, {labels['relevant']} relevant ({rows[-1]['accuracy']:.1%})", flush=True)

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps({"config": args.config, "pool": len(pool), "demos": args.demos,
                                                 "rows": rows}, indent=2))
    lines = [f"# Rewrite accuracy: usual prompt vs {args.demos} nearest demos",
             "", f"`python benchmarks/rewrite_demos.py --config {args.config}`: {len(queries)} training queries "
             f"of the run, labelled by the rewrite labeler of the {source.name}; pool of {len(pool)} annotated examples "
             "(the run's training queries left out). \"usual\": the packaged model with its fixed demos, a "
             "fine-tuned rewriter zero-shot, as synthesis runs them without `rewrite_demo_selection = \"nearest\"`. "
             "s: wall seconds of the 20 rewrites on this machine (whatever else it ran).",
             "", "| rewriter | demos | rewrites | per query | relevant | accuracy | relevant by type | s |",
             "| --- | --- | ---: | ---: | ---: | ---: | --- | ---: |"]
    for r in rows:
        types = ", ".join(f"{t} {v}" for t, v in r["relevant_by_type"].items())
        lines.append(f"| {r['rewriter']} | {r['demos']} | {r['rewrites']} | {r['per_query']} | {r['relevant']} | "
                     f"{r['accuracy']:.1%} | {types} | {r['seconds']} |")
    (out / "report.md").write_text("\n".join(lines) + "\n")
    print(f"wrote {out / 'report.md'}")


if __name__ == "__main__":
    main()
