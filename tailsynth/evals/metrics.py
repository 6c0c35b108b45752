"""The paper's retrieval metrics, as pure functions over judged result lists.

Every function takes plain Python lists so any judge (demo-world ground truth, an LLM judge, a
human) can feed it; none of them re-truncates except where its name says ``@k``. Callers pass the
top-200 lists the retriever returned, already judged, in rank order.
"""

from __future__ import annotations

import math
from collections.abc import Sequence


def item_goodrate(judged: Sequence[Sequence[bool]]) -> float:
    """Item Goodrate: mean over queries of (relevant items returned / items returned).

    A query whose list is empty counts 0 (returning nothing is not a success); with no queries at
    all the result is 0.0. A list shorter than 200 is divided by its own length, as in the paper.
    """
    if not judged:
        return 0.0
    rates = [sum(map(bool, row)) / len(row) if row else 0.0 for row in judged]
    return sum(rates) / len(rates)


def query_goodrate(judged: Sequence[Sequence[bool]], n: int) -> float:
    """Query Goodrate@N: fraction of queries with at least ``n`` relevant items in their list.

    The paper reports N = 10 and N = 100 over top-200 lists. 0.0 when there are no queries.
    """
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    if not judged:
        return 0.0
    return sum(sum(map(bool, row)) >= n for row in judged) / len(judged)


def recall_at_k(
    retrieved_ids: Sequence[Sequence[str]], relevant_sets: Sequence[set[str]], k: int
) -> float:
    """Recall@k: mean over queries of |top-k ∩ relevant| / |relevant|.

    Queries with no relevant items are skipped (recall is undefined for them); ``nan`` when every
    query is skipped, so an empty benchmark never reads as a perfect or a failed one.
    """
    _check_aligned(retrieved_ids, relevant_sets, k)
    values = [
        len(set(ids[:k]) & rel) / len(rel) for ids, rel in zip(retrieved_ids, relevant_sets) if rel
    ]
    return sum(values) / len(values) if values else math.nan


def ndcg_at_k(
    retrieved_ids: Sequence[Sequence[str]], relevant_sets: Sequence[set[str]], k: int
) -> float:
    """nDCG@k with binary gains: DCG = Σ_{i=1..k} rel_i / log2(i + 1), divided by the ideal DCG
    of min(k, |relevant|) relevant items at the top.

    A repeated id earns gain only at its first position. Queries with no relevant items are
    skipped; ``nan`` when every query is skipped.
    """
    _check_aligned(retrieved_ids, relevant_sets, k)
    values = []
    for ids, rel in zip(retrieved_ids, relevant_sets):
        if not rel:
            continue
        seen: set[str] = set()
        dcg = 0.0
        for i, pid in enumerate(ids[:k], start=1):
            if pid in rel and pid not in seen:
                dcg += 1.0 / math.log2(i + 1)
            seen.add(pid)
        ideal = sum(1.0 / math.log2(i + 1) for i in range(1, min(k, len(rel)) + 1))
        values.append(dcg / ideal)
    return sum(values) / len(values) if values else math.nan


def gsb(
    new_judged_top: Sequence[Sequence[bool]],
    base_judged_top: Sequence[Sequence[bool]],
    top: int = 10,
) -> dict[str, float]:
    """Side-by-side Good/Same/Bad of a new system against a baseline (paper Table 4).

    Per query: Good if the new list has more relevant items in its top-``top`` (10) than the
    baseline's, Bad if fewer, Same otherwise. GSB = (G − B) / (G + S + B), 0.0 with no queries.
    """
    if len(new_judged_top) != len(base_judged_top):
        raise ValueError(
            f"{len(new_judged_top)} new lists but {len(base_judged_top)} baseline lists"
        )
    good = same = bad = 0
    for new, base in zip(new_judged_top, base_judged_top):
        diff = sum(map(bool, new[:top])) - sum(map(bool, base[:top]))
        good, same, bad = good + (diff > 0), same + (diff == 0), bad + (diff < 0)
    total = good + same + bad
    return {"good": good, "same": same, "bad": bad, "gsb": (good - bad) / total if total else 0.0}


def _check_aligned(retrieved: Sequence, relevant: Sequence, k: int) -> None:
    if len(retrieved) != len(relevant):
        raise ValueError(f"{len(retrieved)} result lists but {len(relevant)} relevant sets")
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
