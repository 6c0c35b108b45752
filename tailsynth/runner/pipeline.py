"""The whole method from one config (``tailsynth run --config FILE.toml``):

    validate files ─► business relevance model
      ─► the trained chain (runner.chain): rewriter SFT ─► QSR and PDA reward models ─► RL with PDA
         (and without, for Table 3) ─► rewrite filter ─► general filter; each stage trained on the
         chain's source, or given in [models], or a documented fallback
      ─► synthesize pairs for the training queries with those models ─► guard rails + audit
      ─► train retrievers `baseline` and `baseline+synthetic` (same config, differing in data)
      ─► evaluate on the test queries per type (BM25, untrained encoder, baseline, baseline+synthetic)
         and side-by-side ─► Table 3 (rewriter variants) ─► report folder (markdown, PNG, JSON)

Every stage is keyed by a fingerprint of the config parts and inputs it depends on, chained (a
stage's key includes the keys of the stages it consumes), and is skipped when its output for that
key exists (a model directory, a finished synthesis run in the store, eval rows in the store); RL
and synthesis also resume inside themselves. Completed stages leave a marker
``work_dir/stages/<stage>-<key>.json`` with their wall time.

Synthesis runs on the engine of ``[engine]`` (``tailsynth.engines``): ``local`` writes into the
run's DuckDB store, ``ray`` writes Parquet shards under ``work_dir/shards``. Whatever reads the
synthesis run (the done check, guard rails, the retrievers' pairs, the audit, Table 2, the
report) reads it through ``synthesis_store``: the DuckDB store, or a ``ShardStore`` whose views
carry the same tables. Everything else (training logs, evaluations) stays in the DuckDB store.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from tailsynth.calibration import ALL as ALL_TYPES
from tailsynth.progress import announce
from tailsynth.runner import calibrate
from tailsynth.runner import chain as chain_mod
from tailsynth.runner import tables
from tailsynth.runner.chain import MODEL_STAGES, ChainError, Component
from tailsynth.runner.config import CALIBRATED, TRAVEL_WITH_REWRITER, RunConfig, file_key, fingerprint, load_from_run, load_run_config
from tailsynth.runner.evaluate import LMJudge, judge_description, load_results  # noqa: F401 - re-exported
from tailsynth.runner.report import SYSTEM_LABELS, SYSTEMS, Report, plot_systems, write_report  # noqa: F401 - re-exported
from tailsynth.runner.validate import Plan, Problem, RunData, check_data

STAGES = ("business", *MODEL_STAGES, "calibration", "synthesis", "retrievers", "evaluate", "table3")
"""Every stage in run order; a config runs the ``active_stages`` among them."""


class RunError(RuntimeError):
    """The run cannot go on; the message says why and what to change."""


# ------------------------------------------------------------------------------------ keys
@dataclass
class Keys:
    business: str
    synthesis: str
    retrievers: str
    evaluate: str
    chain: dict[str, Component] = field(default_factory=dict)
    table3: str | None = None
    calibration: str | None = None

    def __getitem__(self, stage: str) -> str | None:
        return self.chain[stage].key if stage in self.chain else getattr(self, stage)


def stage_keys(config: RunConfig) -> Keys:
    d = config.data
    catalog = file_key(d.catalog)
    business = (fingerprint("given", config.models.business) if config.models.business
                else fingerprint(config.business, file_key(d.business_labels), catalog))
    try:
        chain = chain_mod.resolve(config)
    except ChainError as err:
        raise RunError(str(err)) from None
    syn_cfg = config.synthesis_config(business_dir(config, business)).to_dict()
    if config.chain.business_operating_point:  # the number exists once the business model is trained
        syn_cfg["business_threshold"] = f"operating point {config.chain.business_operating_point}"
    syn_cfg.update({k: dataclasses.asdict(v) if dataclasses.is_dataclass(v) else v
                    for k, v in chain_mod.synthesis_models(config, chain, for_key=True).items()})
    home = rewriter_home(config)
    syn_cfg.update({name: getattr(home.synthesis, name) for name in TRAVEL_WITH_REWRITER})
    demo_pool = chain_mod.source_key(home) if home.synthesis.rewrite_demo_selection == "nearest" else None
    calibration = None
    if config.calibration is not None:  # the thresholds and floors are chosen on the dev run
        for name in CALIBRATED["synthesis"]:
            syn_cfg.pop(name, None)
        calibration = fingerprint(config.calibration, syn_cfg, catalog, demo_pool, chain_mod.source_key(config))
        syn_cfg["operating_point"] = f"calibrated {calibration}"
    travelled = travelled_calibration_key(config)
    if travelled:  # the other run's dev calibration: its rewriter, general threshold and floors
        for name in CALIBRATED["synthesis"][1:]:
            syn_cfg.pop(name, None)
        syn_cfg["operating_point"] = f"from run {home.name}: calibrated {travelled}"
    synthesis = fingerprint(syn_cfg, file_key(d.train_queries), catalog, _typing_key(config), demo_pool)
    retrievers = fingerprint(retriever_config(config).weights_key(), file_key(d.baseline_pairs), synthesis,
                             *_dev_curve_key(config))
    judge = file_key(d.qrels) if d.qrels else ["lm-judge", dataclasses.asdict(config.models.judge)]
    evaluate = fingerprint(retrievers, file_key(d.test_queries), judge, config.eval, config.models.encoder)
    table3 = None
    if tables.table3_active(config, chain):
        table3 = fingerprint([chain[s].key for s in ("sft", "rl", "rl_nopda", "pda")], config.chain.table3_per_type,
                             config.synthesis.k, config.synthesis.top_k, chain_mod.source_key(config))
    return Keys(business, synthesis, retrievers, evaluate, chain, table3, calibration)


def _dev_curve_key(config: RunConfig) -> tuple:
    """The retrievers' dev curve is part of their stage's output (nothing when it is off)."""
    r = config.retriever
    return (("dev-curve", r.dev_every, r.dev_queries_per_type, config.eval.k, chain_mod.source_key(config)),) if r.dev_every else ()


def _typing_key(config: RunConfig) -> str:
    """The training queries' types come from the demo world with a demo chain source, else from the
    files, the missing ones classified by ``[eval] qtype_method`` (``train_queries``)."""
    return "world-qtypes" if config.chain.source == "demo" else f"files, else {config.eval.qtype_method}"


# ------------------------------------------------------------------------------------ models that travel
def rewriter_home(config: RunConfig) -> RunConfig:
    """The run whose rewriter synthesis uses: ``[models] from_run``'s, else this one."""
    return load_from_run(config.models.from_run) if config.models.from_run else config


def travelled_calibration_key(config: RunConfig) -> str | None:
    """The calibration key of ``[models] from_run``'s run when that run calibrates on its dev
    queries (None otherwise): the operating point travels with its models. Raises ``RunError``
    when that calibration has not run yet."""
    home = rewriter_home(config)
    if home is config or home.calibration is None:
        return None
    key = stage_keys(home).calibration
    if not (calibrate.calibration_dir(home, key) / calibrate.RESULT).exists():
        raise RunError(f"[models] from_run = {config.models.from_run}: its calibration has not run yet; "
                       f"run `tailsynth run --config {config.models.from_run}` first")
    return key


def active_stages(config: RunConfig, keys: Keys) -> list[str]:
    """The stages this config runs (a chain stage with no section and no given model is left out)."""
    return [s for s in STAGES if (s not in keys.chain or keys.chain[s].mode != "off") and (s != "table3" or keys.table3)
            and (s != "calibration" or keys.calibration)]


def work_dir(config: RunConfig) -> Path:
    return Path(config.output.work_dir)


def business_dir(config: RunConfig, key: str) -> Path:
    """The business model: the given ``[models] business`` dir, else trained into the work dir."""
    return Path(config.models.business) if config.models.business else work_dir(config) / f"business-{key}"


def retriever_config(config: RunConfig):

    base = config.retriever.base_model or config.models.encoder
    return dataclasses.replace(config.retriever, base_model=base, run_id=None)


def synthesis_run_id(config: RunConfig, keys: Keys) -> str:
    return f"{config.name}-syn-{keys.synthesis}"


def eval_run_id(config: RunConfig, keys: Keys) -> str:
    return f"{config.name}-eval-{keys.evaluate}"


def table3_run_id(config: RunConfig, keys: Keys) -> str:
    return f"{config.name}-table3-{keys.table3}"


def retriever_paths(config: RunConfig, keys: Keys) -> dict[str, Path]:
    """Recipe → the model directory the retrievers stage trains (the eval and benchmarks load them)."""
    root = work_dir(config) / f"retrievers-{keys.retrievers}"
    return {r: root / r / "model" for r in ("baseline", "baseline+synthetic")}


def shard_root(config: RunConfig) -> Path:
    """Where ``[engine] kind = "ray"`` writes the synthesis run's Parquet shards."""
    return work_dir(config) / "shards"


@contextmanager
def synthesis_store(config: RunConfig, store=None):
    """The store that holds the synthesis run: ``store`` (the run's DuckDB) for the local engine, a
    ``ShardStore`` over ``shard_root`` for Ray (None when no shard is written yet)."""
    if config.engine.kind != "ray":
        yield store
        return
    from tailsynth.store.shards import ShardStore, is_shard_root

    if not is_shard_root(shard_root(config)):
        yield None
        return
    with ShardStore(shard_root(config)) as shards:
        yield shards


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
    if stage in keys.chain:
        return chain_mod.done(keys.chain[stage])
    if stage == "business":
        return (business_dir(config, keys.business) / "business_relevance.json").exists()
    if stage == "calibration":
        return (calibrate.calibration_dir(config, keys.calibration) / calibrate.RESULT).exists()
    if stage == "retrievers":
        return all((p / "tailsynth_train.json").exists() for p in retriever_paths(config, keys).values())
    if stage == "synthesis":
        sql, params = "SELECT count(*) FROM runs WHERE run_id = ? AND finished_at IS NOT NULL", [synthesis_run_id(config, keys)]
        if config.engine.kind == "ray":
            with synthesis_store(config) as shards:
                return bool(shards is not None and shards.fetch(sql, params)[0][0])
    elif stage == "table3":  # with the per-query rows its intervals need
        sql, params = ("SELECT count(*) FROM eval_query_results WHERE run_id = ? AND suite = 'table3'",
                       [table3_run_id(config, keys)])
    else:  # evaluated, with the per-query values the intervals need (an older evaluation without them reruns)
        sql = ("SELECT count(*) FROM eval_results WHERE run_id = $1 AND suite = 'sbs' AND EXISTS "
               "(SELECT 1 FROM eval_query_results WHERE run_id = $1 AND suite = 'table1')")
        params = [eval_run_id(config, keys)]
    rows = store.fetch(sql, params) if store is not None else _store_rows(config, sql, params)
    return bool(rows and rows[0][0])


def _marker(config: RunConfig, stage: str, key: str) -> Path:
    return work_dir(config) / "stages" / f"{stage}-{key}.json"


def read_markers(config: RunConfig) -> dict[str, dict]:
    """Stage → marker contents of this config's finished stages."""
    keys = stage_keys(config)
    out = {}
    for stage in active_stages(config, keys):
        path = _marker(config, stage, keys[stage])
        if keys[stage] and path.exists():
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
    problems = problems + _engine_problems(config) + _calibration_problems(config) + _travel_problems(config)
    keys = stage_keys(config)
    details = {s: f"{c.mode}: {c.note or c.path}" for s, c in keys.chain.items()}
    details |= {
        "table3": f"zero-shot / SFT / RL w/o PDA / RL w/ PDA on {config.chain.table3_per_type} test queries per type "
                  "of the demo world",
        "business": ("given: " if config.models.business else "") + f"cross-encoder on {data.counts['business_labels'] if data else '?'} labelled pairs "
                    f"-> {business_dir(config, keys.business)}",
        "synthesis": f"run {synthesis_run_id(config, keys)} over {data.counts['train_queries'] if data else '?'} "
                     f"training queries -> " + (f"{shard_root(config)} (ray, {config.engine.num_workers} worker(s) "
                                                f"per stage)" if config.engine.kind == "ray" else config.output.store)
                     + _travel_note(config),
        "calibration": (f"the program on {config.calibration.queries_per_type} dev queries per type, every filter open "
                        f"-> operating point at precision {config.calibration.target_precision}"
                        if config.calibration else ""),
        "retrievers": f"baseline and baseline+synthetic, {config.retriever.steps} steps x batch "
                      f"{config.retriever.batch_size} -> {work_dir(config) / ('retrievers-' + keys.retrievers)}",
        "evaluate": f"{' / '.join(SYSTEMS)} on {data.counts['test_queries'] if data else '?'} test queries, "
                    f"top-{config.eval.k}, judge: {judge_description(config)}; SBS top-{config.eval.sbs_top} "
                    f"-> {config.output.report_dir}",
    }
    stages = []
    for stage in active_stages(config, keys):
        mode = keys.chain[stage].mode if stage in keys.chain else "train"
        if mode in ("given", "fallback"):
            state = mode
        else:
            state = "done" if stage_done(config, keys, stage) else ("blocked" if problems else "to run")
        stages.append((stage, state, details[stage]))
    return Plan(config, problems, stages, data.counts if data else {}), data


def _engine_problems(config: RunConfig) -> list[Problem]:
    import importlib.util

    if config.engine.kind == "ray" and importlib.util.find_spec("ray") is None:
        return [Problem("[engine]", "kind = \"ray\" needs Ray, which is not installed: pip install -e '.[ray]'")]
    return []


def _calibration_problems(config: RunConfig) -> list[Problem]:
    """``[calibration]`` and the retrievers' dev curve need judged dev queries: only the demo world has them."""
    if config.chain.source == "demo":
        return []
    out = []
    if config.calibration is not None:
        out.append(Problem("[calibration]", "needs judged dev queries, which only [chain] source = \"demo\" has; leave "
                                            "[calibration] out and set [chain] business_operating_point / general_operating_point"))
    if config.retriever.dev_every:
        out.append(Problem("[retriever]", "dev_every: the dev curve needs judged dev queries, which only [chain] "
                                          "source = \"demo\" has; set it to 0"))
    return out


def _travel_note(config: RunConfig) -> str:
    """The plan's word on a travelled operating point (``stage_keys`` has already refused a missing one)."""
    key = travelled_calibration_key(config)
    if not key:
        return ""
    home = rewriter_home(config)
    rewriter, _ = calibrate.load(home, key)
    return f", at run {home.name}'s dev operating point (rewriter: {rewriter})"


def _travel_problems(config: RunConfig) -> list[Problem]:
    if not config.models.from_run or rewriter_home(config).calibration is None:
        return []
    s = config.synthesis
    if s.min_retrieval_score is None and not s.min_retrieval_score_by_type:
        return []
    return [Problem("[synthesis]", f"min_retrieval_score(_by_type): [models] from_run = {config.models.from_run} "
                                   "calibrates them on its dev queries; leave them out")]


def plan(config: RunConfig | str | Path) -> Plan:
    return make_plan(config)[0]


def print_plan(config: RunConfig | str | Path, file=None) -> Plan:
    """Validate and print the plan (what ``tailsynth run --dry-run`` shows); returns it."""
    result = plan(config)
    print(result.render(), file=file)
    return result


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
    stages = active_stages(config, keys)
    run_started = time.perf_counter()
    with Store(config.output.store) as store:
        trained_ahead = _side_by_side(config, keys, data, stages, store, progress)
        for i, stage in enumerate(stages, 1):
            c = keys.chain.get(stage)
            if note := _given_note(config, keys, stage):
                report.stages[stage] = {"state": "given" if c is None else c.mode, "seconds": 0.0,
                                        "key": keys[stage], "note": note}
                announce(f"stage {i}/{len(stages)} {stage}: {note}", progress)
                continue
            if stage in trained_ahead:
                report.stages[stage] = trained_ahead[stage]
                continue
            done = stage_done(config, keys, stage, store)
            started = time.perf_counter()
            announce(f"stage {i}/{len(stages)} {stage}: " + ("done, skipped" if done and stage not in ("evaluate", "table3")
                                                             else "reloading" if done else "running"), progress)
            if stage in ("evaluate", "table3") or not done:
                func = STAGE_FUNCS.get(stage) or functools.partial(_chain_stage, stage)
                detail = func(config, keys, data, store, report, progress, done)
            else:
                detail = {}
            seconds = round(time.perf_counter() - started, 2)
            state = "skipped" if done else "ran"
            report.stages[stage] = {"state": state, "seconds": seconds, "key": keys[stage], **detail}
            if done and _marker(config, stage, keys[stage]).exists():
                report.stages[stage]["seconds_when_ran"] = json.loads(_marker(config, stage, keys[stage]).read_text())["seconds"]
            if stage == "synthesis":  # the guard rails judge the pairs before any retriever trains on them
                with synthesis_store(config, store) as syn:
                    findings = tables.guard_findings(config, syn, synthesis_run_id(config, keys))
                report.details["guards"] = [f.to_dict() for f in findings]
            if not done:
                announce(f"stage {i}/{len(stages)} {stage}: done in {seconds:.0f} s", progress)
                _write_marker(config, stage, keys[stage], seconds, detail)
        report.details["stages_wall_s"] = round(time.perf_counter() - run_started, 1)
        _collect_details(config, keys, data, store, report)
    write_report(report, config)
    return report


def _given_note(config: RunConfig, keys: Keys, stage: str) -> str | None:
    """Why a stage does not train in this run (a given model dir or a fallback), else None."""
    c = keys.chain.get(stage)
    if c is not None and c.mode in ("given", "fallback"):
        return c.note
    if stage == "business" and config.models.business:
        return f"given: {config.models.business}"
    return None


def _write_marker(config: RunConfig, stage: str, key: str, seconds: float, detail: dict) -> None:
    marker = _marker(config, stage, key)
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(json.dumps({"stage": stage, "key": key, "seconds": seconds,
                                  "finished_at": datetime.now(timezone.utc).isoformat(), **detail}, default=str))


def _side_by_side(config: RunConfig, keys: Keys, data: RunData, stages: list[str], store, progress: bool) -> dict:
    """With ``[engine] stage_workers`` > 1, the model stages still to train (business, the chain's
    models and filters) train side by side first (``runner.side_by_side``), each recorded (store
    rows, marker) as it finishes; returns stage → its report entry. Empty with one worker."""
    from tailsynth.runner import side_by_side

    workers = config.engine.stage_workers
    todo = [s for s in stages if s in side_by_side.AHEAD and not _given_note(config, keys, s)
            and not stage_done(config, keys, s, store)]
    if workers < 2 or len(todo) < 2:
        return {}
    if config.chain.source == "demo":
        chain_mod.chain_source(config)  # the world is generated and cached once, before the workers read it
    number, entries = {s: i for i, s in enumerate(stages, 1)}, {}

    def started(stage: str) -> None:
        announce(f"stage {number[stage]}/{len(stages)} {stage}: running (side by side, {workers} workers)", progress)

    def finished(stage: str, result) -> None:
        for table, rows, replace in result.writes:
            store.insert(table, rows, replace=replace)
        _write_marker(config, stage, keys[stage], result.seconds, result.detail)
        entries[stage] = {"state": "ran", "seconds": result.seconds, "key": keys[stage], **result.detail}
        announce(f"stage {number[stage]}/{len(stages)} {stage}: done in {result.seconds:.0f} s", progress)

    side_by_side.train_stages(config, todo, data.business_labels, workers, progress, started, finished)
    return entries


def _business(config, keys, data: RunData, store, report, progress, done) -> dict:
    return train_business(config, keys, data.business_labels)


def train_business(config: RunConfig, keys: Keys, business_labels: list[tuple[str, str, int]]) -> dict:
    """Train the business model; its metrics carry the named operating points of its held-out rows
    (``[chain] business_operating_point`` picks one for synthesis)."""
    from tailsynth.retrieval.business_relevance import BusinessRelevance

    queries, texts, labels = (list(x) for x in zip(*business_labels))
    model = BusinessRelevance.train(queries, texts, labels, config.business)
    model.save(business_dir(config, keys.business))
    return {"metrics": model.metrics}


def business_threshold(config: RunConfig, keys: Keys) -> float:
    """The business threshold synthesis runs at: ``[chain] business_operating_point`` of the trained
    model's held-out rows, else ``[synthesis] business_threshold``."""
    point = config.chain.business_operating_point
    if not point:
        return config.synthesis.business_threshold
    from tailsynth.retrieval.business_relevance import read_metadata

    path = business_dir(config, keys.business)
    points = read_metadata(path).get("metrics", {}).get("operating_points", {})
    if point not in points:
        raise RunError(f"{path}: no operating point {point!r} (stored: {sorted(points) or 'none'}); a given "
                       "[models] business dir from before they were stored needs retraining "
                       "(tailsynth train relevance), or drop [chain] business_operating_point")
    return float(points[point]["threshold"])


def _chain_stage(stage: str, config, keys, data: RunData, store, report, progress, done) -> dict:
    return chain_mod.train(config, keys.chain, stage, store, progress)


def run_synthesis_config(config: RunConfig, keys: Keys):
    """The ``SynthesisConfig`` the synthesis stage runs: [synthesis] with [models], the business
    model and the chain's trained rewriter and filters (their thresholds at the chosen operating points)."""
    if keys.calibration:
        rewriter, chosen = calibrate.load(config, keys.calibration)
        return calibrate.applied(_with_rewriter(config, keys, rewriter), chosen)
    travelled = travelled_calibration_key(config)
    if travelled:  # the other run's operating point; the business model (and its threshold) is this run's own
        home = rewriter_home(config)
        rewriter, chosen = calibrate.load(home, travelled)
        return dataclasses.replace(calibrate.applied(_with_rewriter(config, keys, rewriter), chosen),
                                   business_threshold=business_threshold(config, keys))
    base = _with_rewriter(config, keys, "chain")
    return dataclasses.replace(base, business_threshold=business_threshold(config, keys))


def _with_rewriter(config: RunConfig, keys: Keys, rewriter: str):
    """The synthesis config with the chain's models and ``rewriter`` (a ``[calibration] rewriters``
    name: the chain's trained one, or ``[models.rewriter]`` as configured, in the run the rewriter
    comes from: ``rewriter_home``), prompted as that run prompts it (``TRAVEL_WITH_REWRITER``)."""
    home = rewriter_home(config)
    models = chain_mod.synthesis_models(config, keys.chain)
    if rewriter == "configured":
        models["rewriter"] = home.models.rewriter
    models.update({name: getattr(home.synthesis, name) for name in TRAVEL_WITH_REWRITER})
    return dataclasses.replace(config.synthesis_config(business_dir(config, keys.business)), **models)


def train_queries(config: RunConfig, data: RunData) -> list[dict]:
    """The training queries, typed by the demo world when the chain trains on it (its truth), as given otherwise."""
    if config.chain.source != "demo":  # the per-type floors need a type: classified where the files give none
        from tailsynth.sources.files import typed_queries

        return typed_queries({"train": [dict(q) for q in data.train_queries]}, config.eval.qtype_method)["train"]
    truth = chain_mod.world_query_types(config)
    return [{**q, "qtype": q.get("qtype") or truth.get(q["query_id"])} for q in data.train_queries]


def rewrite_pool(config: RunConfig) -> list:
    """The chain source's annotated training rewrites, the pool ``[synthesis] rewrite_demo_selection
    = "nearest"`` picks each query's demos from (a demo chain leaves the synthesized queries out)."""
    from tailsynth.programs.for_source import rewrite_pool as pool_of

    config = rewriter_home(config)  # the demos travel with the rewriter
    pool = pool_of(chain_mod.chain_source(config), config.synthesis.k)
    if not pool:
        raise RunError("[synthesis] rewrite_demo_selection = 'nearest' needs annotated rewrite examples "
                       "([chain] source = \"demo\", or rewrite examples in the files); set it to 'fixed'")
    return pool


def _program_spec(config: RunConfig, syn_config, data: RunData):
    from tailsynth.programs.build import ProgramSpec

    return ProgramSpec(syn_config, data.catalog, index_dir=work_dir(config) / "indexes",
                       rewrite_demos=rewrite_pool(config) if syn_config.rewrite_demo_selection == "nearest" else None)


def _calibration(config, keys, data: RunData, store, report, progress, done) -> dict:
    """The program on judged dev queries with every filter open; the operating point synthesis runs at."""
    specs = {name: _program_spec(config, calibrate.open_config(_with_rewriter(config, keys, name)), data)
             for name in config.calibration.rewriters}
    rewriter, result = calibrate.run(config, keys.calibration, specs, store, progress, config.engine.stage_workers)
    return {"rewriter": rewriter, "business_threshold": result.business_threshold,
            "general_threshold": result.general_threshold, "floor": result.floor, "floor_by_type": result.floor_by_type,
            "rule": result.rule, "keep_rule_types": sorted(result.keep_rule_by_type), "dev": result.dev[ALL_TYPES]}


def _synthesis(config, keys, data: RunData, store, report, progress, done) -> dict:
    """On the ``[engine]``: the local engine builds every model here and writes into ``store``; Ray
    ships the spec to actor pools that build their stage's models and write under ``shard_root``."""
    from tailsynth.engines import run_synthesis

    spec = _program_spec(config, run_synthesis_config(config, keys), data)
    target = shard_root(config) if config.engine.kind == "ray" else store
    summary = run_synthesis(spec, train_queries(config, data), target, config.engine,
                            run_id=synthesis_run_id(config, keys), progress=progress)
    return {"funnel": summary.funnel, "stage_seconds": {k: round(v, 2) for k, v in summary.seconds.items()}}


def _table3(config, keys, data: RunData, store, report, progress, done) -> dict:
    run_id = table3_run_id(config, keys)
    from tailsynth.evals.table3 import accuracy_intervals

    results = tables.load_table3(store, run_id) if done else tables.run_table3(config, keys.chain, store, run_id)
    report.details["table3"] = results
    report.details["table3_intervals"] = accuracy_intervals(store, run_id)
    return {"reloaded": done}


def _synthetic_pairs(config, keys, data: RunData, store):
    from tailsynth.retrieval.trainer import pairs_from_store, synthetic_texts

    with synthesis_store(config, store) as syn:
        return synthetic_texts(pairs_from_store(syn, synthesis_run_id(config, keys)), data.catalog)


def _retrievers(config, keys, data: RunData, store, report, progress, done) -> dict:
    from tailsynth.retrieval.trainer import train_recipes

    synthetic = _synthetic_pairs(config, keys, data, store)
    if not synthetic:
        raise RunError(f"synthesis run {synthesis_run_id(config, keys)} kept no pairs, so there is nothing to add "
                       "to the baseline; lower [synthesis] business_threshold / general_threshold, add training "
                       "queries, or check the funnel with `tailsynth inspect funnel`")
    cfg = dataclasses.replace(retriever_config(config), show_progress=progress)
    root = work_dir(config) / f"retrievers-{keys.retrievers}"
    dev = dev_curve(config, data)
    if config.engine.stage_workers > 1:  # the two recipes side by side, each in a worker with a store file of its own
        from tailsynth.retrieval.trainer import RECIPES, recipe_config
        from tailsynth.runner.side_by_side import run_into_store

        paths = run_into_store(
            list(RECIPES), lambda recipe: (_train_recipe, (recipe_config(cfg, recipe, root), data.baseline_pairs,
                                                           synthetic, dev)),
            min(config.engine.stage_workers, len(RECIPES)), store, root / "stores")
    else:
        paths = train_recipes(cfg, data.baseline_pairs, synthetic, root, store=store, dev_metric=dev)
    return {"synthetic_pairs": len(synthetic), "baseline_pairs": len(data.baseline_pairs),
            "models": {k: str(v) for k, v in paths.items()}}


def _train_recipe(store, config, baseline, synthetic, dev):
    """One retriever recipe (in a side-by-side worker, ``store`` its own file)."""
    from tailsynth.retrieval.trainer import train_retriever

    return train_retriever(config, baseline, synthetic, store=store, dev_metric=dev)


def dev_curve(config: RunConfig, data: RunData):
    """The retrievers' dev metric (``evals.dev_curve.DevCurve``) on ``[retriever]
    dev_queries_per_type`` judged dev queries of the chain's source; None when ``dev_every`` is 0."""
    if not config.retriever.dev_every:
        return None
    from tailsynth.evals.dev_curve import DevCurve

    source = chain_mod.chain_source(config)
    queries = source.queries("dev", limit=config.retriever.dev_queries_per_type)
    judgements = source.judgements()
    if not queries or judgements is None:
        raise RunError("[retriever] dev_every needs judged dev queries, which only [chain] source = \"demo\" has; "
                       "set it to 0")
    return DevCurve(data.catalog, queries, judgements.judge, config.eval.k)


def _evaluate(config, keys, data: RunData, store, report, progress, done) -> dict:
    """Evaluate (or, when done, reload the stored results): Table 1 layout and SBS."""
    from tailsynth.runner.evaluate import evaluate_systems, load_results

    run_id = eval_run_id(config, keys)
    if done:
        report.table1, report.sbs = load_results(store, run_id)
        return {"reloaded": True}
    paths = retriever_paths(config, keys)
    systems = {"untrained": retriever_config(config).base_model, **paths}
    report.table1, report.sbs, detail = evaluate_systems(config, data, store, run_id, systems, work_dir(config) / "indexes")
    return detail


STAGE_FUNCS = {"business": _business, "calibration": _calibration, "synthesis": _synthesis, "retrievers": _retrievers, "evaluate": _evaluate,
               "table3": _table3}
"""Stage → function; the chain's model stages not listed here go to ``_chain_stage``."""


def _collect_details(config: RunConfig, keys: Keys, data: RunData, store, report: Report) -> None:
    from tailsynth.store.reads import funnel

    meta = json.loads((business_dir(config, keys.business) / "business_relevance.json").read_text())
    report.details["business_metrics"] = meta.get("metrics", {})
    report.details["synthesis_run_id"] = synthesis_run_id(config, keys)
    if keys.calibration:
        path = calibrate.calibration_dir(config, keys.calibration) / calibrate.RESULT
        report.details["calibration"] = json.loads(path.read_text())
    elif travelled := travelled_calibration_key(config):
        home = rewriter_home(config)
        path = calibrate.calibration_dir(home, travelled) / calibrate.RESULT
        report.details["calibration"] = json.loads(path.read_text()) | {
            "from_run": home.name, "business_threshold_here": business_threshold(config, keys)}
    report.details["eval_run_id"] = eval_run_id(config, keys)
    report.details["table1_gains"] = tables.gain_intervals(store, eval_run_id(config, keys))
    report.details["retrievers"] = {}
    for recipe, path in retriever_paths(config, keys).items():
        m = json.loads((path / "tailsynth_train.json").read_text())
        report.details["retrievers"][recipe] = {k: m.get(k) for k in (
            "steps", "batch_size", "baseline_rows", "synthetic_rows", "final_loss", "device", "dev_curve")} | {"path": str(path)}
    report.details["data"] = report.plan.counts if report.plan else {}
    with synthesis_store(config, store) as syn:  # one view of the synthesis run for every read of it
        report.details["funnel"] = funnel(syn, synthesis_run_id(config, keys))
        _collect_chain(config, keys, data, syn, report)


def _collect_chain(config: RunConfig, keys: Keys, data: RunData, store, report: Report) -> None:
    """The chain's models and metrics, what synthesis ran with, the audit and Table 2 (``store``:
    the synthesis run's, ``synthesis_store``)."""
    run_id = synthesis_run_id(config, keys)
    d = report.details
    d["chain"] = {s: {"mode": c.mode, "path": c.path, "key": c.key, "note": c.note} for s, c in keys.chain.items()
                  if c.mode != "off"}
    d["fallbacks"] = [f"{s}: {c.note}" for s, c in keys.chain.items() if c.mode == "fallback"]
    d["chain_metrics"] = {s: chain_mod.summary(c) for s, c in keys.chain.items() if c.mode == "train"}
    (model_ids,) = store.fetch("SELECT model_ids FROM runs WHERE run_id = ?", [run_id])[0]
    d["synthesis_models"] = json.loads(model_ids) if model_ids else {}
    d["synthesis_config"] = json.loads(store.fetch("SELECT config FROM runs WHERE run_id = ?", [run_id])[0][0])
    d["train_judge"] = tables.train_judge(config, data)[1]
    d["audit"] = tables.audit(config, data, store, run_id, Path(config.output.report_dir))
    d["table2"] = tables.table2(config, data, store, run_id, Path(config.output.report_dir))
    d["true_funnel"] = tables.true_funnel(config, data, store, run_id)
    if d["table2"] is None:
        d["table2_note"] = d["train_judge"]
    if keys.table3 is None:
        d["table3_note"] = ("Table 3 needs a rewrite labeler ([chain] source = \"demo\") and a trained rewriter "
                            "([sft] / [rl])")


