"""The whole method on your own catalog, from one config:

    validate files ─► business relevance model ─► synthesize pairs for the training queries
      ─► train retrievers `baseline` and `baseline+synthetic` (same config, differing in data)
      ─► evaluate on the test queries per type (BM25, untrained encoder, baseline, baseline+synthetic)
         and side-by-side baseline+synthetic vs baseline ─► store + report folder (markdown, PNG)

Every stage is keyed by a fingerprint of the config parts and input files it depends on, and is
skipped when its output for that key exists (a model directory, a finished synthesis run in the
store, eval rows in the store); the synthesis stage also resumes inside itself per (stage, chunk).
Completed stages leave a marker ``work_dir/stages/<stage>-<key>.json`` with their wall time.
"""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from tailsynth.runner.config import RunConfig, file_fingerprint, fingerprint, load_run_config
from tailsynth.runner.validate import Plan, RunData, check_data

STAGES = ("business", "synthesis", "retrievers", "evaluate")
SYSTEMS = ("bm25", "untrained", "baseline", "baseline+synthetic")
SYSTEM_LABELS = {"bm25": "BM25", "untrained": "Untrained encoder", "baseline": "Baseline",
                 "baseline+synthetic": "Baseline + synthetic"}


class RunError(RuntimeError):
    """The run cannot go on; the message says why and what to change."""


@dataclass
class Report:
    name: str
    report_dir: Path
    markdown: Path | None
    stages: dict[str, dict] = field(default_factory=dict)  # stage -> {state: ran|skipped, seconds, key}
    table1: dict = field(default_factory=dict)  # system -> qtype -> metric -> value
    sbs: dict = field(default_factory=dict)  # qtype -> metric -> value
    judge: str = ""
    plan: Plan | None = None
    details: dict = field(default_factory=dict)


# ------------------------------------------------------------------------------------ keys
@dataclass
class Keys:
    business: str
    synthesis: str
    retrievers: str
    evaluate: str

    def __getitem__(self, stage: str) -> str:
        return getattr(self, stage)


def _file_key(section) -> str | None:
    if section is None:
        return None
    path = Path(section.path)
    return fingerprint(section, file_fingerprint(path) if path.exists() else "missing")


def stage_keys(config: RunConfig) -> Keys:
    d = config.data
    catalog = _file_key(d.catalog)
    business = fingerprint(config.business, _file_key(d.business_labels), catalog)
    syn_cfg = config.synthesis_config(business_dir(config, business)).to_dict()
    synthesis = fingerprint(syn_cfg, _file_key(d.train_queries), catalog)
    retrievers = fingerprint(retriever_config(config).weights_key(), _file_key(d.baseline_pairs), synthesis)
    judge = _file_key(d.qrels) if d.qrels else ["lm-judge", dataclasses.asdict(config.models.judge)]
    evaluate = fingerprint(retrievers, _file_key(d.test_queries), judge, config.eval, config.models.encoder)
    return Keys(business, synthesis, retrievers, evaluate)


def work_dir(config: RunConfig) -> Path:
    return Path(config.output.work_dir)


def business_dir(config: RunConfig, key: str) -> Path:
    return work_dir(config) / f"business-{key}"


def retriever_config(config: RunConfig):

    base = config.retriever.base_model or config.models.encoder
    return dataclasses.replace(config.retriever, base_model=base, run_id=None)


def synthesis_run_id(config: RunConfig, keys: Keys) -> str:
    return f"{config.name}-syn-{keys.synthesis}"


def eval_run_id(config: RunConfig, keys: Keys) -> str:
    return f"{config.name}-eval-{keys.evaluate}"


def _retriever_paths(config: RunConfig, keys: Keys) -> dict[str, Path]:
    root = work_dir(config) / f"retrievers-{keys.retrievers}"
    return {r: root / r / "model" for r in ("baseline", "baseline+synthetic")}


def _store_rows(config: RunConfig, sql: str, params: list) -> list[tuple] | None:
    """Read-only look into the store; None when there is no store yet."""
    path = Path(config.output.store)
    if not path.exists():
        return None
    import duckdb

    from tailsynth.store.store import connect

    con = connect(str(path), read_only=True, timeout_s=30.0)  # waits out a writer's commit; StoreLocked after
    try:
        return con.execute(sql, params).fetchall()
    except duckdb.Error:
        return None
    finally:
        con.close()


def stage_done(config: RunConfig, keys: Keys, stage: str, store=None) -> bool:
    """Whether the stage's output for this config exists (not whether a marker says so)."""
    if stage == "business":
        return (business_dir(config, keys.business) / "business_relevance.json").exists()
    if stage == "retrievers":
        return all((p / "tailsynth_train.json").exists() for p in _retriever_paths(config, keys).values())
    if stage == "synthesis":
        sql, params = "SELECT count(*) FROM runs WHERE run_id = ? AND finished_at IS NOT NULL", [synthesis_run_id(config, keys)]
    else:
        sql, params = "SELECT count(*) FROM eval_results WHERE run_id = ? AND suite = 'sbs'", [eval_run_id(config, keys)]
    rows = store.fetch(sql, params) if store is not None else _store_rows(config, sql, params)
    return bool(rows and rows[0][0])


def _marker(config: RunConfig, stage: str, key: str) -> Path:
    return work_dir(config) / "stages" / f"{stage}-{key}.json"


def read_markers(config: RunConfig) -> dict[str, dict]:
    """Stage → marker contents of this config's finished stages."""
    keys = stage_keys(config)
    out = {}
    for stage in STAGES:
        path = _marker(config, stage, keys[stage])
        if path.exists():
            out[stage] = json.loads(path.read_text())
    return out


# ------------------------------------------------------------------------------------ plan
def _prepare(config: RunConfig | str | Path) -> RunConfig:
    """Load the TOML; with a ``[demo]`` section, write the demo files (inputs, so even a dry run does)."""
    config = load_run_config(config) if isinstance(config, (str, Path)) else config
    if config.demo is not None and not getattr(config, "_demo_written", False):
        from tailsynth.sources.world import write_demo_slice

        write_demo_slice(config.demo)
        object.__setattr__(config, "_demo_written", True)
    return config


def make_plan(config: RunConfig | str | Path) -> tuple[Plan, RunData | None]:
    """Validate every input file and say, per stage, whether it is done or to run."""
    config = _prepare(config)
    data, problems = check_data(config)
    keys = stage_keys(config)
    details = {
        "business": f"cross-encoder on {data.counts['business_labels'] if data else '?'} labelled pairs "
                    f"-> {business_dir(config, keys.business)}",
        "synthesis": f"run {synthesis_run_id(config, keys)} over {data.counts['train_queries'] if data else '?'} "
                     f"training queries -> {config.output.store}",
        "retrievers": f"baseline and baseline+synthetic, {config.retriever.steps} steps x batch "
                      f"{config.retriever.batch_size} -> {work_dir(config) / ('retrievers-' + keys.retrievers)}",
        "evaluate": f"{' / '.join(SYSTEMS)} on {data.counts['test_queries'] if data else '?'} test queries, "
                    f"top-{config.eval.k}, judge: {judge_description(config)}; SBS top-{config.eval.sbs_top} "
                    f"-> {config.output.report_dir}",
    }
    stages = []
    for stage in STAGES:
        state = "done" if stage_done(config, keys, stage) else ("blocked" if problems else "to run")
        stages.append((stage, state, details[stage]))
    return Plan(config, problems, stages, data.counts if data else {}), data


def plan(config: RunConfig | str | Path) -> Plan:
    return make_plan(config)[0]


def print_plan(config: RunConfig | str | Path, file=None) -> Plan:
    """Validate and print the plan (what ``tailsynth run --dry-run`` shows); returns it."""
    result = plan(config)
    print(result.render(), file=file)
    return result


def judge_description(config: RunConfig) -> str:
    if config.data.qrels is not None:
        return f"qrels {Path(config.data.qrels.path).name} (grade >= {config.data.qrels.min_grade})"
    return (f"general relevance LM ({config.models.judge.model_id}) p_yes >= {config.eval.judge_threshold}; "
            "an LM's judgement, not ground truth")


# ------------------------------------------------------------------------------------ judge
class LMJudge:
    """No qrels: the general relevance classifier judges (p_yes >= threshold), cached per pair."""

    def __init__(self, config: RunConfig, catalog, queries: list[dict]):
        from tailsynth.programs.general_relevance import GeneralRelevanceFilter
        from tailsynth.serving import make_scorer

        self.filter = GeneralRelevanceFilter(make_scorer(config.models.judge), threshold=config.eval.judge_threshold)
        self.threshold, self.catalog = config.eval.judge_threshold, catalog
        self.text = {q["query_id"]: q["text"] for q in queries}
        self.cache: dict[tuple[str, str], float] = {}

    def __call__(self, query_id: str, product_ids: list[str]) -> list[bool]:
        todo = [p for p in dict.fromkeys(product_ids) if (query_id, p) not in self.cache]
        if todo:
            scores = self.filter.p_yes([(self.text[query_id], self.catalog.text(p)) for p in todo])
            self.cache.update({(query_id, p): float(s) for p, s in zip(todo, scores)})
        return [self.cache[query_id, p] >= self.threshold for p in product_ids]


# ------------------------------------------------------------------------------------ run
def run(config: RunConfig | str | Path, dry_run: bool = False, progress: bool = True) -> Report:
    """Validate, then run every stage not yet done for this config; returns the report.

    ``dry_run``: validate and plan only (nothing is trained, written or synthesized).
    Raises ``RunError`` listing every input problem before any work.
    """
    config = _prepare(config)
    the_plan, data = make_plan(config)
    report = Report(config.name, Path(config.output.report_dir), None, plan=the_plan,
                    judge=judge_description(config))
    if dry_run:
        return report
    if not the_plan.ok:
        raise RunError(the_plan.render())
    from tailsynth.store import Store

    keys = stage_keys(config)
    work_dir(config).mkdir(parents=True, exist_ok=True)
    Path(config.output.store).parent.mkdir(parents=True, exist_ok=True)
    with Store(config.output.store) as store:
        for stage in STAGES:
            done = stage_done(config, keys, stage, store)
            started = time.perf_counter()
            if stage == "evaluate" or not done:
                detail = STAGE_FUNCS[stage](config, keys, data, store, report, progress, done)
            else:
                detail = {}
            seconds = round(time.perf_counter() - started, 2)
            state = "skipped" if done else "ran"
            report.stages[stage] = {"state": state, "seconds": seconds, "key": keys[stage], **detail}
            if not done:
                marker = _marker(config, stage, keys[stage])
                marker.parent.mkdir(parents=True, exist_ok=True)
                marker.write_text(json.dumps({"stage": stage, "key": keys[stage], "seconds": seconds,
                                              "finished_at": datetime.now(timezone.utc).isoformat(), **detail},
                                             default=str))
        _collect_details(config, keys, store, report)
    write_report(report, config)
    return report


def _business(config, keys, data: RunData, store, report, progress, done) -> dict:
    from tailsynth.retrieval.business_relevance import BusinessRelevance

    queries, texts, labels = (list(x) for x in zip(*data.business_labels))
    model = BusinessRelevance.train(queries, texts, labels, config.business, out_dir=business_dir(config, keys.business))
    return {"metrics": model.metrics}


def _synthesis(config, keys, data: RunData, store, report, progress, done) -> dict:
    from tailsynth.programs.build import build_program

    program = build_program(config.synthesis_config(business_dir(config, keys.business)), data.catalog,
                            index_dir=work_dir(config) / "indexes")
    summary = program.run(data.train_queries, store, run_id=synthesis_run_id(config, keys), progress=progress)
    return {"funnel": summary.funnel, "stage_seconds": {k: round(v, 2) for k, v in summary.seconds.items()}}


def _synthetic_pairs(config, keys, data: RunData, store):
    from tailsynth.retrieval.trainer import pairs_from_store, synthetic_texts

    return synthetic_texts(pairs_from_store(store, synthesis_run_id(config, keys)), data.catalog)


def _retrievers(config, keys, data: RunData, store, report, progress, done) -> dict:
    from tailsynth.retrieval.trainer import train_recipes

    synthetic = _synthetic_pairs(config, keys, data, store)
    if not synthetic:
        raise RunError(f"synthesis run {synthesis_run_id(config, keys)} kept no pairs, so there is nothing to add "
                       "to the baseline; lower [synthesis] business_threshold / general_threshold, add training "
                       "queries, or check the funnel with `tailsynth inspect funnel`")
    cfg = dataclasses.replace(retriever_config(config), show_progress=progress)
    root = work_dir(config) / f"retrievers-{keys.retrievers}"
    paths = train_recipes(cfg, data.baseline_pairs, synthetic, root, store=store)
    return {"synthetic_pairs": len(synthetic), "baseline_pairs": len(data.baseline_pairs),
            "models": {k: str(v) for k, v in paths.items()}}


def _typed_test_queries(config: RunConfig, data: RunData) -> tuple[list[dict], int]:
    """Missing types from the classifier fitted on the run's own typed queries (the rules when
    there are too few: ``evals.query_type.classify``)."""
    queries = data.test_queries
    missing = [q for q in queries if not q["qtype"]]
    if not missing:
        return queries, 0
    from tailsynth.evals.query_type import classify

    typed = [q for q in data.train_queries + data.test_queries if q["qtype"]]
    types = iter(classify([q["text"] for q in missing], method=config.eval.qtype_method, labelled=typed))
    return [q if q["qtype"] else {**q, "qtype": next(types)} for q in queries], len(missing)


def _evaluate(config, keys, data: RunData, store, report, progress, done) -> dict:
    """Evaluate (or, when done, reload the stored results): Table 1 layout and SBS."""
    run_id = eval_run_id(config, keys)
    if done:
        report.table1, report.sbs = load_results(store, run_id)
        return {"reloaded": True}
    from tailsynth.evals.retrieval_eval import evaluate_bm25, evaluate_retriever
    from tailsynth.evals.sbs import SBSConfig, side_by_side
    from tailsynth.io.loaders import QrelsJudge

    # A crash after some systems were scored left rows behind; this evaluation replaces them.
    store.execute("DELETE FROM eval_results WHERE run_id = ?", [run_id])
    queries, classified = _typed_test_queries(config, data)
    if data.qrels is not None:
        judge = QrelsJudge(data.qrels, config.data.qrels.min_grade)
        relevant = judge.relevant_ids
    else:
        judge, relevant = LMJudge(config, data.catalog, queries), None
    index_dir = work_dir(config) / "indexes"
    k = config.eval.k
    paths = _retriever_paths(config, keys)
    common = dict(relevant_ids=relevant, store=store, run_id=run_id, suite="table1")
    results = {"bm25": evaluate_bm25(data.catalog, queries, judge, k, system="bm25", **common)}
    timings = {}
    for system, model in (("untrained", retriever_config(config).base_model), ("baseline", paths["baseline"]),
                          ("baseline+synthetic", paths["baseline+synthetic"])):
        started = time.perf_counter()
        results[system] = evaluate_retriever(model, data.catalog, queries, judge, k, system=system,
                                             index_dir=index_dir, **common)
        timings[system] = round(time.perf_counter() - started, 2)
    report.table1 = results
    report.sbs = side_by_side(paths["baseline+synthetic"], paths["baseline"], data.catalog, queries, judge,
                              SBSConfig(top=config.eval.sbs_top), store=store, run_id=run_id, index_dir=index_dir)
    return {"classified_qtypes": classified, "system_seconds": timings}


STAGE_FUNCS = {"business": _business, "synthesis": _synthesis, "retrievers": _retrievers, "evaluate": _evaluate}


def load_results(store, run_id: str) -> tuple[dict, dict]:
    table1: dict = {}
    sbs: dict = {}
    for suite, system, qtype, metric, value in store.fetch(
        "SELECT suite, system, qtype, metric, value FROM eval_results WHERE run_id = ? ORDER BY created_at", [run_id]
    ):
        target = table1.setdefault(system, {}) if suite == "table1" else sbs
        target.setdefault(qtype, {})[metric] = value
    return table1, sbs


def _collect_details(config: RunConfig, keys: Keys, store, report: Report) -> None:
    from tailsynth.store.reads import funnel

    meta = json.loads((business_dir(config, keys.business) / "business_relevance.json").read_text())
    report.details["business_metrics"] = meta.get("metrics", {})
    report.details["funnel"] = funnel(store, synthesis_run_id(config, keys))
    report.details["synthesis_run_id"] = synthesis_run_id(config, keys)
    report.details["eval_run_id"] = eval_run_id(config, keys)
    report.details["retrievers"] = {}
    for recipe, path in _retriever_paths(config, keys).items():
        m = json.loads((path / "tailsynth_train.json").read_text())
        report.details["retrievers"][recipe] = {k: m.get(k) for k in (
            "steps", "batch_size", "baseline_rows", "synthetic_rows", "final_loss", "device")} | {"path": str(path)}
    report.details["data"] = report.plan.counts if report.plan else {}


# ------------------------------------------------------------------------------------ report
METRICS = ("item_goodrate", "query_goodrate@10", "query_goodrate@100", "recall@200", "ndcg@10")


def _pct(v) -> str:
    return "n/a" if v is None or v != v else f"{100 * v:.2f}%"


def write_report(report: Report, config: RunConfig) -> Path:
    """``report_dir/report.md`` + ``table1.png`` + ``report.json``."""
    out = report.report_dir
    out.mkdir(parents=True, exist_ok=True)
    lines = [f"# tailsynth run `{config.name}`", ""]
    if config.source:
        lines += [f"Config: `{config.source}`", ""]
    lines += [f"Judge: {report.judge}.", ""]
    d = report.details
    if d.get("data"):
        lines += ["Data: " + ", ".join(f"{k} {v}" for k, v in d["data"].items()), ""]
    lines += ["## Stages", "", "| stage | this invocation | seconds | key |", "| --- | --- | ---: | --- |"]
    lines += [f"| {s} | {v['state']} | {v['seconds']:.1f} | `{v['key']}` |" for s, v in report.stages.items()]
    bm = d.get("business_metrics", {})
    if bm:
        lines += ["", "## Business relevance model (held-out)", "",
                  ", ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}" for k, v in bm.items())]
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
    if report.table1:
        systems = [s for s in SYSTEMS if s in report.table1]
        qtypes = [q for q in dict.fromkeys(q for s in systems for q in report.table1[s]) if q != "all"] + ["all"]
        lines += ["", f"## Table 1 layout (eval run `{d.get('eval_run_id')}`, top-{config.eval.k})", ""]
        for metric in METRICS:
            lines += [f"**{metric}**", "", "| query type | n | " + " | ".join(SYSTEM_LABELS[s] for s in systems) + " |",
                      "| --- | ---: |" + " ---: |" * len(systems)]
            for q in qtypes:
                n = report.table1[systems[0]].get(q, {}).get("n_queries")
                lines.append(f"| {q} | {n:.0f} | " + " | ".join(_pct(report.table1[s].get(q, {}).get(metric))
                                                             for s in systems) + " |")
            lines.append("")
        lines += ["![Table 1](table1.png)", ""]
        plot_systems(report.table1, out / "table1.png")
    if report.sbs:
        lines += ["## Side-by-side: baseline+synthetic vs baseline", "",
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
