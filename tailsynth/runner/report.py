"""A run's report: ``report_dir/report.md`` (stages with wall times, the chain's models, guard
rails and audit next to Table 1, Tables 1-4, the funnel), PNG charts, and ``report.json`` with
every number of the markdown."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from tailsynth.runner.config import RunConfig

SYSTEMS = ("bm25", "untrained", "baseline", "baseline+synthetic")
SYSTEM_LABELS = {"bm25": "BM25", "untrained": "Untrained encoder", "baseline": "Baseline",
                 "baseline+synthetic": "Baseline + synthetic"}
METRICS = ("item_goodrate", "query_goodrate@10", "query_goodrate@100", "recall@200", "ndcg@10")


@dataclass
class Report:
    name: str
    report_dir: Path
    markdown: Path | None
    stages: dict[str, dict] = field(default_factory=dict)  # stage -> {state: ran|skipped|given|fallback, seconds, key}
    table1: dict = field(default_factory=dict)  # system -> qtype -> metric -> value
    sbs: dict = field(default_factory=dict)  # qtype -> metric -> value
    judge: str = ""
    plan: object | None = None
    details: dict = field(default_factory=dict)


def _shown_path(path: str) -> str:
    """The config path relative to the working directory when it lies below it (the command a reader reruns)."""
    p = Path(path)
    try:
        return str(p.relative_to(Path.cwd()))
    except ValueError:
        return str(p)


def _pct(v) -> str:
    return "n/a" if v is None or v != v else f"{100 * v:.2f}%"


def _num(v) -> str:
    if isinstance(v, float):
        return f"{v:.3f}"
    return str(v)


def _stages(report: Report) -> list[str]:
    lines = ["## Stages", "", "| stage | this invocation | seconds | seconds when it ran | key | note |",
             "| --- | --- | ---: | ---: | --- | --- |"]
    for s, v in report.stages.items():
        ran = v.get("seconds_when_ran", v["seconds"] if v["state"] == "ran" else None)
        lines.append(f"| {s} | {v['state']} | {v['seconds']:.1f} | {'' if ran is None else f'{ran:.1f}'} | "
                     f"`{v.get('key') or ''}` | {v.get('note', '')} |")
    return lines


def _models(d: dict) -> list[str]:
    lines = []
    if d.get("synthesis_models"):
        lines += ["", "## Models the synthesis run used", "", "| role | model |", "| --- | --- |"]
        lines += [f"| {role} | `{mid}` |" for role, mid in d["synthesis_models"].items()]
    for stage, m in (d.get("chain_metrics") or {}).items():
        flat = {k: v for k, v in m.items() if isinstance(v, (int, float, str)) and k != "example"}
        if flat:
            lines += ["", f"**{stage}**: " + ", ".join(f"{k} {_num(v)}" for k, v in sorted(flat.items()))]
    return lines


def _calibration(d: dict) -> list[str]:
    """The operating point chosen on the dev run, and what it kept there per type."""
    c = d.get("calibration")
    if not c:
        return []
    def shown(f: float) -> str:
        return "keep none (target not reached on dev)" if f >= 1.0 else f"{f:.3f}"

    floors = ", ".join(f"{t} {shown(f)}" for t, f in sorted(c["floor_by_type"].items()))
    default = shown(c["floor"])
    where = f"run `{c['run_id']}`, {c['queries']} dev queries, every filter open"
    business = (f"Business threshold {c['business_threshold']:.3f} (recall {c['business_recall']:.2f} of the true dev "
                f"candidates)")
    if c.get("from_run"):  # the other run's dev calibration, applied here with this run's business model
        where = f"in run {c['from_run']}: {where}; applied here with this run's own business model"
        business = (f"Business threshold here {c['business_threshold_here']:.3f} (this run's own model; "
                    f"{c['from_run']} chose {c['business_threshold']:.3f} at recall {c['business_recall']:.2f})")
    if c.get("rule") == "combined":
        rules = c.get("keep_rule_by_type") or {}
        point = ("Kept where the query type's keep rule passes: its retrieval (ann), business (bus) and general "
                 "(gen) scores weighed by a logistic regression on these dev candidates, at the lowest margin down "
                 "to which they stay at the target: " + ("; ".join(f"{t} {_rule(r)}" for t, r in sorted(rules.items()))
                                                         or "no type reached it")
                 + (f"; otherwise {_rule(c['keep_rule'])}" if c.get("keep_rule") else "") + ". "
                 f"{business}, general threshold {c['general_threshold']:.3f}; the retrieval floors (the lowest "
                 f"retrieval score of a dev pair each rule keeps, applied before the models score): "
                 f"{floors or 'none per type'}; otherwise {default}.")
    else:
        point = (f"{business}, general threshold {c['general_threshold']:.3f} (recall {c['general_recall']:.2f} of "
                 f"those passing), retrieval-score floors: {floors or 'none per type'}; otherwise {default}.")
    lines = ["", f"## Operating point chosen on dev ({where})", "", point, "",
             "| type | dev candidates | true | kept | kept true | precision | target reached |",
             "| --- | ---: | ---: | ---: | ---: | ---: | --- |"]
    for t, m in c["dev"].items():
        prec = "n/a" if m["precision"] is None else f"{100 * m['precision']:.1f}%"
        reached = "yes" if c["reached"].get(t) else "no"
        lines.append(f"| {t} | {m['candidates']} | {m['true']} | {m['kept']} | {m['kept_true']} | {prec} | {reached} |")
    if len(c.get("rewriters", {})) > 1:
        lines += ["", f"Rewriter chosen: `{c['rewriter']}`; each rewriter's own dev run (pairs kept at its operating "
                  "point, precision): " + "; ".join(
                      f"`{name}` {r['kept']}, " + ("n/a" if r["precision"] is None else f"{100 * r['precision']:.1f}%")
                      + f" (run `{r['run_id']}`)" for name, r in c["rewriters"].items()) + "."]
    if c["grid"]:
        lines += ["", "Tried (business recall / general recall → dev pairs kept, precision): " + "; ".join(
            f"{g['business_recall']:.2f} / {g['general_recall']:.2f} → {g['kept']}, "
            + ("n/a" if g["precision"] is None else f"{100 * g['precision']:.0f}%") for g in c["grid"]) + "."]
    return lines


def _rule(rule: dict) -> str:
    """A keep rule as its inequality, e.g. ``-3.10 + 4.20 ann - 0.50 bus + 2.90 gen >= 0.41``."""
    w = rule["weights"]
    terms = "".join(f" {'-' if v < 0 else '+'} {abs(v):.2f} {name}" for name, v in
                    (("ann", w["ann_score"]), ("bus", w["business_score"]), ("gen", w["general_p_yes"])))
    return f"{rule['bias']:.2f}{terms} >= {rule['threshold']:.2f}"


def _guards(d: dict) -> list[str]:
    lines = []
    if d.get("guards") is not None:
        from tailsynth.guards.checks import Finding, findings_markdown

        lines += ["", "## Guard rails (before the retrievers train on the pairs)", "",
                  findings_markdown([Finding(**f) for f in d["guards"]])]
    if d.get("audit"):
        lines += ["", "## Kept-pair audit", "", d["audit"]["markdown"]]
    return lines


def _table1(report: Report, config: RunConfig, out: Path) -> list[str]:
    d = report.details
    systems = [s for s in SYSTEMS if s in report.table1]
    qtypes = [q for q in dict.fromkeys(q for s in systems for q in report.table1[s]) if q != "all"] + ["all"]
    lines = ["", f"## Table 1 layout (eval run `{d.get('eval_run_id')}`, top-{config.eval.k})", ""]
    lines += _gains(d.get("table1_gains") or {}, qtypes)
    for metric in METRICS:
        # recall is over the retrieved lists, which are top-k long: at k < 200 it is recall@k
        label = f"recall@{config.eval.k} (stored as recall@200)" if metric == "recall@200" and config.eval.k < 200 else metric
        lines += [f"**{label}**", "", "| query type | n | " + " | ".join(SYSTEM_LABELS[s] for s in systems) + " |",
                  "| --- | ---: |" + " ---: |" * len(systems)]
        for q in qtypes:
            n = report.table1[systems[0]].get(q, {}).get("n_queries")
            lines.append(f"| {q} | {n:.0f} | " + " | ".join(_pct(report.table1[s].get(q, {}).get(metric))
                                                         for s in systems) + " |")
        lines.append("")
    lines += ["![Table 1](table1.png)", ""]
    plot_systems(report.table1, out / "table1.png")
    return lines


def _gains(gains: dict, qtypes: list[str]) -> list[str]:
    """Baseline+synthetic minus baseline per type, in points, with the paired bootstrap 95 % interval."""
    from tailsynth.evals.bootstrap import Interval
    from tailsynth.runner.tables import GAIN_METRICS

    if not gains:
        return ["Gains have no intervals: this evaluation kept no per-query values.", ""]
    lines = ["**Gain of baseline + synthetic over baseline**, points, with the paired bootstrap 95 % interval over "
             "queries (10,000 resamples; a gain whose interval excludes 0 is marked *)", "",
             "| query type | " + " | ".join(GAIN_METRICS) + " |", "| --- |" + " ---: |" * len(GAIN_METRICS)]
    for q in [q for q in qtypes if q in gains]:
        cells = []
        for m in GAIN_METRICS:
            iv = Interval(**gains[q][m]) if m in gains[q] else None
            cells.append("" if iv is None else iv.format(scale=100, signed=True) + (" *" if iv.excludes_zero() else ""))
        lines.append(f"| {q} | " + " | ".join(cells) + " |")
    return lines + [""]


def _table2(d: dict) -> list[str]:
    t2 = d.get("table2")
    if not t2:
        return ["", "## Table 2", "", "Not computed: " + d.get("table2_note", "no judge for the training queries") + "."]
    cols = ("pairs_kept", "pair_accuracy", "business_pass_accuracy", "rewrites", "rewrites_dropped", "candidates",
            "business_pass", "general_scored")
    lines = ["", f"## Table 2: synthesized pairs per query type (run `{d['synthesis_run_id']}`, judge: {d.get('train_judge')})",
             "", "| type | " + " | ".join(cols) + " |", "| --- |" + " ---: |" * len(cols)]
    for q, m in t2.items():
        lines.append(f"| {q} | " + " | ".join(_pct(m.get(c)) if "accuracy" in c else f"{m.get(c, 0):.0f}" for c in cols) + " |")
    return lines + ["", "![Table 2 and funnel](table2.png)"]


FUNNEL_STAGES = {"relevant": "relevant in catalog", "candidates": "candidates", "business_pass": "business pass",
                 "general_scored": "general scored", "kept": "kept"}


def _true_funnel(d: dict) -> list[str]:
    """Pairs and true pairs at each stage of the synthesis run, per type: where true pairs are lost."""
    funnel = d.get("true_funnel")
    if not funnel:
        return []
    stages = [s for s in FUNNEL_STAGES if any(s in v for v in funnel.values())]
    lines = ["", f"## Funnel with true pairs (judge: {d.get('train_judge')}): true / all pairs at each stage", "",
             "| type | " + " | ".join(FUNNEL_STAGES[s] for s in stages) + " | kept precision |",
             "| --- |" + " ---: |" * (len(stages) + 1)]
    for q, v in funnel.items():
        kept = v.get("kept", [0, 0])
        cells = [f"{v[s][1]} / {v[s][0]}" if s != "relevant" else f"{v[s][1]}" for s in stages if s in v]
        lines.append(f"| {q} | " + " | ".join(cells) + f" | {_pct(kept[1] / kept[0]) if kept[0] else 'n/a'} |")
    return lines


def _table3(d: dict, out: Path) -> list[str]:
    t3 = d.get("table3")
    if not t3:
        return ["", "## Table 3", "", "Not computed: " + d.get("table3_note", "no trained rewriter") + "."]
    from tailsynth.evals.table3 import plot_table3

    qtypes = [q for q in dict.fromkeys(q for v in t3.values() for q in v) if q != "all"] + ["all"]
    lines = ["", "## Table 3: rewriter variants (test queries of the chain's source; rewrite accuracy by the ground truth)",
             "", "| variant | " + " | ".join(qtypes) + " | median PPL (all) | Item Goodrate (all) | rewrites/query |",
             "| --- |" + " ---: |" * (len(qtypes) + 3)]
    for name, per in t3.items():
        a = per.get("all", {})
        lines.append(f"| {name} | " + " | ".join(_pct(per.get(q, {}).get("rewrite_accuracy")) for q in qtypes)
                     + f" | {a.get('ppl', float('nan')):.0f} | {_pct(a.get('item_goodrate'))} | {a.get('rewrites_per_query', 0):.2f} |")
    intervals = d.get("table3_intervals") or {}
    if intervals:
        from tailsynth.evals.bootstrap import Interval

        lines += ["", "Rewrite accuracy with its bootstrap 95 % interval (rewrites pooled per type, queries resampled whole):",
                  "", "| variant | " + " | ".join(qtypes) + " |", "| --- |" + " ---: |" * len(qtypes)]
        for name in t3:
            cells = [Interval(**intervals[name][q]).format(scale=100) if q in intervals.get(name, {}) else ""
                     for q in qtypes]
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
    plot_table3(t3, out / "table3.png")
    return lines + ["", "![Table 3](table3.png)"]


def _dev_curve(d: dict, out: Path) -> list[str]:
    """Each recipe's dev metric by training step (``[retriever] dev_every``), as a table and a plot."""
    curves = {recipe: m["dev_curve"] for recipe, m in (d.get("retrievers") or {}).items() if m.get("dev_curve")}
    if not curves:
        return []
    metric = next(k for k in next(iter(curves.values()))[0] if k != "step")
    steps = sorted({p["step"] for points in curves.values() for p in points})
    at = {recipe: {p["step"]: p[metric] for p in points} for recipe, points in curves.items()}
    lines = ["", f"## Retrievers' dev curve ({metric} on judged dev queries, by training step)", "",
             "| step | " + " | ".join(curves) + " |", "| ---: |" + " ---: |" * len(curves)]
    lines += [f"| {step} | " + " | ".join(_pct(at[r].get(step)) for r in curves) + " |" for step in steps]
    plot_dev_curve(curves, metric, out / "dev_curve.png")
    return lines + ["", "![dev curve](dev_curve.png)"]


def plot_dev_curve(curves: dict[str, list[dict]], metric: str, path: Path) -> Path:
    from tailsynth.evals.plots import pyplot, save_figure

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for recipe, points in curves.items():
        ax.plot([p["step"] for p in points], [100 * p[metric] for p in points], marker="o", label=recipe)
    ax.set_xlabel("training step")
    ax.set_ylabel(f"dev {metric} (%)")
    ax.legend()
    return save_figure(fig, path)


def wall_line(stages: dict[str, dict], wall_s: float | None) -> str:
    """The invocation's wall time of its stages; beside the sum of their own seconds when model
    stages trained side by side (``[engine] stage_workers``) and the two differ."""
    total = sum(v["seconds"] for v in stages.values())
    if wall_s is None or total <= wall_s + 1:
        return f"Wall time of the stages in this invocation: {total:.0f} s."
    return (f"Wall time of the stages in this invocation: {wall_s:.0f} s ({total:.0f} s of stage time: the model "
            "stages trained side by side, [engine] stage_workers).")


def write_report(report: Report, config: RunConfig) -> Path:
    """``report_dir/report.md`` + ``table1.png`` (+ ``table2.png``, ``table3.png``) + ``report.json``."""
    out = report.report_dir
    out.mkdir(parents=True, exist_ok=True)
    lines = [f"# tailsynth run `{config.name}`", ""]
    if config.source:
        shown = _shown_path(config.source)
        lines += [f"Config: `{shown}`", "", f"Command: `tailsynth run --config {shown}`", ""]
    lines += [f"Judge: {report.judge}.", ""]
    d = report.details
    if d.get("data"):
        lines += ["Data: " + ", ".join(f"{k} {v}" for k, v in d["data"].items()), ""]
    lines += _stages(report)
    lines += ["", wall_line(report.stages, d.get("stages_wall_s"))]
    for note in d.get("fallbacks", []):
        lines += [f"- {note}"]
    lines += _models(d)
    bm = d.get("business_metrics", {})
    if bm:
        rows = "held-out" if bm.get("split", "held_out") == "held_out" else "a sample of its training rows"
        lines += ["", f"## Business relevance model ({rows})", "",
                  ", ".join(f"{k} {_num(v)}" for k, v in bm.items() if k != "operating_points")]
        threshold = (d.get("synthesis_config") or {}).get("business_threshold")
        points = [f"{name}: threshold {p['threshold']:.3f} (precision {p['precision']:.2f}, recall {p['recall']:.2f})"
                  for name, p in (bm.get("operating_points") or {}).items()]
        if points:
            lines += ["", f"Operating points on {rows} rows: " + "; ".join(points) + "."]
        if threshold is not None:
            lines += ["", f"Synthesis ran at business threshold {_num(threshold)}."]
    lines += _calibration(d)
    if d.get("funnel"):
        lines += ["", f"## Synthesis funnel (run `{d['synthesis_run_id']}`)", "",
                  ", ".join(f"{k} {v}" for k, v in d["funnel"].items())]
    if d.get("retrievers"):
        lines += ["", "## Retrievers", "", "| recipe | steps | batch | baseline rows | synthetic rows | final loss |",
                  "| --- | ---: | ---: | ---: | ---: | ---: |"]
        for recipe, m in d["retrievers"].items():
            loss = m.get("final_loss")
            lines.append(f"| {recipe} | {m['steps']} | {m['batch_size']} | {m['baseline_rows']} | "
                         f"{m['synthetic_rows']} | {loss:.4f} |" if loss is not None else f"| {recipe} | | | | | |")
    lines += _dev_curve(d, out)
    lines += _guards(d)
    if report.table1:
        lines += _table1(report, config, out)
    lines += _table2(d)
    lines += _true_funnel(d)
    lines += _table3(d, out)
    if report.sbs:
        lines += ["", "## Table 4 (side-by-side): baseline+synthetic vs baseline", "",
                  "| query type | Item Goodrate Δ | Query Goodrate Δ | GSB | G / S / B |", "| --- | ---: | ---: | ---: | ---: |"]
        for q, m in report.sbs.items():
            lines.append(f"| {q} | {m['item_goodrate_delta_pt']:+.2f}pt | {m['query_goodrate_delta_pt']:+.2f}pt | "
                         f"{100 * m['gsb']:+.2f}% | {m['good']:.0f} / {m['same']:.0f} / {m['bad']:.0f} |")
    path = out / "report.md"
    path.write_text("\n".join(lines) + "\n")
    (out / "report.json").write_text(json.dumps({"name": report.name, "judge": report.judge, "stages": report.stages,
                                                 "table1": report.table1, "sbs": report.sbs, **report.details},
                                                default=str, indent=2))
    report.markdown = path
    return path


def plot_systems(results: dict, path: Path) -> Path:
    """Grouped bars per query type, one panel per Table 1 metric, one bar per system."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    systems = [s for s in SYSTEMS if s in results]
    qtypes = list(results[systems[0]])
    metrics = ("item_goodrate", "query_goodrate@10", "query_goodrate@100")
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.5 * len(metrics), 3.5), sharey=True)
    x, width = np.arange(len(qtypes)), 0.8 / len(systems)
    for ax, metric in zip(axes, metrics):
        for i, s in enumerate(systems):
            ax.bar(x + (i - (len(systems) - 1) / 2) * width,
                   [100 * results[s].get(q, {}).get(metric, 0.0) for q in qtypes], width=width, label=SYSTEM_LABELS[s])
        ax.set_xticks(x, qtypes, rotation=30, fontsize=8)
        ax.set_title(metric, fontsize=9)
    axes[0].set_ylabel("%")
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
