"""Table 2: accuracy of the synthesized pairs per query type, with the synthesis funnel and the
business-model failure mode the general filter exists for (paper §2.2, §3.2).

``run_table2(source, store, config, per_type)`` synthesizes pairs for ``per_type`` test queries of
each type, then ``table2_metrics`` computes per type (and ``all``):

- ``pair_accuracy`` of the kept pairs against the source's judge (the ground truth on the demo
  world, the qrels on your files), and
  ``business_pass_accuracy``: the accuracy of what the business model alone let through (the
  pairs the general filter scored), so the general filter's contribution is visible;
- the funnel: rewrites generated / dropped by the rewrite filter, candidates per query, business
  passes, general-filter removals, pairs kept;
- ``calls_saved``: relevance-model calls the rewrite filter saved = candidates the dropped
  rewrites alone would have added. With the program's index (``run_table2`` has it) this is
  exact: the dropped rewrites are retrieved (top-k each) and products not already among the
  query's candidates are counted (each would have cost a business-model call, and the survivors
  general-LM calls). Without an index it is estimated as dropped rewrites × the mean number of
  candidates a kept generated rewrite contributed uniquely (``candidates.rewrite_rank``), and the
  metric is named ``calls_saved_est``.

``business_false_positives`` lists pairs the business model scored at or above the threshold
that the judge says are irrelevant, their query/title word overlap (the lexical-overlap false
positives of the paper's "power station" example), and how many the general filter removed.
Results go to ``eval_results`` (suite ``table2``, system ``synthesis``), a rich table and a PNG.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

from tailsynth.evals.plots import pyplot, save_figure
from tailsynth.evals.pairs import Judge, pair_accuracy
from tailsynth.store import Store, reads
from tailsynth.store.reads import FUNNEL_COLUMNS

SUITE = "table2"
SYSTEM = "synthesis"
QTYPES = ("qa", "alternative", "negative", "knowledge")
TITLES = {"qa": "Q&A", "alternative": "Alternative", "negative": "Negative", "knowledge": "Knowledge", "all": "All"}
PAPER_ACCURACY = {"qa": 0.906, "alternative": 0.645, "negative": 0.816, "knowledge": 0.860}
STOPWORDS = frozenset("a an and the for of to in on with without not non no is are be do does i my me what how "
                      "that this it can than but cheaper best buy need".split())


def _types(keys) -> list[str]:
    return [q for q in QTYPES if q in keys] + sorted(k for k in keys if k not in QTYPES and k != "all") + ["all"]


def funnel_by_type(store: Store, run_id: str) -> dict[str, dict[str, float]]:
    names = FUNNEL_COLUMNS
    out = {(qtype or "unknown"): {n: float(v) for n, v in m.items()} for qtype, m in reads.funnel_by_type(store, run_id).items()}
    out["all"] = {n: sum(v[n] for v in out.values()) for n in names}
    for m in out.values():
        m["rewrite_drop_rate"] = m["rewrites_dropped"] / m["rewrites"] if m["rewrites"] else float("nan")
        m["candidates_per_query"] = m["candidates"] / m["queries"] if m["queries"] else float("nan")
        m["pairs_per_query"] = m["pairs_kept"] / m["queries"] if m["queries"] else float("nan")
    return out


def business_pass_accuracy(store: Store, run_id: str, judge: Judge) -> dict[str, float]:
    """Accuracy of the pairs the general filter scored (= business-model survivors it saw)."""
    from tailsynth.evals.pairs import pair_accuracy

    return {k: v["pair_accuracy"] for k, v in pair_accuracy(store, run_id, judge, pairs="general_scored").items()}


def calls_saved(store: Store, run_id: str, index=None, top_k: int | None = None) -> tuple[str, dict[str, float]]:
    """(metric name, per type): candidates the dropped rewrites alone would have added (see module doc)."""
    dropped = store.fetch("SELECT q.qtype, r.query_id, r.rewrite FROM rewrites r JOIN queries q USING (run_id, query_id) "
                          "WHERE r.run_id = ? AND r.rank > 0 AND r.kept = false ORDER BY r.query_id, r.rank", [run_id])
    out: dict[str, float] = defaultdict(float)
    for (qtype,) in store.fetch("SELECT DISTINCT qtype FROM queries WHERE run_id = ?", [run_id]):
        out[qtype or "unknown"] = 0.0
    out["all"] = 0.0
    if index is not None:
        groups: dict[str, list[str]] = defaultdict(list)
        qtypes: dict[str, str] = {}
        for qtype, qid, rewrite in dropped:
            groups[qid].append(rewrite)
            qtypes[qid] = qtype or "unknown"
        order = list(groups)
        if top_k is None:
            top_k = reads.top_k(store, run_id)
        results = index.search_union([groups[q] for q in order], k=top_k) if order else []
        for qid, hits in zip(order, results):
            have = {r[0] for r in store.fetch("SELECT product_id FROM candidates WHERE run_id = ? AND query_id = ?", [run_id, qid])}
            new = sum(1 for h in hits if h["product_id"] not in have)
            out[qtypes[qid]] += new
            out["all"] += new
        return "calls_saved", dict(out)
    credited = store.fetch(
        "SELECT count(*), count(DISTINCT (c.query_id, c.rewrite_rank)) FROM candidates c WHERE c.run_id = ? AND c.rewrite_rank > 0", [run_id])[0]
    per_rewrite = credited[0] / credited[1] if credited[1] else 0.0
    for qtype, _, _ in dropped:
        out[qtype or "unknown"] += per_rewrite
        out["all"] += per_rewrite
    return "calls_saved_est", dict(out)


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9]+", text.lower()) if len(w) > 2 and w not in STOPWORDS}


@dataclass
class FalsePositive:
    query_id: str
    query: str
    product_id: str
    product: str
    business_score: float
    general_p_yes: float | None
    removed: bool
    overlap: list[str]


def business_false_positives(store: Store, run_id: str, judge: Judge, product_text: Callable[[str], str],
                             min_score: float | None = None, examples: int = 8) -> tuple[dict[str, float], list[FalsePositive]]:
    """Pairs with business_score >= ``min_score`` (default: the run's business threshold) that the
    general filter scored and the judge says are irrelevant: counts per type, how many share words
    with the query, how many the general filter removed, and the highest-scored examples."""
    if min_score is None:
        min_score = reads.business_threshold(store, run_id)
    rows = store.fetch(
        "SELECT q.qtype, p.query_id, q.text, p.product_id, p.business_score, p.general_p_yes, p.kept FROM pairs p "
        "JOIN queries q USING (run_id, query_id) WHERE p.run_id = ? AND p.business_score >= ? AND p.general_p_yes IS NOT NULL "
        "ORDER BY p.business_score DESC, p.query_id, p.product_id", [run_id, min_score])
    by_q: dict[str, list[tuple]] = defaultdict(list)
    for row in rows:
        by_q[row[1]].append(row)
    stats: dict[str, float] = defaultdict(float)
    fps: list[FalsePositive] = []
    true_removed = 0
    for qid, group in by_q.items():
        verdicts = judge(qid, [r[3] for r in group])
        for (qtype, _, qtext, pid, bs, py, kept), good in zip(group, verdicts):
            if good:
                true_removed += not kept
                continue
            text = product_text(pid)
            overlap = sorted(_words(qtext) & _words(text))
            fps.append(FalsePositive(qid, qtext, pid, text, float(bs), None if py is None else float(py), not kept, overlap))
    stats["scored"] = float(len(rows))
    stats["false_positives"] = float(len(fps))
    stats["fp_rate"] = len(fps) / len(rows) if rows else float("nan")
    stats["fp_lexical_overlap"] = float(sum(1 for f in fps if f.overlap))
    stats["fp_removed_by_general"] = float(sum(f.removed for f in fps))
    stats["fp_removed_rate"] = stats["fp_removed_by_general"] / len(fps) if fps else float("nan")
    stats["fp_lexical_removed"] = float(sum(1 for f in fps if f.overlap and f.removed))
    stats["true_pairs_removed_by_general"] = float(true_removed)
    fps.sort(key=lambda f: (-f.business_score, f.query_id, f.product_id))
    shown = [f for f in fps if f.overlap][:examples] or fps[:examples]
    return dict(stats), shown


def table2_metrics(store: Store, run_id: str, judge: Judge, index=None, top_k: int | None = None) -> dict[str, dict[str, float]]:
    funnel = funnel_by_type(store, run_id)
    acc = pair_accuracy(store, run_id, judge)
    bacc = business_pass_accuracy(store, run_id, judge)
    name, saved = calls_saved(store, run_id, index, top_k)
    for qtype, m in funnel.items():
        m["pair_accuracy"] = acc.get(qtype, {}).get("pair_accuracy", float("nan"))
        m["business_pass_accuracy"] = bacc.get(qtype, float("nan"))
        m[name] = saved.get(qtype, 0.0)
    return funnel


def render_table2(results: dict[str, dict[str, float]], title: str = "Table 2: accuracy assessment of synthesized data") -> Table:
    types = _types(results)
    table = Table(title=title)
    table.add_column("")
    for q in types:
        table.add_column(TITLES.get(q, q), justify="right")
    saved = "calls_saved" if "calls_saved" in results["all"] else "calls_saved_est"
    rows = [
        ("Accuracy", "pair_accuracy", "{:.1%}"),
        ("paper (human)", None, "{:.1%}"),
        ("business-only acc.", "business_pass_accuracy", "{:.1%}"),
        ("queries", "queries", "{:.0f}"),
        ("rewrites", "rewrites", "{:.0f}"),
        ("rewrites dropped", "rewrites_dropped", "{:.0f}"),
        ("candidates / query", "candidates_per_query", "{:.1f}"),
        ("business pass", "business_pass", "{:.0f}"),
        ("general removed", "general_removed", "{:.0f}"),
        ("pairs kept", "pairs_kept", "{:.0f}"),
        ("pairs / query", "pairs_per_query", "{:.1f}"),
        ("calls saved" + (" (est.)" if saved.endswith("est") else ""), saved, "{:.0f}"),
    ]
    for label, key, fmt in rows:
        if key is None:
            table.add_row(label, *[fmt.format(PAPER_ACCURACY[q]) if q in PAPER_ACCURACY else "" for q in types], style="dim")
        else:
            table.add_row(label, *[fmt.format(results[q].get(key, float("nan"))) for q in types])
    return table


def plot_funnel(results: dict[str, dict[str, float]], path: str | Path) -> Path:
    plt = pyplot()
    import numpy as np

    types = [q for q in _types(results) if q != "all"]
    stages = [("rewrites", "rewrites"), ("kept rewrites", None), ("candidates", "candidates"),
              ("business pass", "business_pass"), ("general scored", "general_scored"), ("pairs kept", "pairs_kept")]
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(11, 3.8), gridspec_kw={"width_ratios": [3, 1]})
    width = 0.8 / max(1, len(types))
    x = np.arange(len(stages))
    for i, q in enumerate(types):
        m = results[q]
        vals = [m["rewrites"] - m["rewrites_dropped"] if key is None else m[key] for _, key in stages]
        ax.bar(x + i * width, [max(v, 0.5) for v in vals], width, label=TITLES.get(q, q))
    ax.set_yscale("log")
    ax.set_xticks(x + width * (len(types) - 1) / 2, [s for s, _ in stages], fontsize=8)
    ax.set_title("synthesis funnel per query type", fontsize=10)
    ax.legend(fontsize=8)
    ax2.bar([TITLES.get(q, q) for q in types], [results[q]["pair_accuracy"] for q in types], color="tab:green", label="ours")
    ax2.scatter([TITLES.get(q, q) for q in types if q in PAPER_ACCURACY], [PAPER_ACCURACY[q] for q in types if q in PAPER_ACCURACY],
                color="black", marker="_", s=300, label="paper")
    ax2.set_ylim(0, 1)
    ax2.set_title("pair accuracy", fontsize=10)
    ax2.tick_params(labelsize=7)
    ax2.legend(fontsize=7)
    return save_figure(fig, path, dpi=90)


def store_table2(store: Store, run_id: str, results: dict[str, dict[str, float]], fp_stats: dict[str, float] | None = None) -> None:
    rows = [(run_id, SUITE, SYSTEM, q, k, float(v)) for q, m in results.items() for k, v in m.items()]
    rows += [(run_id, SUITE, "business_false_positives", "all", k, float(v)) for k, v in (fp_stats or {}).items()]
    store.insert("eval_results", rows)


def report_table2(store: Store, run_id: str, judge: Judge, product_text: Callable[[str], str], index=None,
                  out_dir: str | Path | None = None, console: Console | None = None, examples: int = 6,
                  top_k: int | None = None) -> dict:
    """Compute, print, store and plot Table 2 for an existing synthesis run (``top_k``: the run's
    own, read from the store when not given)."""
    console = console or Console()
    results = table2_metrics(store, run_id, judge, index, top_k)
    fp_stats, fps = business_false_positives(store, run_id, judge, product_text, examples=examples)
    store_table2(store, run_id, results, fp_stats)
    console.print(render_table2(results, title=f"Table 2: accuracy of synthesized data (run {run_id})"))
    console.print(
        f"business-model false positives among the pairs the general filter saw: {fp_stats['false_positives']:.0f} of "
        f"{fp_stats['scored']:.0f}; {fp_stats['fp_lexical_overlap']:.0f} share words with the query; the general filter "
        f"removed {fp_stats['fp_removed_by_general']:.0f} of them ({fp_stats['fp_lexical_removed']:.0f} lexical), and "
        f"{fp_stats['true_pairs_removed_by_general']:.0f} true pairs")
    if fps:
        t = Table(title="business model high, world says irrelevant")
        for col in ("query", "product", "business", "p_yes", "removed", "overlap"):
            t.add_column(col, overflow="fold")
        for f in fps:
            t.add_row(f.query, f.product[:80], f"{f.business_score:.2f}", "" if f.general_p_yes is None else f"{f.general_p_yes:.2f}",
                      "yes" if f.removed else "no", " ".join(f.overlap))
        console.print(t)
    png = plot_funnel(results, Path(out_dir or ".") / f"table2-{run_id}.png") if out_dir is not None else None
    return {"run_id": run_id, "results": results, "business_false_positives": fp_stats,
            "examples": [f.__dict__ for f in fps], "png": None if png is None else str(png)}


def run_table2(source, store: Store, config=None, per_type: int = 10, run_id: str | None = None,
               out_dir: str | Path | None = "reports", program=None, split: str = "test", progress: bool = True,
               console: Console | None = None) -> dict:
    """Synthesize ``per_type`` queries of each type of the source's ``split`` (or resume ``run_id``),
    then ``report_table2`` against its judgements. ``program`` overrides the one built from
    ``config`` (e.g. filters carrying optimized demos or fine-tuned scorers)."""
    import time

    from tailsynth.config import SynthesisConfig
    from tailsynth.programs.for_source import source_program
    from tailsynth.sources import as_source

    config = config or SynthesisConfig()
    source = as_source(source)
    queries = source.require("queries", split, limit=per_type)
    judge = source.require("judgements").judge
    if program is None:
        program = source_program(source, config)
    start = time.time()
    summary = program.run(queries, store, run_id=run_id, progress=progress)
    synth_s = time.time() - start
    report = report_table2(store, summary.run_id, judge, source.catalog().text, index=program.index,
                           top_k=program.config.top_k, out_dir=out_dir, console=console)
    report.update(synthesis_seconds=synth_s, stage_seconds=summary.seconds, funnel=summary.funnel)
    return report
