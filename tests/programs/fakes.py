"""Tiny deterministic stand-ins for the models, so the program's plumbing is tested in seconds.

The integration tests (test_synthesis_integration.py) run the same program on the real models.
"""

from __future__ import annotations

import numpy as np

from tailsynth.catalog import Catalog
from tailsynth.serving.scorer import Scorer

from ..encoders import HashEncoder  # noqa: F401 - re-exported for the program tests

PRODUCTS = {
    "p1": "Acme toilet flapper 2 inch universal",
    "p2": "Acme toilet fill valve adjustable",
    "p3": "Budget water based interior paint 1 gal",
    "p4": "Premium oil based enamel paint",
    "p5": "LED bulb non dimmable 60W",
    "p6": "LED bulb dimmable 60W",
    "p7": "cordless vacuum stick budget",
    "p8": "Dysonic cordless vacuum premium",
}
CATALOG = Catalog(list(PRODUCTS), list(PRODUCTS.values()))


def words(text: str) -> set[str]:
    return set(text.lower().split())


class OverlapScorer(Scorer):
    """Label logits from word overlap between the two inputs: more overlap, more 'yes'/'relevant'."""

    def __init__(self):
        super().__init__()
        self.calls = 0

    def _label_logits(self, prompts, labels):
        self.calls += 1
        rows = []
        for messages in prompts:
            fields = [line.split(": ", 1)[1] for line in messages[-1]["content"].splitlines()]
            overlap = len(words(fields[0]) & words(fields[1])) / max(1, len(words(fields[0])))
            rows.append([4 * overlap - 1, 0.0, 1 - 4 * overlap][: len(labels)])
        return np.array(rows)

    def perplexity(self, texts):
        return np.array([10.0 + len(t) for t in texts])


class OverlapBusiness:
    def score(self, query, texts):
        return np.array([len(words(query) & words(t)) / max(1, len(words(query))) for t in texts])


class CountingBusiness(OverlapBusiness):
    """``OverlapBusiness`` that records every product text it is asked to score."""

    def __init__(self):
        self.seen: list[str] = []

    def score(self, query, texts):
        self.seen.extend(texts)
        return super().score(query, texts)
