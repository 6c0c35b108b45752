"""Long-tail query generation for the paper's four query types, each with a structured ``Spec``.

Many paraphrase templates per type; candidates are deduplicated, shuffled deterministically and
split at the query level (test first, then dev, train, and "extra" queries that only feed the
rewrite examples), keeping only queries with at least ``MIN_RELEVANT`` relevant products.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from . import lexicon as L
from .catalog import clean_phrases
from .knowledge import KNOWLEDGE_BASE
from .truth import ProductIndex, Spec

QTYPES = ("qa", "knowledge", "alternative", "negative")
SPLIT_SIZES = (("test", 300), ("dev", 150), ("train", 600), ("extra", 300))
MIN_RELEVANT = 5

_QA = ("what do I use to {n}?", "what should I buy to {n}?", "how do I {n}?", "how can I {n}?", "what's the best way to {n}?",
       "what product helps {n}?", "which product do I need to {n}?", "what can I get to {n}?", "what do you recommend to {n}?",
       "is there something to {n}?", "what works best to {n}?", "what is the best product to {n}?", "how would I {n}?",
       "what do people use to {n}?", "any product that can {n}?", "what tool or product do I need to {n}?",
       "what do i need to {n}", "which item should I get to {n}?", "whats good to {n}", "how to {n}?")
_QA_S = ("{s}, what should I do?", "{s} - what do I buy?", "{s}. how do I fix it?", "what fixes this: {s}?", "{s}, any advice on what to get?")
_KN = ("need something to {n}", "looking for a way to {n}", "want to {n}", "trying to {n}", "{n}", "stuff to {n}",
       "supplies to {n}", "something that will {n}", "products to {n}", "i need to {n}", "ways to {n}", "need to {n} asap",
       "best thing to {n}", "gear to {n}")
_KN_S = ("{s}", "{s} need a fix", "{s} fix", "{s} help", "{s} need something", "{s} again", "{s} what now")
_ALT = ("cheaper alternative to {b} {t}", "budget version of {b} {t}", "affordable alternative to {b} {t}", "{b} {t} but cheaper",
        "something like {b} {t} for less", "cheaper than {b} {t}", "dupe for {b} {t}", "{t} similar to {b} but less expensive",
        "less expensive {t} like {b}", "knockoff of {b} {t}", "alternative to {b} {t} on a budget", "{b} {t} alternative",
        "cheap {t} like {b}", "{t} comparable to {b} for less money", "what is a cheaper alternative to {b} {t}?",
        "{b} quality {t} without the price", "budget friendly {b} {t} alternative", "{b} {t} too expensive, what else")
_NEG_PRE = ("{f} {t}", "{f} {t} please", "need {f} {t}", "looking for {f} {t}", "best {f} {t}", "{f} {t} for home", "any {f} {t}")
_NEG_POST = ("{t} {f}", "need {t} {f}", "looking for {t} {f}", "{t} {f} please", "best {t} {f}", "shopping for {t} {f}")
_POST_FORMS = ("not {p}", "that is not {p}", "that isn't {p}", "that are not {p}", "that aren't {p}", "but not {p}")
_NEGATABLE = ("base", "finish", "location", "dimmable", "cordless", "formula", "material", "metal_finish", "humane", "bagless",
              "has_light", "lock_type", "heater_type", "selective", "mount", "power_source", "lube_type", "mop_type", "mist")
_SCENTED = ["lemon", "lavender", "pine"]
_EXTRA: dict[tuple, tuple[tuple[str, ...], tuple[str, ...]]] = {
    ("base", "oil"): (("oil-free",), ("without oil", "with no oil base")),
    ("cordless", False): (("cord-free",), ("without a cord", "without cord", "with no cord", "that doesn't need a cord")),
    ("formula", "chemical"): (("non-toxic", "chemical-free", "non-chemical"), ("without chemicals", "with no harsh chemicals", "that has no chemicals")),
    ("scent", "*"): (("fragrance-free", "scent-free", "perfume-free"), ("without fragrance", "with no scent", "with no added fragrance")),
    ("material", "wood"): (("non-wooden", "non-wood"), ("not made of wood", "that isn't wood")),
    ("has_light", True): ((), ("without a light", "with no light kit", "without light")),
    ("humane", False): (("no-kill",), ("that doesn't kill", "that won't kill")),
    ("selective", False): ((), ("that won't kill grass", "that doesn't kill grass")),
    ("lock_type", "keyed"): (("keyless",), ("without a key", "that doesn't need a key", "with no key")),
    ("heater_type", "radiator"): ((), ("that is not oil filled",)),
    ("bagless", False): ((), ("without bags", "that doesn't use bags", "with no bags")),
}

Candidate = tuple[str, Spec]
Brands = dict[str, dict[str, tuple[str, ...]]]


@dataclass(frozen=True)
class Phrasing:
    """The templates long-tail queries are written with, per type; slots: ``{n}`` need, ``{s}``
    symptom, ``{b}`` premium brand, ``{t}`` type synonym, ``{f}`` negated feature. The standard
    world uses ``STANDARD``; a shifted world (``world.shift``) passes templates it never uses."""

    qa: tuple[str, ...] = _QA
    qa_symptom: tuple[str, ...] = _QA_S
    knowledge: tuple[str, ...] = _KN
    knowledge_symptom: tuple[str, ...] = _KN_S
    alternative: tuple[str, ...] = _ALT
    negative_pre: tuple[str, ...] = _NEG_PRE
    negative_post: tuple[str, ...] = _NEG_POST


STANDARD = Phrasing()


def _syns(t: L.TypeDef) -> list[str]:
    return [s for s in t.synonyms if not L.has_negation(s)]


def _kb_candidates(templates: tuple[str, ...], sym_templates: tuple[str, ...]) -> list[Candidate]:
    out = []
    for k in KNOWLEDGE_BASE:
        spec = Spec(types=list(k["product_types"]), required={a: list(v) for a, v in k["constraints"].items()})
        out += [(tpl.format(n=n), spec) for n in k["needs"] for tpl in templates]
        out += [(tpl.format(s=s), spec) for s in k["symptoms"] for tpl in sym_templates]
    return out


def qa_candidates(rng: random.Random, index: ProductIndex, phrasing: Phrasing = STANDARD,
                  brands: Brands | None = None) -> list[Candidate]:
    return _kb_candidates(phrasing.qa, phrasing.qa_symptom)


def knowledge_candidates(rng: random.Random, index: ProductIndex, phrasing: Phrasing = STANDARD,
                         brands: Brands | None = None) -> list[Candidate]:
    return _kb_candidates(phrasing.knowledge, phrasing.knowledge_symptom)


def premium_median(index: ProductIndex, ptype: str, brand: str) -> float | None:
    """Median price of a premium brand within a type: the ceiling an 'affordable alternative' must stay under."""
    p = index.prices[(index.types == ptype) & (index.brands == brand)]
    return float(np.median(p)) if len(p) else None


def alternative_candidates(rng: random.Random, index: ProductIndex, phrasing: Phrasing = STANDARD,
                           brands: Brands | None = None) -> list[Candidate]:
    out, brands = [], L.BRANDS if brands is None else brands
    for t in L.TYPES:
        for b in brands[t.name]["premium"]:
            med = premium_median(index, t.name, b)
            if med is None:
                continue
            for tpl in phrasing.alternative:
                for syn in rng.sample(_syns(t), k=min(2, len(_syns(t)))):
                    spec = Spec(types=[t.name], excluded_brand=b, tiers=["mid", "budget"], max_price=med)
                    ph = [(a, v, p) for a, vs in t.attrs.items() for v in vs for p in clean_phrases(a, v)[:2]]
                    if ph and rng.random() < 0.4:
                        a, v, p = rng.choice(ph)
                        spec.required = {a: [v]}
                        syn = f"{p} {syn}"
                    out.append((tpl.format(b=b, t=syn), spec))
    return out


def _neg_forms(attr: str, value: object) -> tuple[list[str], list[str]]:
    extra_pre, extra_post = _EXTRA.get((attr, "*" if attr == "scent" else value), ((), ()))
    if attr == "scent":
        return list(extra_pre), list(extra_post)
    phrases = clean_phrases(attr, value)[:2]
    pre = [f"non-{p}" for p in phrases if len(p.split()) <= 2] + list(extra_pre)
    post = [f.format(p=p) for p in phrases for f in _POST_FORMS] + list(extra_post)
    return pre, post


def negative_candidates(rng: random.Random, index: ProductIndex, phrasing: Phrasing = STANDARD,
                        brands: Brands | None = None) -> list[Candidate]:
    out = []
    for t in L.TYPES:
        pairs = [(a, v) for a in _NEGATABLE if a in t.attrs for v in t.attrs[a]]
        if "scent" in t.attrs:
            pairs.append(("scent", "*"))
        for a, v in pairs:
            vals = [x for x in _SCENTED if x in t.attrs[a]] if v == "*" else [v]
            if len(set(t.attrs[a]) - set(vals)) == 0:
                continue
            spec = Spec(types=[t.name], excluded={a: vals})
            pre, post = _neg_forms(a, v)
            for f in pre:
                out += [(tpl.format(f=f, t=rng.choice(_syns(t))), spec) for tpl in rng.sample(phrasing.negative_pre, 4)]
            for f in post:
                out += [(tpl.format(f=f, t=rng.choice(_syns(t))), spec) for tpl in rng.sample(phrasing.negative_post, 3)]
    return out


GENERATORS: dict[str, Callable[..., list[Candidate]]] = {
    "qa": qa_candidates, "knowledge": knowledge_candidates, "alternative": alternative_candidates, "negative": negative_candidates}


def build_queries(seed: int, index: ProductIndex, phrasing: Phrasing = STANDARD, brands: Brands | None = None,
                  split_sizes: tuple[tuple[str, int], ...] = SPLIT_SIZES) -> tuple[list[dict], dict[str, np.ndarray]]:
    """Query rows (query_id, text, qtype, split, spec) and, per spec JSON, the relevant product mask."""
    rows, masks = [], {}
    for qi, qtype in enumerate(QTYPES):
        rng = random.Random(seed * 1000 + qi)
        seen, cands = set(), []
        for text, spec in GENERATORS[qtype](rng, index, phrasing, brands):
            key = " ".join(text.lower().split())
            if key not in seen:
                seen.add(key)
                cands.append((" ".join(text.split()), spec))
        rng.shuffle(cands)
        kept = []
        for text, spec in cands:
            js = spec.to_json()
            if js not in masks:
                masks[js] = index.mask(spec)
            if masks[js].sum() >= MIN_RELEVANT:
                kept.append((text, js))
        start = 0
        for split, size in split_sizes:
            for j, (text, js) in enumerate(kept[start:start + size]):
                prefix = "rx" if split == "extra" else "q"
                rows.append({"query_id": f"{prefix}-{qtype}-{start + j:05d}", "text": text, "qtype": qtype, "split": split, "spec": js})
            start += size
    return rows, masks
