"""Catalog generation: products with structured attributes and noisy, varied marketplace text.

Titles and descriptions vary synonyms, unit formats, word order, pack counts and add noise, so a
retriever has to generalise; the structured columns stay exact, so relevance stays computable.
"""

from __future__ import annotations

import json
import random

from . import lexicon as L
from .knowledge import KNOWLEDGE_BASE

_TIER_P = (("premium", 0.25), ("mid", 0.4), ("budget", 0.35))
_TIER_MULT = {"premium": (1.7, 2.5), "mid": (0.9, 1.25), "budget": (0.5, 0.8)}
_PRICE_FACTOR = {("volume", "1 qt"): 0.35, ("volume", "5 gal"): 4.2, ("cordless", True): 1.25, ("capacity_wh", "300Wh"): 0.5,
                 ("capacity_wh", "1000Wh"): 2.2, ("length_ft", "100 ft"): 1.8, ("capacity", "50 pint"): 1.3, ("pump", True): 1.2,
                 ("lock_type", "smart"): 2.2, ("touchless", True): 1.6, ("merv", "13"): 1.5, ("mount", "under-sink"): 3.0}
_PACKS = ("{n}-Pack", "Pack of {n}", "({n} Pack)", "{n} ct", "{n} count")
_PACKED = {"Hardware", "Cleaning", "Pest Control", "Lighting"}
_ATTR_SENT = ("This {syn} is {p}.", "A {p} {syn} for everyday projects.", "Features a {p} design.", "{P} and built to last.")


def clean_phrases(attr: str, value: object) -> list[str]:
    """Phrasings without negation words (what head queries and positive rewrites may use)."""
    return [p for p in L.value_phrases(attr, value) if not L.has_negation(p)]


def _price(rng: random.Random, t: L.TypeDef, tier: str, attrs: dict) -> float:
    p = t.price * rng.uniform(*_TIER_MULT[tier]) * rng.lognormvariate(0, 0.08)
    for kv in attrs.items():
        p *= _PRICE_FACTOR.get(kv, 1.0)
    return round(max(1.0, p) - 0.01, 2)


def _noise(rng: random.Random, title: str, brand: str) -> str:
    r = rng.random()
    if r < 0.03:
        return title.upper()
    words = title.split()
    if r < 0.06 and len(words) > 4:
        i = rng.randrange(len(words))
        if words[i] not in brand.split():
            del words[i]
    elif r < 0.075:
        i = rng.randrange(len(words))
        w = words[i]
        if len(w) > 4 and w.isalpha():
            j = rng.randrange(1, len(w) - 2)
            words[i] = w[:j] + w[j + 1] + w[j] + w[j + 2:]
    return " ".join(words)


def _title(rng: random.Random, t: L.TypeDef, brand: str, attrs: dict) -> str:
    syn = t.synonyms[0] if rng.random() < 0.35 else rng.choice(t.synonyms)
    syn = syn.title() if rng.random() < 0.5 else syn
    mods = [rng.choice(ps) for a, v in attrs.items() if (ps := L.value_phrases(a, v)) and rng.random() < 0.65]
    rng.shuffle(mods)
    cut = len(mods) if rng.random() < 0.75 else rng.randrange(len(mods) + 1)
    parts = mods[:cut] + [syn] + ([", " + " ".join(mods[cut:])] if mods[cut:] else [])
    head = " ".join([brand] + parts) if rng.random() < 0.9 else " ".join(parts) + f" by {brand}"
    tail = []
    if t.category in _PACKED and rng.random() < 0.5:
        tail.append(rng.choice(_PACKS).format(n=rng.choice((2, 4, 6, 12, 50, 100))))
    if rng.random() < 0.5:
        tail.append(f"{rng.choice('ABCDEFGHKLMRSTVX')}{rng.choice('ABCDEFGHKLMRSTVX')}{rng.choice(['', '-'])}{rng.randrange(100, 9999)}")
    return _noise(rng, head.replace(" ,", ",") + (" - " + " ".join(tail) if tail else ""), brand)


def _uses(t: L.TypeDef, attrs: dict) -> list[str]:
    """Needs this product actually solves (its type is listed and it meets the need's constraints)."""
    return [k["need"] for k in KNOWLEDGE_BASE if t.name in k["product_types"]
            and all(attrs.get(a) in vs for a, vs in k["constraints"].items())]


def _description(rng: random.Random, t: L.TypeDef, attrs: dict, uses: list[str]) -> str:
    sents = rng.sample(list(t.blurbs), k=min(len(t.blurbs), rng.choice((1, 1, 2))))
    phr = [p for a, v in attrs.items() for p in L.value_phrases(a, v)[:1]]
    if phr and rng.random() < 0.6:
        p = rng.choice(phr)
        sents.append(rng.choice(_ATTR_SENT).format(syn=t.synonyms[0], p=p, P=p[:1].upper() + p[1:]))
    if uses and rng.random() < 0.3:
        sents.append(f"Great when you need to {rng.choice(uses)}.")
    rng.shuffle(sents)
    return " ".join(sents[:3])


def attribute_string(attrs: dict) -> str:
    """Short canonical attribute text shown to models next to the title."""
    return ", ".join(ps[0] for a, v in attrs.items() if (ps := L.value_phrases(a, v)))


def generate_products(seed: int, n_products: int, brands: dict[str, dict[str, tuple[str, ...]]] | None = None) -> list[dict]:
    """Deterministic catalog of ``n_products`` rows spread evenly over all product types.

    ``brands`` (type -> tier -> names) defaults to the standard ``lexicon.BRANDS``; a shifted world
    passes its own set."""
    brands = L.BRANDS if brands is None else brands
    rng, rows = random.Random(seed * 7919 + 1), []
    for i in range(n_products):
        t = L.TYPES[i % len(L.TYPES)]
        tier = rng.choices([x for x, _ in _TIER_P], weights=[w for _, w in _TIER_P])[0]
        brand = rng.choice(brands[t.name][tier])
        attrs = {a: rng.choice(vs) for a, vs in t.attrs.items()}
        rows.append({"product_id": "", "title": _title(rng, t, brand, attrs),
                     "description": _description(rng, t, attrs, _uses(t, attrs)), "brand": brand, "brand_tier": tier,
                     "product_type": t.name, "category": t.category, "price": _price(rng, t, tier, attrs),
                     "attributes": json.dumps(attrs, sort_keys=True)})
    rng.shuffle(rows)
    for i, r in enumerate(rows):
        r["product_id"] = f"p{i + 1:06d}"
    return rows
