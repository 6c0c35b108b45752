"""What a run reports besides Table 1 and SBS: the guard rails and the kept-pair audit of its
synthesis run, Table 2 (pair accuracy per type) and Table 3 (the rewriter variants).

Who judges the synthesized pairs: the training queries' ground truth when the run has one (the
demo world behind a ``[chain] source = "demo"`` run, or qrels that cover the training queries);
without one the audit is a review sheet written to the report dir (``guards.export_audit_sample``)
and Table 2 is left out, never judged by the filter that kept the pairs.
"""

from __future__ import annotations

from pathlib import Path

from tailsynth.evals.retrieval_eval import PER_QUERY_METRICS as GAIN_METRICS  # the gains' metrics: the per-query ones
from tailsynth.runner.config import RunConfig

AUDIT_SHEET = "audit_sample.csv"


def train_judge(config: RunConfig, data):
    """``(judge(query_id, product_ids) -> [bool], who)`` for the training queries, or ``(None, why)``."""
    from tailsynth.runner.chain import chain_source

    if config.chain.audit_qrels:
        from tailsynth.io.loaders import QrelsJudge, load_qrels

        return QrelsJudge(load_qrels(config.chain.audit_qrels)), f"the audit labels {Path(config.chain.audit_qrels).name}"
    if config.chain.source == "demo":
        return chain_source(config).judgements().judge, "the demo world's ground truth"
    if data.qrels is not None and all(q["query_id"] in data.qrels for q in data.train_queries):
        from tailsynth.io.loaders import QrelsJudge

        return QrelsJudge(data.qrels, config.data.qrels.min_grade), "the qrels file"
    return None, "no judgements for the training queries"


def guard_findings(config: RunConfig, store, run_id: str) -> list:
    """The guard rails over the finished synthesis run, acted on as ``[guards] action`` says
    (``stop`` raises ``guards.GuardError`` before any retriever trains on the pairs)."""
    from tailsynth.guards import check_run, enforce

    findings = check_run(store, run_id, config.guards)
    enforce(findings, config.guards)
    return findings


def audit(config: RunConfig, data, store, run_id: str, report_dir: Path) -> dict:
    """Kept-pair precision per type from the judge, else a review sheet to label by hand."""
    from tailsynth.guards import automatic_audit, export_audit_sample
    from tailsynth.guards.audit import precision_markdown

    judge, who = train_judge(config, data)
    if judge is None:
        path = report_dir / AUDIT_SHEET
        rows = export_audit_sample(store, run_id, path, n=config.chain.audit_pairs, product_text=data.catalog.text)
        return {"judge": who, "sheet": str(path), "rows": len(rows),
                "markdown": f"No judge for the training queries: {len(rows)} kept pairs written to `{path.name}` "
                            "for review (label 1/0, then `guards.import_audit_labels` + `precision_by_type`)."}
    report, _ = automatic_audit(store, run_id, judge, n=config.chain.audit_pairs)
    return {"judge": who, "precision": {t: p.__dict__ for t, p in report.items()},
            "markdown": precision_markdown(report, who)}


def true_funnel(config: RunConfig, data, store, run_id: str) -> dict[str, dict[str, list[int]]] | None:
    """``{qtype: {stage: [pairs, true_pairs]}}`` of the synthesis run (``evals.funnel_truth``), with
    a first stage ``relevant``: the catalog's products the judge calls relevant to the run's
    queries (only when it can list them), so the loss to top-k retrieval shows too. None without a judge."""
    from tailsynth.evals.funnel_truth import true_pair_funnel

    judge, _ = train_judge(config, data)
    if judge is None:
        return None
    out: dict[str, dict[str, list[int]]] = {}
    for row in true_pair_funnel(store, run_id, lambda q, p: judge(q, [p])[0]):
        out.setdefault(row.qtype, {})[row.stage] = [row.pairs, row.true_pairs]
    relevant_ids = chain_relevant_ids(config)
    if relevant_ids is not None:
        catalog = set(data.catalog.ids)
        totals: dict[str, int] = {}
        for qid, qtype in store.fetch("SELECT query_id, qtype FROM queries WHERE run_id = ?", [run_id]):
            n = len(relevant_ids(qid) & catalog)
            for key in (qtype or "untyped", "all"):
                totals[key] = totals.get(key, 0) + n
        out = {q: {"relevant": [totals.get(q, 0), totals.get(q, 0)], **stages} for q, stages in out.items()}
    return out


def chain_relevant_ids(config: RunConfig):
    """The demo world's ``relevant_ids`` behind a ``[chain] source = "demo"`` run, else None."""
    if config.chain.source != "demo":
        return None
    from tailsynth.runner.chain import chain_source

    return chain_source(config).judgements().relevant_ids


def table2(config: RunConfig, data, store, run_id: str, report_dir: Path) -> dict | None:
    """Pair accuracy and the funnel per query type (paper Table 2) when a judge exists; its PNG."""
    from tailsynth.evals.table2 import plot_funnel, table2_metrics

    judge, _ = train_judge(config, data)
    if judge is None:
        return None
    results = table2_metrics(store, run_id, judge)
    plot_funnel(results, report_dir / "table2.png")
    return results


def table3_active(config: RunConfig, chain: dict) -> bool:
    """Table 3 needs a rewrite labeler (the demo world) and at least one trained rewriter;
    ``[chain] table3_per_type = 0`` leaves it out."""
    return config.chain.source == "demo" and config.chain.table3_per_type > 0 and any(chain[s].mode == "train" for s in ("sft", "rl", "rl_nopda"))


def table3_variants(chain: dict) -> dict[str, str | None]:
    names = {"sft": "SFT", "rl_nopda": "RL w/o PDA", "rl": "RL w/ PDA"}
    return {"zero-shot": None, **{names[s]: chain[s].path for s in ("sft", "rl_nopda", "rl") if chain[s].mode in ("train", "given")}}


def run_table3(config: RunConfig, chain: dict, store, run_id: str) -> dict:
    """Rewrite accuracy, median PPL under the PDA LM and Item Goodrate per variant, on the chain
    source's test queries (stored under ``run_id``, suite ``table3``)."""
    from tailsynth.evals.table3 import Table3Config, evaluate_rewriters
    from tailsynth.runner.chain import chain_source

    for table in ("eval_results", "eval_query_results"):
        store.execute(f"DELETE FROM {table} WHERE run_id = ? AND suite = 'table3'", [run_id])
    pda = chain["pda"].path if chain["pda"].mode in ("train", "given") else None
    cfg = Table3Config(variants=table3_variants(chain), pda_model=pda, per_type=config.chain.table3_per_type,
                       k=config.synthesis.k, top_k=config.synthesis.top_k)
    return evaluate_rewriters(chain_source(config), cfg, store, run_id=run_id)


def load_table3(store, run_id: str) -> dict:
    out: dict = {}
    for system, qtype, metric, value in store.fetch(
            "SELECT system, qtype, metric, value FROM eval_results WHERE run_id = ? AND suite = 'table3' "
            "ORDER BY created_at", [run_id]):
        out.setdefault(system, {}).setdefault(qtype, {})[metric] = value
    return out


def gain_intervals(store, run_id: str, suite: str = "table1", base: str = "baseline",
                   new: str = "baseline+synthetic") -> dict[str, dict[str, dict]]:
    """``{qtype: {metric: Interval.as_dict()}}`` of the gain of ``new`` over ``base`` (fractions),
    a paired bootstrap over the queries both systems were scored on (``evals.bootstrap``), per
    query type and over ``all``. Empty when the evaluation kept no per-query values."""
    from tailsynth.evals.bootstrap import bootstrap_paired_difference
    from tailsynth.store.reads import query_values

    out: dict[str, dict[str, dict]] = {}
    for metric in GAIN_METRICS:
        a = query_values(store, run_id, suite, base, metric)
        b = query_values(store, run_id, suite, new, metric)
        common = sorted(set(a) & set(b))
        groups: dict[str, list[str]] = {}
        for qid in common:
            groups.setdefault(a[qid][0], []).append(qid)
        if common:
            groups["all"] = common
        for qtype, qids in groups.items():
            interval = bootstrap_paired_difference([a[q][1] for q in qids], [b[q][1] for q in qids])
            out.setdefault(qtype, {})[metric] = interval.as_dict()
    return out
