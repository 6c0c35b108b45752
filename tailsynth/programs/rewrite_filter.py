"""Rewrite filter: label each rewrite relevant / partially relevant / irrelevant, drop irrelevant.

Probabilities come from the label-token logits (``Scorer``); ``mode="generate"`` instead asks
the LM for the label through ``dspy.Predict`` (for LMs without logits, and for comparison).
"""

from __future__ import annotations

from dataclasses import dataclass

import dspy
import numpy as np

from tailsynth.programs.label_judge import LabelJudge
from tailsynth.serving.scorer import Scorer
from tailsynth.signatures import REWRITE_LABELS, RewriteRelevance


@dataclass
class RewriteJudgement:
    label: str
    probs: tuple[float, float, float]  # relevant, partial, irrelevant
    kept: bool


class RewriteFilter(LabelJudge):
    """Conservative: a rewrite is dropped only when p(irrelevant) > ``drop_threshold``."""

    signature = RewriteRelevance

    def __init__(self, scorer: Scorer | None = None, drop_threshold: float = 0.5, mode: str = "logits", lm: dspy.BaseLM | None = None):
        super().__init__(scorer, mode, lm)
        self.drop_threshold = drop_threshold

    def forward(self, query: str, rewrites: list[str]) -> dspy.Prediction:
        judgements = self.judge([(query, r) for r in rewrites])
        return dspy.Prediction(judgements=judgements, kept=[r for r, j in zip(rewrites, judgements) if j.kept])

    def probabilities(self, pairs: list[tuple[str, str]]) -> np.ndarray:
        """``[n, 3]`` over (relevant, partial, irrelevant)."""
        inputs = [{"query": q, "rewrite": r} for q, r in pairs]
        if self.mode == "logits":
            return self.scorer.label_probs(RewriteRelevance, inputs, REWRITE_LABELS, self.demos)
        # generate() raises on an unparsed answer, so every row is a one-hot of a real label.
        return np.array([np.eye(3)[REWRITE_LABELS.index(o.label)] for o in self.generate(inputs)]).reshape(-1, 3)

    def judge(self, pairs: list[tuple[str, str]]) -> list[RewriteJudgement]:
        if not pairs:
            return []
        probs = self.probabilities(pairs)
        return [
            RewriteJudgement(REWRITE_LABELS[int(p.argmax())], tuple(float(x) for x in p), bool(p[2] <= self.drop_threshold))
            for p in probs
        ]
