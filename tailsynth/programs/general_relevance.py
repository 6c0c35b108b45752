"""General relevance filter: an LLM's p_yes that a product fits the ORIGINAL query.

It runs after the business relevance model and only removes false positives, so its policy is
high recall: a pair is kept unless p_yes < ``threshold``.
"""

from __future__ import annotations

import dspy
import numpy as np

from tailsynth.programs.label_judge import LabelJudge
from tailsynth.serving.scorer import Scorer
from tailsynth.signatures import YES_NO, ProductRelevance


class GeneralRelevanceFilter(LabelJudge):
    signature = ProductRelevance

    def __init__(self, scorer: Scorer | None = None, threshold: float = 0.5, mode: str = "logits", lm: dspy.BaseLM | None = None):
        super().__init__(scorer, mode, lm)
        self.threshold = threshold

    def forward(self, query: str, products: list[str]) -> dspy.Prediction:
        p = self.p_yes([(query, t) for t in products])
        return dspy.Prediction(p_yes=p.tolist(), kept=(p >= self.threshold).tolist())

    def p_yes(self, pairs: list[tuple[str, str]]) -> np.ndarray:
        """p_yes per (query, product text); pairs of one query should be adjacent (shared prefix)."""
        if not pairs:
            return np.zeros(0)
        inputs = [{"query": q, "product": t} for q, t in pairs]
        if self.mode == "logits":
            return self.scorer.label_probs(ProductRelevance, inputs, YES_NO, self.demos)[:, 0]
        return np.array([1.0 if o.answer == "yes" else 0.0 for o in self.generate(inputs)])  # unparsed: raises
