"""What a phrase implies in this catalog: the negation filter's reach past the query's own words.

A query rules out "plant-based"; the catalog's weed killers say "botanical", "organic" or
"pet safe" in their titles and "natural" in their attributes, so a rule that looks for the
query's words rejects few of them, and the rewrites and cross-encoders read "not plant-based"
much as "plant-based". The catalog itself says what the phrase means: nearly every product whose
text states "plant based" carries the attribute "natural". This module learns that from the
catalog's attribute texts (``Catalog.attributes``): phrase P implies attribute phrase A when at
least ``min_products`` products state P (``negation.states``) and at least ``min_share`` of them
carry A. A query that rules out P then rules out the products that carry A, matched against the
product's attribute phrases only (never free text, where "natural look" is no formula).

On the demo world's negative queries this lifts the share of wrong products of the query's own
type that the rule rejects from 76.6 % to 91.7 % (dev), rejecting no relevant one
(``benchmarks/negation_rule.py``). A catalog without attribute texts implies nothing (the rule
then reads the query's words and the listed synonyms only).
"""

from __future__ import annotations

import re
from collections import Counter

from tailsynth.catalog import Catalog
from tailsynth.programs.negation import normalize, states_normalized

__all__ = ["Implications", "attribute_phrases"]


def attribute_phrases(attributes: str) -> frozenset[str]:
    """A product's attribute text as normalized phrases ("Stainless steel, 2 in." →
    {"stainless steel", "2 in"}); phrases are separated by commas or semicolons."""
    return frozenset(p for part in re.split(r"[,;]", attributes or "") if (p := normalize(part).strip()))


class Implications:
    """The attribute phrases each excluded phrase implies in one catalog, learned on first use of
    each phrase (one pass over the catalog's texts) and kept; one per synthesis program."""

    def __init__(self, catalog: Catalog, min_products: int = 5, min_share: float = 0.95):
        if min_products < 1 or not 0.5 < min_share <= 1:
            raise ValueError(f"Implications needs min_products >= 1 and 0.5 < min_share <= 1, got "
                             f"{min_products}, {min_share}")
        self.catalog, self.min_products, self.min_share = catalog, min_products, min_share
        self._texts: list[str] | None = None
        self._attributes: list[frozenset[str]] | None = None
        self._implied: dict[str, frozenset[str]] = {}

    @property
    def enabled(self) -> bool:
        """Whether the catalog has attribute texts to learn from."""
        return self.catalog.attributes is not None

    def _build(self) -> None:
        """The catalog's normalized texts and attribute phrases, once."""
        if self._texts is None:
            self._texts = [normalize(t) for t in self.catalog.texts]
            self._attributes = [attribute_phrases(a) for a in self.catalog.attributes]

    def of(self, term: str) -> frozenset[str]:
        """The attribute phrases that ``term`` (a normalized phrase) implies, other than itself."""
        if not self.enabled:
            return frozenset()
        if term not in self._implied:
            self._build()
            stating = [a for t, a in zip(self._texts, self._attributes) if states_normalized(t, term)]
            counts = Counter(p for phrases in stating for p in phrases)
            enough = len(stating) >= self.min_products
            self._implied[term] = frozenset(
                p for p, n in counts.items() if enough and n >= len(stating) * self.min_share and p != term)
        return self._implied[term]

    def implied(self, terms: tuple[str, ...]) -> frozenset[str]:
        """Every attribute phrase that any of ``terms`` implies."""
        return frozenset().union(*(self.of(t) for t in terms)) if terms else frozenset()

    def carries(self, product_id: str, phrases: frozenset[str]) -> bool:
        """Whether the product's attribute phrases include any of ``phrases``."""
        if not phrases or not self.enabled:
            return False
        self._build()
        return bool(self._attributes[self.catalog.position(product_id)] & phrases)
