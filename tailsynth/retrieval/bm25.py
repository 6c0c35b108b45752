"""BM25 over the catalog text (``bm25s``): the lexical row of the Table 1 layout.

``BM25Retriever(catalog).search(queries, k)`` returns the same shape as
``evals.retrieval_eval.retrieve`` (one rank-ordered list of product ids per query), so
``score_lists`` and the SBS comparison take its output unchanged; its eval is
``evals.retrieval_eval.evaluate_bm25``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tailsynth.catalog import Catalog


class BM25Retriever:
    """Okapi BM25 (bm25s, Lucene variant) over ``catalog.texts``; English stopwords, lower-cased."""

    def __init__(self, catalog: Catalog, k1: float = 1.5, b: float = 0.75, stopwords: str | None = "en"):
        import bm25s

        self.catalog, self.stopwords = catalog, stopwords
        self.model = bm25s.BM25(k1=k1, b=b)
        tokens = bm25s.tokenize(list(catalog.texts), stopwords=stopwords, show_progress=False)
        self.model.index(tokens, show_progress=False)

    def search(self, texts: Sequence[str], k: int = 200) -> list[list[str]]:
        """Top-``k`` product ids per query text, best first; products scoring 0 are left out."""
        import bm25s

        if not texts:
            return []
        k = min(k, len(self.catalog))
        tokens = bm25s.tokenize(list(texts), stopwords=self.stopwords, show_progress=False)
        docs, scores = self.model.retrieve(tokens, k=k, show_progress=False, n_threads=1)
        ids = self.catalog.ids
        return [[ids[int(d)] for d, s in zip(row_d, row_s) if s > 0] for row_d, row_s in zip(np.asarray(docs), np.asarray(scores))]


def retrieve_bm25(catalog: Catalog, queries: Sequence[dict], k: int = 200, retriever: BM25Retriever | None = None) -> list[list[str]]:
    """``retrieve``-shaped lists for query dicts (``text`` key)."""
    retriever = retriever or BM25Retriever(catalog)
    return retriever.search([q["text"] for q in queries], k)
