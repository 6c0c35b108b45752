"""Query-type classifier: which of the paper's four types a long-tail query is.

The eval suites report per type, so user queries without a type need one. Two classifiers:

- ``rule_type``: the paper's definitions as patterns, checked in order: alternative (seeking a
  cheaper substitute: "alternative", "cheaper", "dupe", "instead of", "like <brand> but",
  "without the price"), qa (phrased as a question), negative (a negative constraint: "not",
  "n't", "without", "non-", "-free"), else knowledge. Order matters: "what is a cheaper
  alternative to X?" is an alternative phrased as a question, "X without the price" is not a
  negative constraint, "how do I clean counters without chemicals?" is a question. Knowledge
  queries that carry a "without" ("kill ants without hurting my dog") still read as negative:
  the rules' main error, which the learned classifier fixes.
- ``LearnedQueryTypeClassifier``: TF-IDF word and character n-grams + logistic regression, fitted
  on labelled queries, for phrasings the rules miss.

``classify(texts, labelled=rows)`` fits on a data source's own typed queries (the rules when it
has too few); without ``labelled`` it uses the classifier fitted on the demo world's train queries
(cached per process). ``evaluate_classifiers(source)`` reports both on a source's dev and test splits.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

QTYPES = ("qa", "alternative", "negative", "knowledge")

_ALTERNATIVE = re.compile(
    r"\b(alternatives?|cheaper|less expensive|more affordable|affordable|budget|dupe|knock-?off|"
    r"instead of|substitute|comparable to|for less|without the price|similar to|too expensive|"
    r"like \w+ but|cheap .* like)\b",
    re.IGNORECASE,
)
_NEGATIVE = re.compile(r"(\bnot\b|n't\b|\bwithout\b|\bno\b|\bnon-|\bnon\b|-free\b|\bfree of\b)", re.IGNORECASE)
_QUESTION = re.compile(
    r"(\?\s*$|^\s*(what|whats|what's|which|how|why|where|when|who|is there|are there|any product|can i|"
    r"should i|do i|does|is it|can you)\b)",
    re.IGNORECASE,
)


def rule_type(text: str) -> str:
    """The first matching rule's type (alternative, qa, negative), else knowledge."""
    if _ALTERNATIVE.search(text):
        return "alternative"
    if _QUESTION.search(text):
        return "qa"
    if _NEGATIVE.search(text):
        return "negative"
    return "knowledge"


@dataclass
class QueryTypeConfig:
    c: float = 10.0  # inverse regularisation of the logistic regression
    max_word_ngram: int = 2
    char_ngrams: tuple[int, int] = (2, 5)
    seed: int = 0


class LearnedQueryTypeClassifier:
    """TF-IDF (words + character n-grams) → multinomial logistic regression."""

    def __init__(self, config: QueryTypeConfig | None = None):
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline, make_union
        from sklearn.feature_extraction.text import TfidfVectorizer

        self.config = config or QueryTypeConfig()
        c = self.config
        features = make_union(
            TfidfVectorizer(ngram_range=(1, c.max_word_ngram), sublinear_tf=True, token_pattern=r"[\w'-]+|\?"),
            TfidfVectorizer(analyzer="char_wb", ngram_range=c.char_ngrams, sublinear_tf=True),
        )
        self.pipeline = make_pipeline(features, LogisticRegression(C=c.c, max_iter=2000, random_state=c.seed))

    def fit(self, texts: Sequence[str], labels: Sequence[str]) -> "LearnedQueryTypeClassifier":
        self.pipeline.fit(list(texts), list(labels))
        return self

    def predict(self, texts: Sequence[str]) -> list[str]:
        return [str(label) for label in self.pipeline.predict(list(texts))] if texts else []


def accuracy(predicted: Sequence[str], gold: Sequence[str]) -> float:
    return sum(p == g for p, g in zip(predicted, gold)) / len(gold) if gold else 0.0


MIN_LABELLED = 20
"""Fewer labelled queries than this (or a single type): the rules classify instead."""

_DEFAULT: LearnedQueryTypeClassifier | None = None


def world_classifier(source=None) -> LearnedQueryTypeClassifier:
    """The learned classifier fitted on the demo world's train queries (fitted once per process;
    ``source``: fit on that source's train queries instead and make it the default)."""
    global _DEFAULT
    if _DEFAULT is None or source is not None:
        from tailsynth.sources import as_source, load_source

        rows = (as_source(source) if source is not None else load_source("world")).require("queries", "train")
        _DEFAULT = LearnedQueryTypeClassifier().fit([r["text"] for r in rows], [r["qtype"] for r in rows])
    return _DEFAULT


def classify(texts: Sequence[str], method: str = "learned", labelled: Sequence[dict] | None = None) -> list[str]:
    """Query type per text: ``learned`` (default) or ``rules``. ``labelled`` (``{text, qtype}``
    rows, e.g. a source's typed queries): fit the learned classifier on them, or use the rules when
    there are fewer than ``MIN_LABELLED`` of two or more types. Without ``labelled`` the learned
    classifier is the demo world's (``world_classifier``)."""
    if method not in ("learned", "rules"):
        raise ValueError(f"method must be 'learned' or 'rules', got {method!r}")
    if method == "rules":
        return [rule_type(t) for t in texts]
    if labelled is None:
        return world_classifier().predict(texts)
    typed = [r for r in labelled if r.get("qtype")]
    if len(typed) < MIN_LABELLED or len({r["qtype"] for r in typed}) < 2:
        return [rule_type(t) for t in texts]
    return LearnedQueryTypeClassifier().fit([r["text"] for r in typed], [r["qtype"] for r in typed]).predict(texts)


def evaluate_classifiers(source=None) -> dict[str, dict[str, float]]:
    """Accuracy of the rules and the learned classifier (fitted on the train split) on the dev and
    test queries of ``source`` (default: the demo world)."""
    from tailsynth.sources import as_source, load_source

    source = as_source(source) if source is not None else load_source("world")
    learned = world_classifier(source)
    out: dict[str, dict[str, float]] = {}
    for split in ("dev", "test"):
        rows = source.queries(split)
        if not rows:
            continue
        texts, gold = [r["text"] for r in rows], [r["qtype"] for r in rows]
        out[split] = {"rules": accuracy([rule_type(t) for t in texts], gold),
                      "learned": accuracy(learned.predict(texts), gold), "n": float(len(rows))}
    return out
