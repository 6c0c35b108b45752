"""General relevance filter: an LLM's p_yes that a product fits the ORIGINAL query.

It runs after the business relevance model and only removes false positives, so its policy is
high recall: a pair is kept unless p_yes < ``threshold``.
"""

from __future__ import annotations

import dspy
import numpy as np

from tailsynth.adapters import CompactAdapter
from tailsynth.serving.scorer import Scorer
from tailsynth.signatures import YES_NO, ProductRelevance


class GeneralRelevanceFilter(dspy.Module):
    def __init__(self, scorer: Scorer | None = None, threshold: float = 0.5, mode: str = "logits", lm: dspy.BaseLM | None = None):
        super().__init__()
        if mode not in ("logits", "generate"):
            raise ValueError("mode must be 'logits' or 'generate'")
        if mode == "logits" and scorer is None:
            raise ValueError("mode='logits' needs a scorer")
        self.scorer, self.threshold, self.mode, self.lm = scorer, threshold, mode, lm
        self.predict = dspy.Predict(ProductRelevance)
        self.demos: list[dict] = []

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
        examples = [dspy.Example(**x).with_inputs("query", "product") for x in inputs]
        with dspy.context(lm=self.lm or dspy.settings.lm, adapter=CompactAdapter()):
            outs = self.predict.batch(examples, max_errors=len(examples), disable_progress_bar=True, timeout=0)
        # An answer that does not parse is neither: 0.5 keeps the pair at the default high-recall threshold.
        return np.array([0.5 if o is None else (1.0 if o.answer == "yes" else 0.0) for o in outs])
