"""The synthesis funnel with its true pairs: where the pairs a judge calls relevant are lost.

``synthesis.funnel`` counts what each stage let through; that says how few pairs survive, not
whether the stages threw away good ones. Given a judge of relevance (the demo world's truth, or an
annotation set), this counts, per query type, the pairs and the *true* pairs at each stage:

    candidates      every (query, product) the ANN search over the rewrites found
    business_pass   business_score >= the run's business threshold (a candidate under the
                    retrieval floor is never scored, so it does not pass)
    general_scored  scored by the general filter (general_p_yes set; the rest were over the
                    max_general_per_query cap, or not reached yet in an unfinished run)
    kept            the run's output pairs

    rows = true_pair_funnel(store, run_id, lambda qid, pid: pid in world.relevant_ids(qid))
    for r in rows: print(r.qtype, r.stage, r.pairs, r.true_pairs)
    true_pairs_lost(rows)   # {qtype: {"business_pass": lost there, ...}}

The judge sees each candidate pair once. Pairs come from the ``candidates`` table joined with
``pairs`` and ``queries`` of the run (columns in ``store.schema``), through parameters only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from tailsynth.store import reads

STAGES = ("candidates", "business_pass", "general_scored", "kept")
ALL = "all"
"""The ``qtype`` of the rows summed over every query type."""
UNTYPED = "untyped"
"""The ``qtype`` of queries stored without one."""

_SQL = """
SELECT c.query_id, c.product_id, q.qtype,
       coalesce(p.business_score >= ?, false) AS business_pass,
       p.general_p_yes IS NOT NULL AS general_scored,
       coalesce(p.kept, false) AS kept
FROM candidates c
JOIN queries q ON q.run_id = c.run_id AND q.query_id = c.query_id
LEFT JOIN pairs p ON p.run_id = c.run_id AND p.query_id = c.query_id AND p.product_id = c.product_id
WHERE c.run_id = ?
ORDER BY c.query_id, c.product_id
"""
@dataclass(frozen=True)
class FunnelRow:
    """Pairs and judged-true pairs of one query type at one stage."""

    qtype: str
    stage: str
    pairs: int
    true_pairs: int

    @property
    def precision(self) -> float | None:
        """Share of this stage's pairs that are true (None without pairs)."""
        return self.true_pairs / self.pairs if self.pairs else None


def true_pair_funnel(store, run_id: str, judge: Callable[[str, str], bool],
                     business_threshold: float | None = None) -> list[FunnelRow]:
    """Rows (qtype, stage, pairs, true_pairs) for every query type of the run and for ``ALL``, in
    ``STAGES`` order; ``judge(query_id, product_id)`` says whether a pair is truly relevant.
    ``business_threshold`` defaults to the run's own."""
    threshold = reads.business_threshold(store, run_id) if business_threshold is None else float(business_threshold)
    counts: dict[str, dict[str, list[int]]] = {}
    for query_id, product_id, qtype, business, general, kept in store.fetch(_SQL, [threshold, run_id]):
        true = bool(judge(query_id, product_id))
        passed = (True, bool(business), bool(general), bool(kept))
        for key in (qtype or UNTYPED, ALL):
            per_stage = counts.setdefault(key, {s: [0, 0] for s in STAGES})
            for stage, ok in zip(STAGES, passed):
                if ok:
                    per_stage[stage][0] += 1
                    per_stage[stage][1] += true
    order = sorted(k for k in counts if k != ALL) + ([ALL] if counts else [])
    return [FunnelRow(q, s, *counts[q][s]) for q in order for s in STAGES]


def true_pairs_lost(rows: list[FunnelRow]) -> dict[str, dict[str, int]]:
    """Per query type, the true pairs each stage after ``candidates`` removed (where to look first)."""
    by = {(r.qtype, r.stage): r.true_pairs for r in rows}
    out: dict[str, dict[str, int]] = {}
    for qtype in dict.fromkeys(r.qtype for r in rows):
        out[qtype] = {b: by[(qtype, a)] - by[(qtype, b)] for a, b in zip(STAGES, STAGES[1:])}
    return out
