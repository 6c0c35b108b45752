"""Ground truth of the demo world: query specs, product relevance, and labels for free text.

A query's meaning is a ``Spec``; a product is relevant iff it satisfies the spec (computed with
numpy over the whole catalog). ``parse`` reads free text back into types/attributes/negations with
the same lexicon the generator writes with, so generated rewrites can be labelled automatically.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field

import numpy as np

from . import lexicon as L

RELEVANT, PARTIAL, IRRELEVANT = "relevant", "partially_relevant", "irrelevant"


@dataclass
class Spec:
    """Structured meaning of a query; ``required``/``excluded`` map attribute -> allowed/forbidden values."""

    types: list[str]
    required: dict[str, list] = field(default_factory=dict)
    excluded: dict[str, list] = field(default_factory=dict)
    excluded_brand: str | None = None
    tiers: list[str] | None = None
    max_price: float | None = None
    brands: list[str] | None = None

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "Spec":
        return cls(**json.loads(text))


class ProductIndex:
    """Column arrays of the catalog, attribute values encoded as ints, for vectorised spec checks."""

    def __init__(self, types: list[str], brands: list[str], tiers: list[str], prices: list[float], attrs: list[dict]):
        self.types, self.brands = np.array(types), np.array(brands)
        self.tiers, self.prices = np.array(tiers), np.asarray(prices, dtype=np.float64)
        self.vocab: dict[str, dict[str, int]] = {}
        self.codes: dict[str, np.ndarray] = {}
        for name in L.ATTRS:
            col = np.full(len(attrs), -1, dtype=np.int32)
            voc: dict[str, int] = {}
            for i, a in enumerate(attrs):
                if name in a:
                    col[i] = voc.setdefault(json.dumps(a[name]), len(voc))
            self.vocab[name], self.codes[name] = voc, col

    def _isin(self, attr: str, values: list) -> np.ndarray:
        voc = self.vocab.get(attr, {})
        wanted = [voc[json.dumps(v)] for v in values if json.dumps(v) in voc]
        return np.isin(self.codes[attr], wanted) if attr in self.codes else np.zeros(len(self.types), bool)

    def mask(self, spec: Spec) -> np.ndarray:
        """Products satisfying the spec. A missing required attribute fails; a missing excluded one passes."""
        m = np.isin(self.types, spec.types)
        for attr, vals in spec.required.items():
            m &= self._isin(attr, vals)
        for attr, vals in spec.excluded.items():
            m &= ~self._isin(attr, vals)
        if spec.excluded_brand:
            m &= self.brands != spec.excluded_brand
        if spec.tiers:
            m &= np.isin(self.tiers, spec.tiers)
        if spec.max_price is not None:
            m &= self.prices < spec.max_price
        if spec.brands:
            m &= np.isin(self.brands, spec.brands)
        return m


# ---------------------------------------------------------------- parsing free text
_TOKEN = re.compile(r"[a-z0-9]+(?:[/.'\"][a-z0-9]+)*[\"']?")
_FILLER = frozenset("a an the any is are be that which it its to for with harsh added strong too of".split())
_REF_WORDS = frozenset("alternative alternatives instead than like dupe knockoff besides except unlike similar comparable".split())


def tokenize(text: str) -> list[str]:
    """Lowercase tokens; hyphens split words so "non-dimmable" reads as "non dimmable"."""
    return _TOKEN.findall(text.lower().replace("’", "'").replace("-", " ").replace("_", " "))


def _plural(s: str) -> str:
    return s + ("es" if s.endswith(("sh", "ch", "s", "x")) else "s")


def _build_phrases() -> tuple[dict[tuple[str, ...], list[tuple]], int]:
    table: dict[tuple[str, ...], list[tuple]] = {}

    def add(text: str, entry: tuple) -> None:
        key = tuple(tokenize(text))
        if key and entry not in table.setdefault(key, []):
            table[key].append(entry)

    for t in L.TYPES:
        for syn in (t.name, *t.synonyms):
            add(syn, ("type", t.name))
            add(_plural(syn), ("type", t.name))
    for attr, values in L.ATTRS.items():
        for value, phrases in values.items():
            for p in phrases:
                add(p, ("attr", attr, value))
    for brand in L.BRAND_TIER:
        add(brand, ("brand", brand))
    for w in L.PRICE_WORDS + ("low price", "less expensive", "lower priced", "entry level"):
        add(w, ("price",))
    return table, max(len(k) for k in table)


_PHRASES, _MAXLEN = _build_phrases()


@dataclass
class TextSpec:
    """What a piece of text says: types named, attribute values asserted or negated, brands, price intent."""

    types: set[str] = field(default_factory=set)
    asserted: dict[str, set] = field(default_factory=dict)
    negated: dict[str, set] = field(default_factory=dict)
    brands: set[str] = field(default_factory=set)
    referenced_brands: set[str] = field(default_factory=set)
    price_words: bool = False


def _negated(toks: list[str], i: int, j: int, prev_end: int) -> bool:
    if j < len(toks) and toks[j] == "free":
        return True
    k = i - 1
    while k >= prev_end and toks[k] in _FILLER:
        k -= 1
    return k >= prev_end and (toks[k] in L.NEGATION_WORDS or toks[k].endswith("n't"))


def parse(text: str) -> TextSpec:
    """Greedy longest-match of lexicon phrases; a negation word just before (or "free" after) flips it."""
    toks, out, i, prev_end = tokenize(text), TextSpec(), 0, 0
    while i < len(toks):
        for n in range(min(_MAXLEN, len(toks) - i), 0, -1):
            entries = _PHRASES.get(tuple(toks[i:i + n]))
            if entries:
                break
        else:
            i += 1
            continue
        neg = _negated(toks, i, i + n, prev_end)
        for e in entries:
            if e[0] == "type":
                out.types.add(e[1])
            elif e[0] == "price":
                out.price_words = True
            elif e[0] == "brand":
                ref = neg or any(t in _REF_WORDS for t in toks[max(0, i - 3):i] + toks[i + n:i + n + 1])
                (out.referenced_brands if ref else out.brands).add(e[1])
            else:
                _, attr, value = e
                if neg and isinstance(value, bool):
                    out.asserted.setdefault(attr, set()).add(not value)
                else:
                    (out.negated if neg else out.asserted).setdefault(attr, set()).add(value)
        prev_end = i = i + n
    return out


def _premium_brands(types: list[str]) -> set[str]:
    return {b for t in types for b in L.BRANDS.get(t, {}).get("premium", ())}


def label_rewrite(spec: Spec, text: str) -> str:
    """relevant / partially_relevant / irrelevant for a rewrite of a query with this spec (why: QSR and filter eval)."""
    ts, allowed = parse(text), set(spec.types)
    if not ts.types & allowed:
        cats = {L.TYPE_BY_NAME[t].category for t in allowed}
        return PARTIAL if any(L.TYPE_BY_NAME[t].category in cats for t in ts.types) else IRRELEVANT
    missing = False
    for attr, vals in spec.required.items():
        said, denied = ts.asserted.get(attr, set()), ts.negated.get(attr, set())
        if (said and not said & set(vals)) or (denied & set(vals) and not said & set(vals)):
            return IRRELEVANT
        missing |= not said & set(vals)
    for attr, vals in spec.excluded.items():
        said, denied = ts.asserted.get(attr, set()), ts.negated.get(attr, set())
        if said & set(vals) and not said - set(vals):
            return IRRELEVANT
        missing |= not (said - set(vals) or denied & set(vals))
    bad = ({spec.excluded_brand} if spec.excluded_brand else set())
    if spec.tiers and "premium" not in spec.tiers:
        bad |= _premium_brands(spec.types)
    if ts.brands & bad:
        return IRRELEVANT
    if spec.excluded_brand or spec.tiers or spec.max_price is not None:
        cheap_brand = any(L.BRAND_TIER.get(b) in (spec.tiers or ("mid", "budget")) for b in ts.brands)
        missing |= not (cheap_brand or ts.price_words) or bool(ts.referenced_brands & bad)
    if spec.brands and not ts.brands & set(spec.brands):
        missing = True
    return PARTIAL if missing else RELEVANT
