"""Reads of a run: the one home of the SQL that more than one command asks.

The funnel (per query type and in total), the kept pairs and their hard negatives, the latest
synthesis run, and a run's own settings read back from ``runs.config`` (a setting the run did not
record falls back to the ``SynthesisConfig`` default, its one home).
"""

from __future__ import annotations

import json
from dataclasses import fields
from typing import Any

FUNNEL_COLUMNS = ("queries", "rewrites", "rewrites_kept", "rewrites_dropped", "candidates", "business_pass",
                  "general_scored", "general_removed", "pairs_kept")

FUNNEL_SQL = """
    WITH thr AS (SELECT CAST(json_extract(config, '$.business_threshold') AS DOUBLE) AS t FROM runs WHERE run_id = $run),
    q AS (SELECT query_id, qtype FROM queries WHERE run_id = $run),
    r AS (SELECT q.qtype, count(*) AS rewrites, count(*) FILTER (WHERE r.kept) AS rewrites_kept,
                 count(*) FILTER (WHERE r.kept = false) AS rewrites_dropped
          FROM rewrites r JOIN q USING (query_id) WHERE r.run_id = $run AND r.rank > 0 GROUP BY q.qtype),
    c AS (SELECT q.qtype, count(*) AS candidates
          FROM candidates c JOIN q USING (query_id) WHERE c.run_id = $run GROUP BY q.qtype),
    p AS (SELECT q.qtype,
                 count(*) FILTER (WHERE p.business_score >= (SELECT t FROM thr)) AS business_pass,
                 count(*) FILTER (WHERE p.general_p_yes IS NOT NULL) AS general_scored,
                 count(*) FILTER (WHERE p.general_p_yes IS NOT NULL AND NOT p.kept) AS general_removed,
                 count(*) FILTER (WHERE p.kept) AS pairs_kept
          FROM pairs p JOIN q USING (query_id) WHERE p.run_id = $run GROUP BY q.qtype)
    SELECT t.qtype, t.queries,
           coalesce(r.rewrites, 0) AS rewrites, coalesce(r.rewrites_kept, 0) AS rewrites_kept,
           coalesce(r.rewrites_dropped, 0) AS rewrites_dropped, coalesce(c.candidates, 0) AS candidates,
           coalesce(p.business_pass, 0) AS business_pass, coalesce(p.general_scored, 0) AS general_scored,
           coalesce(p.general_removed, 0) AS general_removed, coalesce(p.pairs_kept, 0) AS pairs_kept
    FROM (SELECT qtype, count(*) AS queries FROM q GROUP BY qtype) t
    LEFT JOIN r ON r.qtype IS NOT DISTINCT FROM t.qtype
    LEFT JOIN c ON c.qtype IS NOT DISTINCT FROM t.qtype
    LEFT JOIN p ON p.qtype IS NOT DISTINCT FROM t.qtype
    ORDER BY t.qtype
"""
"""Funnel per query type of run ``$run`` (plain SQL: ``tailsynth inspect funnel`` prints it as is)."""

KEPT_PAIRS_SQL = (
    "SELECT p.query_id, q.text, p.product_id FROM pairs p JOIN queries q USING (run_id, query_id) "
    "WHERE p.run_id = ? AND p.kept ORDER BY p.query_id, p.ann_rank, p.product_id"
)

HARD_NEGATIVES_SQL = (
    # A real reject: the negation rule, the business model or the general filter said no. A candidate over
    # max_general_per_query ('cap') or under the retrieval floor ('retrieval') was never judged, so it is no negative. NULL decided_by with
    # kept = FALSE only occurs in stores written before the column existed.
    "SELECT query_id, product_id FROM pairs WHERE run_id = ? AND kept = FALSE "
    "AND coalesce(decided_by, 'unrecorded') NOT IN ('cap', 'retrieval') AND ann_rank <= ? ORDER BY query_id, ann_rank, product_id"
)


def _params(sql: str, run_id: str) -> tuple[str, list]:
    return sql.replace("$run", "$1"), [run_id]


def funnel_by_type(store, run_id: str) -> dict[str | None, dict[str, int]]:
    """qtype (None for untyped queries) → ``FUNNEL_COLUMNS`` counts."""
    rows = store.fetch(*_params(FUNNEL_SQL, run_id))
    return {row[0]: dict(zip(FUNNEL_COLUMNS, (int(x) for x in row[1:]))) for row in rows}


def funnel(store, run_id: str) -> dict[str, int]:
    """Counts per stage for one run: what each box of the diagram let through."""
    per = funnel_by_type(store, run_id).values()
    return {name: sum(m[name] for m in per) for name in FUNNEL_COLUMNS}


def kept_pairs(store, run_id: str) -> list[tuple[str, str, str]]:
    """``(query id, query text, product id)`` of every kept pair, by query then ANN rank."""
    return store.fetch(KEPT_PAIRS_SQL, [run_id])


def hard_negatives(store, run_id: str, max_negatives: int = 4, max_negative_rank: int = 50) -> dict[str, list[str]]:
    """Query id → ids of its rejected (``decided_by`` negation, business or general) but well-ranked
    candidates, best ANN rank first, at most ``max_negatives``."""
    negatives: dict[str, list[str]] = {}
    for qid, pid in store.fetch(HARD_NEGATIVES_SQL, [run_id, max_negative_rank]):
        held = negatives.setdefault(qid, [])
        if len(held) < max_negatives:
            held.append(pid)
    return negatives


def latest_synthesis_run(store) -> str:
    rows = store.fetch("SELECT run_id FROM runs WHERE kind = 'synthesis' ORDER BY started_at DESC LIMIT 1")
    if not rows:
        raise ValueError(f"no synthesis run in {store.path}; run `tailsynth synthesize` first")
    return rows[0][0]


def run_config(store, run_id: str) -> dict[str, Any]:
    rows = store.fetch("SELECT config FROM runs WHERE run_id = ?", [run_id])
    if not rows:
        raise ValueError(f"no run {run_id!r} in {store.path}")
    return json.loads(rows[0][0]) if rows[0][0] else {}


def synthesis_setting(store, run_id: str, name: str) -> Any:
    """A ``SynthesisConfig`` field as the run recorded it, else the field's default."""
    from tailsynth.config import SynthesisConfig

    known = {f.name: f for f in fields(SynthesisConfig)}
    if name not in known:
        raise ValueError(f"unknown synthesis setting {name!r}")
    value = run_config(store, run_id).get(name)
    return getattr(SynthesisConfig(), name) if value is None else value


def business_threshold(store, run_id: str) -> float:
    return float(synthesis_setting(store, run_id, "business_threshold"))


def top_k(store, run_id: str) -> int:
    return int(synthesis_setting(store, run_id, "top_k"))


def query_values(store, run_id: str, suite: str, system: str, metric: str) -> dict[str, tuple[str, float]]:
    """``query_id -> (qtype, value)`` of one system's per-query metric in an evaluation
    (``eval_query_results``; empty when the evaluation kept no per-query rows)."""
    rows = store.fetch("SELECT query_id, qtype, value FROM eval_query_results WHERE run_id = ? AND suite = ? "
                       "AND system = ? AND metric = ? ORDER BY query_id", [run_id, suite, system, metric])
    return {qid: (qtype, value) for qid, qtype, value in rows}
