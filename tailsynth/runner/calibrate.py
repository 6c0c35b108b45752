"""The calibration stage: run the synthesis program on judged dev queries with every filter open,
label its candidates with the dev truth and choose the operating point synthesis runs at
(``tailsynth.calibration``). Its pairs stay in the run's store (run ``<name>-cal-<key>[-<rewriter>]``, kind
``calibration``), so what it chose from can be read with SQL like any synthesis run.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from tailsynth.calibration import ALL, Calibration, DevRow, calibrate
from tailsynth.runner.config import RunConfig

RESULT = "calibration.json"
KIND = "calibration"
"""``runs.kind`` of the dev runs (a synthesis run in every other respect)."""

_DEV_ROWS_SQL = """
SELECT c.query_id, c.product_id, q.qtype, c.ann_score, p.business_score, p.general_p_yes
FROM candidates c
JOIN queries q ON q.run_id = c.run_id AND q.query_id = c.query_id
JOIN pairs p ON p.run_id = c.run_id AND p.query_id = c.query_id AND p.product_id = c.product_id
WHERE c.run_id = ? AND p.general_p_yes IS NOT NULL
ORDER BY c.query_id, c.product_id
"""


def calibration_dir(config: RunConfig, key: str) -> Path:
    return Path(config.output.work_dir) / f"calibration-{key}"


def dev_run_id(config: RunConfig, key: str) -> str:
    return f"{config.name}-cal-{key}"


def dev_queries(config: RunConfig) -> list[dict]:
    """The chain source's judged dev queries, ``[calibration] queries_per_type`` of each type."""
    from tailsynth.runner.chain import chain_source

    rows = chain_source(config).queries("dev", limit=config.calibration.queries_per_type) or []
    return [{"query_id": q["query_id"], "text": q["text"], "qtype": q.get("qtype")} for q in rows]


def open_config(syn_config):
    """The synthesis config with every filter open: each candidate is scored by both models, none
    is rejected, so any operating point can be read off the scores."""
    return dataclasses.replace(syn_config, business_threshold=0.0, general_threshold=0.0, min_retrieval_score=None,
                               min_retrieval_score_by_type={}, keep_rule=None, keep_rule_by_type={},
                               max_general_per_query=syn_config.top_k * (syn_config.k + 1))


def run(config: RunConfig, key: str, specs: dict, store, progress: bool = True,
        workers: int = 1) -> tuple[str, Calibration]:
    """For each rewriter name → ``ProgramSpec`` (of ``open_config``): synthesize for the dev
    queries, label the candidates, choose the operating point; keep the rewriter whose choice
    reaches the target on the most types, then keeps the most dev pairs (then the higher
    precision, then the first named). Writes ``calibration_dir``; returns (rewriter, choice).

    With ``workers`` > 1 the rewriters' dev runs go side by side, each in a worker process
    (``runner.side_by_side.run_into_store``): the same rows in ``store``."""
    from tailsynth.runner.chain import chain_source

    queries = dev_queries(config)
    if not queries:
        raise ValueError("[calibration] needs judged dev queries; the chain's source has none")
    judge = chain_source(config).require("judgements").judge
    c = config.calibration
    run_ids = {name: dev_run_id(config, key) + (f"-{name}" if len(specs) > 1 else "") for name in specs}
    if workers > 1 and len(specs) > 1:  # a 135M LM writing rewrites keeps one core busy at most
        from tailsynth.runner.chain import judged_catalog_index
        from tailsynth.runner.side_by_side import run_into_store

        judged_catalog_index(config)  # encoded once here, not by each worker
        run_into_store(list(specs), lambda name: (_dev_run, (specs[name], queries, run_ids[name], progress, name)),
                       min(workers, len(specs)), store, calibration_dir(config, key) / "dev-runs")
    else:
        for name, spec in specs.items():
            _dev_run(store, spec, queries, run_ids[name], progress)
    tried: dict[str, tuple[str, Calibration]] = {}
    for name in specs:
        run_id = run_ids[name]
        rows = [row for _, row in dev_rows(store, run_id, judge)]
        tried[name] = run_id, calibrate(rows, c.target_precision, c.per_type, c.min_pairs, c.business_recalls,
                                        c.general_recalls, c.rule)

    def rank(name: str) -> tuple:
        chosen = tried[name][1]
        return sum(chosen.reached.values()), chosen.dev[ALL]["kept"], chosen.dev[ALL]["precision"] or 0.0
    best = max(tried, key=lambda name: (rank(name), -list(tried).index(name)))
    run_id, result = tried[best]
    summary = {name: {"run_id": rid, "kept": r.dev[ALL]["kept"], "precision": r.dev[ALL]["precision"],
                      "reached": r.reached} for name, (rid, r) in tried.items()}
    out = calibration_dir(config, key)
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / (RESULT + ".tmp")
    tmp.write_text(json.dumps({"run_id": run_id, "queries": len(queries), "rewriter": best, "rewriters": summary,
                               **result.to_dict()}, indent=2))
    tmp.replace(out / RESULT)
    return best, result


def _dev_run(store, spec, queries: list[dict], run_id: str, progress: bool, label: str = "") -> str:
    """One dev run into ``store`` (a worker's own store file when side by side)."""
    spec.program().run(queries, store, run_id=run_id, progress=progress, kind=KIND, label=label)
    return run_id


def dev_rows(store, run_id: str, judge) -> list[tuple[str, DevRow]]:
    """(query id, ``DevRow``) of every candidate of a dev run both models scored, labelled by ``judge``."""
    by_query: dict[str, list[tuple]] = {}
    for row in store.fetch(_DEV_ROWS_SQL, [run_id]):
        by_query.setdefault(row[0], []).append(row)
    rows = []
    for qid, group in by_query.items():
        truth = judge(qid, [r[1] for r in group])
        rows += [(qid, DevRow(r[2], float(r[3]), float(r[4]), float(r[5]), bool(t))) for r, t in zip(group, truth)]
    return rows


def result_of(config: RunConfig, key: str | None) -> dict:
    """The ``calibration.json`` of a finished calibration stage, with ``dev_runs`` (rewriter → its
    dev run id in the run's store); ``ValueError`` saying what to run when there is none."""
    if not key:
        raise ValueError(f"run {config.name!r} has no [calibration] section: no dev runs to read")
    path = calibration_dir(config, key) / RESULT
    if not path.exists():
        raise ValueError(f"{path} is missing: run the calibration first (tailsynth run --config ...)")
    data = json.loads(path.read_text())
    data["dev_runs"] = {name: r["run_id"] for name, r in data.get("rewriters", {}).items()} or {"chain": data["run_id"]}
    return data


def finished(config_path: str | Path):
    """``(config, data, keys, result_of(...))`` of the run at ``config_path`` whose calibration has
    run: what the benchmarks that read its dev runs start from. ``SystemExit`` saying what to run
    when it has not."""
    from tailsynth.runner import pipeline
    from tailsynth.runner.config import load_run_config

    config = load_run_config(config_path)
    _, data = pipeline.make_plan(config)
    keys = pipeline.stage_keys(config)
    try:
        return config, data, keys, result_of(config, keys.calibration)
    except ValueError as e:
        raise SystemExit(f"{config_path}: {e}") from None


def load(config: RunConfig, key: str) -> tuple[str, Calibration]:
    """(the rewriter chosen, the operating point) of a finished calibration stage."""
    data = json.loads((calibration_dir(config, key) / RESULT).read_text())
    rewriter = data.get("rewriter", "chain")
    for name in ("run_id", "queries", "rewriter", "rewriters"):
        data.pop(name, None)
    return rewriter, Calibration.from_dict(data)


def applied(syn_config, calibration: Calibration):
    """The synthesis config at the calibrated operating point (with its keep rules, ``combined``)."""
    rule = calibration.keep_rule
    return dataclasses.replace(syn_config, business_threshold=calibration.business_threshold,
                               general_threshold=calibration.general_threshold, min_retrieval_score=calibration.floor,
                               min_retrieval_score_by_type=dict(calibration.floor_by_type),
                               keep_rule=rule.to_dict() if rule else None,
                               keep_rule_by_type={t: r.to_dict() for t, r in calibration.keep_rule_by_type.items()})
