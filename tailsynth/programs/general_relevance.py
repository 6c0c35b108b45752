"""General relevance filter: an LLM's p_yes that a product fits the ORIGINAL query.

It runs after the business relevance model and only removes false positives, so its policy is
high recall: a pair is kept unless p_yes < ``threshold``.

What it reads next to the product is its ``pair_input``: the query (``"query"``, the paper's
filter), or the rewrite that retrieved the product (``"rewrite"``). A small filter judging
(long-tail query, product) misses what the rewrite spells out: "exterior 50 ft extension cable"
for a query about lights on the porch, against an interior cord of the same words. On the demo's
dev candidates a MiniLM cross-encoder trained on (rewrite, product) ranks them at AUC 0.849, the
same recipe on (query, product) at 0.608 (results/candidate_signals, now and at commit a435793).
A trained filter records its input in its ``classifier.json`` (``pair_input_of``), so the program
sends what it learned on.
"""

from __future__ import annotations

import json
from pathlib import Path

import dspy
import numpy as np

from tailsynth.paths import CLASSIFIER_FILE
from tailsynth.programs.label_judge import LabelJudge
from tailsynth.serving.scorer import Scorer
from tailsynth.signatures import YES_NO, ProductRelevance


PAIR_INPUTS = ("query", "rewrite")
"""What a general filter reads next to the product: the original query, or the retrieving rewrite."""


def check_pair_input(pair_input: str) -> str:
    if pair_input not in PAIR_INPUTS:
        raise ValueError(f"unknown general filter pair_input {pair_input!r}; choose one of {PAIR_INPUTS}")
    return pair_input


def pair_input_of(model: str | Path | None) -> str:
    """The input a trained filter in ``model`` learned on (its ``classifier.json``'s ``pair_input``);
    ``"query"`` for anything else: a served or zero-shot LM, or a filter trained before the key."""
    info = Path(model) / CLASSIFIER_FILE if model else None
    if info is None or not info.is_file():
        return "query"
    return check_pair_input(json.loads(info.read_text()).get("pair_input", "query"))


class GeneralRelevanceFilter(LabelJudge):
    signature = ProductRelevance

    def __init__(self, scorer: Scorer | None = None, threshold: float = 0.5, mode: str = "logits", lm: dspy.BaseLM | None = None,
                 pair_input: str = "query"):
        super().__init__(scorer, mode, lm)
        self.threshold = threshold
        self.pair_input = check_pair_input(pair_input)

    def forward(self, query: str, products: list[str]) -> dspy.Prediction:
        p = self.p_yes([(query, t) for t in products])
        return dspy.Prediction(p_yes=p.tolist(), kept=(p >= self.threshold).tolist())

    def p_yes(self, pairs: list[tuple[str, str]]) -> np.ndarray:
        """p_yes per (text, product text), the text being the query or the rewrite (``pair_input``);
        pairs of one text should be adjacent (shared prefix)."""
        if not pairs:
            return np.zeros(0)
        inputs = [{"query": q, "product": t} for q, t in pairs]
        if self.mode == "logits":
            return self.scorer.label_probs(ProductRelevance, inputs, YES_NO, self.demos)[:, 0]
        return np.array([1.0 if o.answer == "yes" else 0.0 for o in self.generate(inputs)])  # unparsed: raises
