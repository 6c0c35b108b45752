"""What an alternative to a named brand is: another brand, and cheaper. The synthesis program's
alternative filter.

"cheaper alternative to Dysonic vacuum" retrieves Dysonic vacuums first: the brand is the rarest
word of the query, the rewrites often keep it, and the retriever and the cross-encoders read it as
wanted. The catalog knows better when it has the columns most catalogs carry (``Catalog.brands``,
``Catalog.prices``): for a query of type "alternative" (the paper's type: a cheaper substitute
for something named) that names a catalog brand, the brand's own products are no alternative, and
neither is a product priced at or above the median price of the brand's products among the query's
candidates (the same need retrieved them, so their median is the price to beat), and, with a
``price_class``, the products of any brand whose median price among the candidates is at least that
share of the named brand's (a brand in the named brand's price class is no cheaper alternative to
it, even where one of its products is). They are rejected
before any model scores them (``BusinessStage``, ``decided_by = "alternative"``), and they are
the hard negatives the retriever most needs.

A brand is named when its words occur in the query as whole words (lower-cased, every run of other
characters one space, brands of fewer than 3 characters ignored). Without brands the filter does
nothing; without prices it rejects the named brand only; a product with no price is never
rejected for its price. On the demo world's alternative queries the wrong products of the query's
own type are the named brand's (49 % of those not missing an asked-for attribute), the other premium
brands' (46 %, half of them priced at or above the named brand's median) and dearer mid-range ones;
with ``price_class = 0.75`` (``SynthesisConfig.alternative_price_class``) the rule rejects nearly all
of them at a cost of about 1 % of the relevant products (``benchmarks/alternative_rule.py``).
"""

from __future__ import annotations

import math
from statistics import median

from tailsynth.catalog import Catalog
from tailsynth.programs.negation import normalize

__all__ = ["Alternatives"]

_MIN_BRAND_CHARS = 3
_MAX_BRAND_WORDS = 6


class Alternatives:
    """The catalog's brands, indexed by their words once; one per synthesis program.

    ``price_class``: a brand whose median price among the query's candidates is at least this
    share of the named brand's is in the named brand's price class, and none of its products is
    an alternative (None: judge each product by its own price only)."""

    def __init__(self, catalog: Catalog, price_class: float | None = None):
        if price_class is not None and not 0 < price_class <= 1:
            raise ValueError(f"price_class must be in (0, 1] or None, got {price_class}")
        self.catalog, self.price_class = catalog, price_class
        self._brands: set[str] = set()  # the normalized brands
        self._of: list[str] = []  # each product's normalized brand ("" unknown)
        for brand in catalog.brands or ():
            key = normalize(brand).strip() if brand else ""
            if len(key) < _MIN_BRAND_CHARS or len(key.split()) > _MAX_BRAND_WORDS:
                key = ""
            self._of.append(key)
            if key:
                self._brands.add(key)

    @property
    def enabled(self) -> bool:
        """Whether the catalog has brands to match."""
        return bool(self._brands)

    def named(self, query: str) -> frozenset[str]:
        """The catalog brands (normalized) whose words occur in ``query``."""
        if not self.enabled:
            return frozenset()
        words = normalize(query[:2000]).split()
        found = {" ".join(words[i:i + n]) for n in range(1, _MAX_BRAND_WORDS + 1) for i in range(len(words) - n + 1)}
        return frozenset(found & self._brands)

    def brand(self, product_id: str) -> str:
        return self._of[self.catalog.position(product_id)] if self._of else ""

    def price(self, product_id: str) -> float:
        prices = self.catalog.prices
        return float(prices[self.catalog.position(product_id)]) if prices is not None else math.nan

    def ceiling(self, named: frozenset[str], product_ids: list[str]) -> float | None:
        """The median price of the named brands' products among ``product_ids``; None without one."""
        prices = [p for pid in product_ids if self.brand(pid) in named and not math.isnan(p := self.price(pid))]
        return median(prices) if prices else None

    def price_classed(self, ceiling: float, product_ids: list[str]) -> frozenset[str]:
        """The brands whose median price among ``product_ids`` is at least ``price_class`` of ``ceiling``."""
        if self.price_class is None:
            return frozenset()
        by_brand: dict[str, list[float]] = {}
        for pid in product_ids:
            if (b := self.brand(pid)) and not math.isnan(p := self.price(pid)):
                by_brand.setdefault(b, []).append(p)
        return frozenset(b for b, ps in by_brand.items() if median(ps) >= self.price_class * ceiling)

    def rules_out(self, query: str, product_ids: list[str]) -> list[bool]:
        """Per product, whether it is no alternative to what ``query`` names: the named brand's own,
        priced at or above the ceiling, or of a brand in its price class. All False when the query
        names no catalog brand."""
        named = self.named(query)
        if not named:
            return [False] * len(product_ids)
        ceiling = self.ceiling(named, product_ids)
        if ceiling is None:
            return [self.brand(pid) in named for pid in product_ids]
        classed = named | self.price_classed(ceiling, product_ids)
        return [self.brand(pid) in classed or self.price(pid) >= ceiling for pid in product_ids]
