"""Table 3: rewriter variants compared on the same test queries (paper §3, Table 3).

For each variant (zero-shot, SFT, RL w/o PDA, RL w/ PDA) and query type: rewrite accuracy (the
share of rewrites the world's ground truth labels relevant), the median PPL of the rewrites under
the PDA LM (product-language alignment; the median because a few odd rewrites of 3-6 tokens
reach PPLs of 10^5-10^6 and would decide a mean), and the Item Goodrate of the products the rewrites
retrieve (top-200 per rewrite, judged by the ground truth).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tailsynth.evals.plots import pyplot, save_figure
from tailsynth.evals.metrics import item_goodrate


@dataclass
class Table3Config:
    variants: dict[str, str | None] = field(default_factory=dict)
    """name → rewriter model dir (None = the packaged zero-shot SmolLM2)."""
    pda_model: str | None = None
    per_type: int = 10
    k: int = 5
    top_k: int = 200
    few_shot: bool = True
    """Give the untrained packaged model (variant model None) the few-shot demos; trained variants
    get the zero-shot prompt they were trained on."""


def evaluate_rewriters(source, config: Table3Config, store=None, run_id: str = "table3") -> dict[str, dict[str, dict[str, float]]]:
    """variant → qtype ('all' too) → {rewrite_accuracy, ppl, item_goodrate, rewrites_per_query}.
    Needs the source's test queries, judgements and rewrite labeler (the demo world has them)."""
    from tailsynth.programs.for_source import source_index
    from tailsynth.programs.rewriter import Rewriter, numbered_lists
    from tailsynth.serving.local_scorer import LocalScorer
    from tailsynth.serving.transformers_lm import TransformersLM
    from tailsynth.sources import as_source

    source = as_source(source)
    queries = source.require("queries", "test", limit=config.per_type)
    judge = source.require("judgements").judge
    rewrite_label = source.require("rewrite_labeler")
    index = source_index(source)
    pda = LocalScorer(config.pda_model)
    results: dict[str, dict[str, dict[str, float]]] = {}
    for name, model in config.variants.items():
        rewriter = Rewriter(k=config.k, lm=TransformersLM(model), numbered=numbered_lists(model))
        if config.few_shot and model is None:  # trained variants saw the zero-shot prompt in training
            rewriter.predict.demos = source.rewrite_demos() or []
        outputs = rewriter.batch_rewrite([q["text"] for q in queries])
        flat = [(q, r) for q, rs in zip(queries, outputs) for r in rs]
        ppl = pda.perplexity([r for _, r in flat]) if flat else np.zeros(0)
        hits = index.search([r for _, r in flat], k=config.top_k) if flat else []
        per: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
        for q, rs in zip(queries, outputs):
            for key in (q["qtype"], "all"):
                per[key]["queries"].append(len(rs))
        for (q, rewrite), p, hit in zip(flat, ppl, hits):
            judged = judge(q["query_id"], [pid for pid, _ in hit])
            for key in (q["qtype"], "all"):
                per[key]["relevant"].append(rewrite_label(q["query_id"], rewrite) == "relevant")
                per[key]["ppl"].append(float(p))
                per[key]["judged"].append(judged)
        results[name] = {
            qtype: {
                "rewrite_accuracy": float(np.mean(v["relevant"])) if v["relevant"] else 0.0,
                "ppl": float(np.median(v["ppl"])) if v["ppl"] else float("nan"),
                "item_goodrate": item_goodrate(v["judged"]) if v["judged"] else 0.0,
                "rewrites_per_query": float(np.mean(v["queries"])),
            }
            for qtype, v in per.items()
        }
        if store is not None:
            store.insert("eval_results", [(run_id, "table3", name, qt, m, val) for qt, ms in results[name].items() for m, val in ms.items()])
            store.insert("eval_query_results", _per_query_rows(run_id, name, queries, outputs, rewrite_label))
    return results


def _per_query_rows(run_id: str, variant: str, queries: list[dict], outputs: list[list[str]], rewrite_label) -> list[tuple]:
    """Per query: its rewrites and how many the ground truth calls relevant, so rewrite accuracy
    (pooled over a type's rewrites) gets a bootstrap interval over queries (``accuracy_intervals``)."""
    rows = []
    for q, rs in zip(queries, outputs):
        relevant = sum(rewrite_label(q["query_id"], r) == "relevant" for r in rs)
        rows += [(run_id, "table3", variant, q["query_id"], q["qtype"], "rewrites", float(len(rs))),
                 (run_id, "table3", variant, q["query_id"], q["qtype"], "relevant_rewrites", float(relevant))]
    return rows


def accuracy_intervals(store, run_id: str) -> dict[str, dict[str, dict]]:
    """``{variant: {qtype: Interval.as_dict()}}``: rewrite accuracy (relevant / all rewrites, pooled)
    with its bootstrap 95 % interval, queries resampled whole; ``all`` too. A type whose queries
    wrote no rewrite has no interval."""
    from tailsynth.evals.bootstrap import bootstrap_ratio

    per: dict[str, dict[str, dict[str, list[float]]]] = defaultdict(lambda: defaultdict(lambda: defaultdict(list)))
    for variant, qtype, rewrites, relevant in store.fetch(
            "SELECT system, qtype, max(value) FILTER (WHERE metric = 'rewrites'), "
            "max(value) FILTER (WHERE metric = 'relevant_rewrites') FROM eval_query_results "
            "WHERE run_id = ? AND suite = 'table3' GROUP BY system, query_id, qtype ORDER BY system, query_id", [run_id]):
        for key in (qtype, "all"):
            per[variant][key]["num"].append(relevant)
            per[variant][key]["den"].append(rewrites)
    return {variant: {qtype: bootstrap_ratio(v["num"], v["den"]).as_dict() for qtype, v in types.items() if sum(v["den"]) > 0}
            for variant, types in per.items()}


def render_table3(results: dict[str, dict[str, dict[str, float]]]):
    from rich.table import Table

    table = Table(title="Table 3: rewriter variants (all query types)")
    for col in ("variant", "rewrite acc", "median PPL (PDA LM)", "Item Goodrate", "rewrites/query"):
        table.add_column(col, justify="right")
    for name, per in results.items():
        a = per.get("all", {})
        table.add_row(name, f"{a.get('rewrite_accuracy', 0):.1%}", f"{a.get('ppl', float('nan')):.0f}",
                      f"{a.get('item_goodrate', 0):.1%}", f"{a.get('rewrites_per_query', 0):.2f}")
    return table


def plot_table3(results: dict[str, dict[str, dict[str, float]]], path: str | Path) -> Path:
    plt = pyplot()

    names = list(results)
    metrics = ("rewrite_accuracy", "item_goodrate", "ppl")
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.5))
    for ax, metric in zip(axes, metrics):
        ax.bar(names, [results[n].get("all", {}).get(metric, 0.0) for n in names], color="#4c72b0")
        ax.set_title("median PPL under the PDA LM (lower: more product-like)" if metric == "ppl" else metric.replace("_", " "),
                     fontsize=9)
        if metric == "ppl":
            ax.set_yscale("log")
        ax.tick_params(axis="x", rotation=20)
    return save_figure(fig, path, dpi=120)
