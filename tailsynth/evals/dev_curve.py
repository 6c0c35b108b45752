"""A retriever's dev curve: Item Goodrate@k of the model in training on judged dev queries.

The retriever trainer takes any ``model -> {name: value}`` callable as its ``dev_metric``
(``retrieval.trainer``); this is the one the runner gives it, so the report can show whether the
baseline recipe had flattened when its steps ran out (the comparison with baseline + synthetic is
only fair if the baseline is not starved). Brute force over the whole catalog with torch: the
catalog is re-encoded at every point, as the weights move.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

from tailsynth.catalog import Catalog
from tailsynth.evals.metrics import item_goodrate

Judge = Callable[[str, list[str]], list[bool]]


class DevCurve:
    """``DevCurve(catalog, queries, judge, k)(model)`` → ``{"item_goodrate@k": value}`` over
    ``queries`` (``{query_id, text}`` rows, e.g. a source's dev split) judged by ``judge``."""

    def __init__(self, catalog: Catalog, queries: Sequence[dict], judge: Judge, k: int = 100,
                 batch_size: int = 128):
        if not queries:
            raise ValueError("a dev curve needs judged dev queries")
        self.catalog, self.queries, self.judge = catalog, list(queries), judge
        self.k, self.batch_size = min(k, len(catalog.ids)), batch_size
        self.name = f"item_goodrate@{k}"

    @torch.no_grad()
    def __call__(self, model) -> dict[str, float]:
        def encode(texts: list[str]) -> torch.Tensor:
            return model.encode(texts, batch_size=self.batch_size, convert_to_tensor=True,
                                normalize_embeddings=True, show_progress_bar=False)

        products = encode(list(self.catalog.texts))
        queries = encode([q["text"] for q in self.queries])
        top = (queries @ products.T).topk(self.k, dim=1).indices.tolist()
        ids = self.catalog.ids
        judged = [self.judge(q["query_id"], [ids[i] for i in row]) for q, row in zip(self.queries, top)]
        return {self.name: item_goodrate(judged)}
