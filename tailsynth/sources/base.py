"""``Source``: everything a stage reads, from the demo world or from a user's files.

A stage asks its source, never a concrete data set: the catalog, queries by split (with types),
the relevance judgements, the baseline (head) pairs, the business relevance labels, the annotated
rewrite examples (the QSR labels come from them) and the rewriter's few-shot demos. What a source
lacks is ``None``; a stage that needs it calls ``source.require(...)``, which raises ``MissingData``
in one line naming what to provide (``Source.hint``), or uses the fallback it documents.
"""

from __future__ import annotations

import weakref
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tailsynth.catalog import Catalog

SPLITS = ("train", "dev", "test")

WHAT = {
    "queries": "queries",
    "judgements": "relevance judgements (qrels)",
    "baseline_pairs": "baseline (head-query) pairs",
    "business_labels": "business relevance labels",
    "rewrite_examples": "annotated rewrite examples",
    "rewrite_labeler": "a rewrite labeler (relevance of a rewrite to its query)",
    "rewrite_demos": "rewrite demos",
    "product_facets": "product types and categories",
}


class MissingData(ValueError):
    """A stage needs data its source does not have; the message says what to provide."""


@dataclass(frozen=True)
class Judgements:
    """``judge(query_id, product_ids) -> [bool]`` and, when the full relevant set is known,
    ``relevant_ids(query_id) -> set`` (recall and nDCG need it). ``judged``: the query ids that
    have judgements at all (None: every query of the source), so an unjudged query is not read
    as one with no relevant products."""

    judge: Callable[[str, list[str]], list[bool]]
    relevant_ids: Callable[[str], set[str]] | None = None
    judged: frozenset[str] | None = None


def per_type(rows: list[dict], limit: int | None) -> list[dict]:
    """The first ``limit`` rows of each query type, in order (all when ``limit`` is None)."""
    if limit is None:
        return rows
    counts: dict[Any, int] = defaultdict(int)
    out = []
    for r in rows:
        if counts[r.get("qtype")] < limit:
            counts[r.get("qtype")] += 1
            out.append(r)
    return out


class Source:
    """The data interface every command, trainer and eval suite takes. Override what you have;
    everything else is ``None``."""

    name: str = "source"
    business_label_limit: int | None = None
    """Labels the business model trains on by default (None: all)."""

    # ------------------------------------------------------------------ what a source has
    def catalog(self) -> Catalog:
        raise NotImplementedError

    def queries(self, split: str = "test", qtype: str | None = None, limit: int | None = None) -> list[dict] | None:
        """``{query_id, text, qtype, ...}`` of a split; ``limit`` applies per query type."""
        return None

    def judgements(self) -> Judgements | None:
        return None

    def baseline_pairs(self) -> list[tuple[str, str]] | None:
        """``(query, positive product text)``: the baseline retriever's training data."""
        return None

    def business_labels(self, split: str = "train") -> list[tuple[str, str, int]] | None:
        """``(query, product text, label 0/1)``: the business relevance model's training data."""
        return None

    def rewrite_examples(self, split: str = "train") -> list[dict] | None:
        """``{query_id, query, qtype, rewrites, bad_rewrites, bad_labels}`` (bad labels
        ``irrelevant`` / ``partially_relevant``): SFT targets, QSR and rewrite-filter labels."""
        return None

    def rewrite_labeler(self) -> Callable[[str, str], str] | None:
        """``(query_id, rewrite) -> relevant | partially_relevant | irrelevant``."""
        return None

    def rewrite_demos(self) -> list | None:
        """Few-shot ``dspy.Example(query=..., rewrites=[...])`` for the packaged rewriter."""
        return None

    def product_facets(self) -> dict[str, tuple[str, str]] | None:
        """product id → (product type, category), for same-type / same-category hard negatives."""
        return None

    def product_documents(self) -> tuple[list[str], list[str]]:
        """(documents, titles) per product for the PDA LM; default: the catalog text for both."""
        texts = list(self.catalog().texts)
        return texts, texts

    def business_model_dir(self) -> Path:
        """Where this source's business relevance model lives (trained there when missing)."""
        raise NotImplementedError

    def business_train_config(self):
        from tailsynth.retrieval.business_relevance import BusinessRelevanceConfig

        return BusinessRelevanceConfig()

    # ------------------------------------------------------------------ asking for it
    def hint(self, what: str) -> str:
        """What to provide so that ``what`` exists (one line)."""
        return f"this source has no {WHAT.get(what, what)}"

    def require(self, what: str, *args, **kwargs):
        """``getattr(self, what)(*args, **kwargs)``, or ``MissingData`` naming what to provide."""
        value = getattr(self, what)(*args, **kwargs)
        if value is None:
            detail = f" ({', '.join(map(str, args))})" if args else ""
            raise MissingData(f"{self.name}: no {WHAT.get(what, what)}{detail}; {self.hint(what)}")
        return value


_WRAPPED: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def as_source(data) -> Source:
    """A ``Source`` as is; anything else is taken for a demo ``World`` (as older callers pass),
    wrapped once per world object so its catalog is built once."""
    if isinstance(data, Source):
        return data
    from tailsynth.sources.world import WorldSource

    try:
        return _WRAPPED.setdefault(data, WorldSource(data))
    except TypeError:  # not weak-referenceable
        return WorldSource(data)
