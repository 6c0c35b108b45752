"""Which few-shot demos the rewriter sees for a query.

``fixed``: the same first ``n`` demos of the pool for every query (one per query type, as
``Source.rewrite_demos`` gives them). ``nearest``: per query, the ``n`` annotated examples whose
queries are nearest by the retrieval encoder (``dspy.KNN``). Why: a long-tail query's need is
usually shared by a few annotated queries that say it differently ("ways to unclog a toilet",
"trying to unclog a toilet"), and their rewrites are the product language for exactly that need
("flange toilet plunger"), which no fixed demo per type can show. On the small profile's 20
training queries the packaged SmolLM2 writes 52 relevant rewrites of 65 with its 3 nearest demos
against 3 of 39 with the fixed ones (``benchmarks/rewrite_demos.py``, results/rewrite_demos/).
"""

from __future__ import annotations

from collections.abc import Callable

import dspy

def rewrite_example(query: str, rewrites: list[str], k: int) -> dspy.Example:
    """One (query → rewrites) demo, ``query`` as its input."""
    return dspy.Example(query=query, rewrites=list(rewrites)[:k]).with_inputs("query")


class NearestDemos:
    """``NearestDemos(pool, encode, n)(query)`` → the ``n`` pool demos nearest to ``query``, nearest
    last (next to the query in the prompt). A pool demo whose query is the query itself is skipped,
    so a query never sees its own annotation. ``encode``: texts → vectors (inner product = similarity,
    e.g. ``Encoder.encode``)."""

    def __init__(self, pool: list[dspy.Example], encode: Callable[[list[str]], "object"], n: int):
        if n < 1:
            raise ValueError(f"n must be >= 1, got {n}")
        if not pool:
            raise ValueError("nearest demos need a non-empty pool of annotated rewrite examples")
        self.n = n
        self._knn = dspy.KNN(k=min(len(pool), n + 1), trainset=pool, vectorizer=dspy.Embedder(encode))

    def __call__(self, query: str) -> list[dspy.Example]:
        own = _same_text(query)
        near = [d for d in self._knn(query=query) if _same_text(str(d.query)) != own]
        return list(reversed(near[: self.n]))


def _same_text(text: str) -> str:
    return " ".join(text.split()).casefold()
