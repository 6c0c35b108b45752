"""Is the baseline starved? The baseline recipe of a finished run retrained with more steps, its dev
curve and its test Item Goodrate beside the run's own two recipes.

    python benchmarks/baseline_budget.py --config examples/paper.toml --steps 600

The run's retrievers decay the learning rate linearly to 0 at their last step, which flattens any
dev curve at its end; this trains the same baseline (same data, batch, learning rate, seed, schedule
shape) for ``--steps`` steps with the dev curve of ``[retriever] dev_every`` and evaluates it on the
run's test queries exactly as the run's evaluate stage does. Nothing is chosen on the test numbers;
they say whether the run's gain survives a baseline given twice the steps. Writes ``report.md`` and
``report.json`` under ``--out``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(ROOT / "examples" / "paper.toml"))
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--out", default=str(ROOT / "results" / "baseline_budget"))
    args = parser.parse_args()

    from tailsynth.evals.retrieval_eval import evaluate_retriever
    from tailsynth.io.loaders import QrelsJudge
    from tailsynth.retrieval.trainer import train_retriever
    from tailsynth.runner import pipeline
    from tailsynth.runner.evaluate import typed_test_queries

    config = pipeline.load_run_config(args.config)
    _, data = pipeline.make_plan(config)
    keys = pipeline.stage_keys(config)
    out = Path(args.out)
    cfg = dataclasses.replace(pipeline.retriever_config(config), recipe="baseline", steps=args.steps,
                              out_dir=str(pipeline.work_dir(config) / f"baseline-budget-{keys.retrievers}-{args.steps}"))
    longer = train_retriever(cfg, data.baseline_pairs, dev_metric=pipeline.dev_curve(config, data))
    queries, _ = typed_test_queries(config, data)
    judge = QrelsJudge(data.qrels, config.data.qrels.min_grade)
    index_dir = pipeline.work_dir(config) / "indexes"
    models = {f"baseline, {args.steps} steps": longer, **{f"{recipe}, {config.retriever.steps} steps": path
                                                          for recipe, path in pipeline.retriever_paths(config, keys).items()}}
    test = {name: evaluate_retriever(path, data.catalog, queries, judge, config.eval.k, index_dir=index_dir)
            for name, path in models.items()}
    curves = {name: json.loads((Path(path) / "tailsynth_train.json").read_text()).get("dev_curve", [])
              for name, path in models.items()}
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps({"config": args.config, "test": test, "dev_curves": curves}, indent=2))
    types = [t for t in test[next(iter(test))] if t != "all"] + ["all"]
    shown = Path(args.config).resolve()
    shown = shown.relative_to(ROOT) if shown.is_relative_to(ROOT) else shown
    lines = ["# Is the baseline starved? A longer baseline beside the run's recipes", "",
             f"Command: `python benchmarks/baseline_budget.py --config {shown} --steps {args.steps}`", "",
             f"## Test Item Goodrate@{config.eval.k} ({len(queries)} test queries)", "",
             "| model | " + " | ".join(types) + " |", "| --- |" + " ---: |" * len(types)]
    lines += [f"| {name} | " + " | ".join(f"{100 * r[t]['item_goodrate']:.2f}" for t in types) + " |" for name, r in test.items()]
    metric = next((k for c in curves.values() for p in c for k in p if k != "step"), None)
    if metric:
        lines += ["", f"## Dev curve ({metric}, judged dev queries of the chain's source)", ""]
        for name, points in curves.items():
            lines.append(f"- {name}: " + ", ".join(f"step {p['step']} {100 * p[metric]:.2f}" for p in points))
    (out / "report.md").write_text("\n".join(lines) + "\n")
    print((out / "report.md").read_text())


if __name__ == "__main__":
    main()
