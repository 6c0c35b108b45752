"""Rewrite filter: label each rewrite relevant / partially relevant / irrelevant, drop irrelevant.

Probabilities come from the label-token logits (``Scorer``); ``mode="generate"`` instead asks
the LM for the label through ``dspy.Predict`` (for LMs without logits, and for comparison).
"""

from __future__ import annotations

from dataclasses import dataclass

import dspy
import numpy as np

from tailsynth.adapters import CompactAdapter
from tailsynth.serving.scorer import Scorer
from tailsynth.signatures import REWRITE_LABELS, RewriteRelevance


@dataclass
class RewriteJudgement:
    label: str
    probs: tuple[float, float, float]  # relevant, partial, irrelevant
    kept: bool


class RewriteFilter(dspy.Module):
    """Conservative: a rewrite is dropped only when p(irrelevant) > ``drop_threshold``."""

    def __init__(self, scorer: Scorer | None = None, drop_threshold: float = 0.5, mode: str = "logits", lm: dspy.BaseLM | None = None):
        super().__init__()
        if mode not in ("logits", "generate"):
            raise ValueError("mode must be 'logits' or 'generate'")
        if mode == "logits" and scorer is None:
            raise ValueError("mode='logits' needs a scorer")
        self.scorer, self.drop_threshold, self.mode, self.lm = scorer, drop_threshold, mode, lm
        self.predict = dspy.Predict(RewriteRelevance)
        self.demos: list[dict] = []

    def forward(self, query: str, rewrites: list[str]) -> dspy.Prediction:
        judgements = self.judge([(query, r) for r in rewrites])
        return dspy.Prediction(judgements=judgements, kept=[r for r, j in zip(rewrites, judgements) if j.kept])

    def probabilities(self, pairs: list[tuple[str, str]]) -> np.ndarray:
        """``[n, 3]`` over (relevant, partial, irrelevant)."""
        inputs = [{"query": q, "rewrite": r} for q, r in pairs]
        if self.mode == "logits":
            return self.scorer.label_probs(RewriteRelevance, inputs, REWRITE_LABELS, self.demos)
        examples = [dspy.Example(**x).with_inputs("query", "rewrite") for x in inputs]
        with dspy.context(lm=self.lm or dspy.settings.lm, adapter=CompactAdapter()):
            outs = self.predict.batch(examples, max_errors=len(examples), disable_progress_bar=True, timeout=0)
        probs = np.full((len(pairs), 3), 1 / 3)
        for i, out in enumerate(outs):
            if out is not None and getattr(out, "label", None) in REWRITE_LABELS:
                probs[i] = np.eye(3)[REWRITE_LABELS.index(out.label)]
        return probs

    def judge(self, pairs: list[tuple[str, str]]) -> list[RewriteJudgement]:
        if not pairs:
            return []
        probs = self.probabilities(pairs)
        return [
            RewriteJudgement(REWRITE_LABELS[int(p.argmax())], tuple(float(x) for x in p), bool(p[2] <= self.drop_threshold))
            for p in probs
        ]
