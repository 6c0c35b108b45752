"""Quality of a synthesis run against a judge: pair accuracy (Table 2) and rewrite accuracy.

On the demo world the judge is the ground truth; on a user's data it is their qrels or the
general relevance classifier.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

from tailsynth.store import Store

Judge = Callable[[str, list[str]], list[bool]]


PAIR_SETS = {
    "kept": "p.kept",
    "general_scored": "p.general_p_yes IS NOT NULL",  # the business model's survivors the LM filter saw
}


def pair_accuracy(store: Store, run_id: str, judge: Judge, pairs: str = "kept") -> dict[str, dict[str, float]]:
    """Per query type (and 'all'): fraction of the chosen pairs (``PAIR_SETS``) that are truly relevant."""
    rows = store.fetch(
        "SELECT q.qtype, p.query_id, p.product_id FROM pairs p JOIN queries q USING (run_id, query_id) "
        f"WHERE p.run_id = ? AND {PAIR_SETS[pairs]} ORDER BY p.query_id, p.product_id",
        [run_id],
    )
    by_query: dict[tuple[str, str], list[str]] = defaultdict(list)
    for qtype, qid, pid in rows:
        by_query[(qtype or "unknown", qid)].append(pid)
    good: dict[str, int] = defaultdict(int)
    total: dict[str, int] = defaultdict(int)
    for (qtype, qid), pids in by_query.items():
        verdicts = judge(qid, pids)
        for key in (qtype, "all"):
            good[key] += sum(verdicts)
            total[key] += len(verdicts)
    return {k: {"pair_accuracy": good[k] / total[k], "pairs": float(total[k])} for k in total}


def rewrite_accuracy(store: Store, run_id: str, label: Callable[[str, str], str]) -> dict[str, dict[str, float]]:
    """Per query type: fraction of generated rewrites (rank > 0) whose true label is relevant,
    and the rewrite filter's agreement with the truth on keep (relevant/partial) vs drop."""
    rows = store.fetch(
        "SELECT q.qtype, r.query_id, r.rewrite, r.kept FROM rewrites r JOIN queries q USING (run_id, query_id) "
        "WHERE r.run_id = ? AND r.rank > 0",
        [run_id],
    )
    stats: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])  # relevant, total, filter agrees, judged
    for qtype, qid, rewrite, kept in rows:
        truth = label(qid, rewrite)
        for key in (qtype or "unknown", "all"):
            s = stats[key]
            s[0] += truth == "relevant"
            s[1] += 1
            if kept is not None:
                s[2] += bool(kept) == (truth != "irrelevant")
                s[3] += 1
    return {
        k: {"rewrite_accuracy": s[0] / s[1], "filter_agreement": s[2] / s[3] if s[3] else float("nan"), "rewrites": float(s[1])}
        for k, s in stats.items()
    }
