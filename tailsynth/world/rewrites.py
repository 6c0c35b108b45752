"""Annotated rewrite examples (query -> 5 good product-language rewrites + labelled bad ones).

They stand in for the paper's human-reviewed SFT data and QSR positives/negatives. Good rewrites
name an allowed type and state every constraint in its positive product form; every candidate is
checked with ``label_rewrite`` so the examples agree with the labeller by construction.
"""

from __future__ import annotations

import random

from . import lexicon as L
from .catalog import clean_phrases
from .truth import IRRELEVANT, RELEVANT, Spec, label_rewrite

K_GOOD = 5
_CHEAP = ("budget", "affordable", "cheap", "value", "inexpensive", "economy", "low cost")


def _syn(rng: random.Random, t: str) -> str:
    return rng.choice([s for s in L.TYPE_BY_NAME[t].synonyms if not L.has_negation(s)])


def _constraint_phrases(rng: random.Random, spec: Spec, t: str) -> list[str] | None:
    tdef, parts = L.TYPE_BY_NAME[t], []
    for attr, vals in spec.required.items():
        opts = [p for v in vals if v in tdef.attrs.get(attr, vals) for p in clean_phrases(attr, v)]
        if not opts:
            return None
        parts.append(rng.choice(opts))
    for attr, vals in spec.excluded.items():
        opts = [p for v in tdef.attrs.get(attr, ()) if v not in vals for p in clean_phrases(attr, v)]
        if not opts:
            return None
        parts.append(rng.choice(opts))
    if spec.excluded_brand or spec.tiers:
        brands = [b for tier in (spec.tiers or ["mid", "budget"]) for b in L.BRANDS[t][tier]]
        parts.append(rng.choice(brands) if rng.random() < 0.5 else rng.choice(_CHEAP))
    if rng.random() < 0.35:
        free = [(a, v) for a, vs in tdef.attrs.items() if a not in spec.required and a not in spec.excluded for v in vs]
        free = [p for a, v in free for p in clean_phrases(a, v)]
        if free:
            parts.append(rng.choice(free))
    return parts


def good_rewrites(rng: random.Random, spec: Spec, k: int = K_GOOD) -> list[str]:
    """Up to k distinct rewrites, each labelled relevant for the spec."""
    out: list[str] = []
    for attempt in range(12 * k):
        t = spec.types[attempt % len(spec.types)]
        parts = _constraint_phrases(rng, spec, t)
        if parts is None:
            continue
        rng.shuffle(parts)
        syn = _syn(rng, t)
        text = " ".join(parts + [syn]) if rng.random() < 0.8 else " ".join([syn] + parts)
        text = " ".join(text.lower().split()) if rng.random() < 0.7 else text
        if text not in out and label_rewrite(spec, text) == RELEVANT:
            out.append(text)
        if len(out) == k:
            break
    return out


def bad_rewrites(rng: random.Random, spec: Spec) -> list[tuple[str, str]]:
    """Wrong type, same-category type, dropped constraint, contradiction, premium brand: with their labels."""
    t = spec.types[0]
    cat = L.TYPE_BY_NAME[t].category
    others = [x.name for x in L.TYPES if x.category != cat]
    same = [x.name for x in L.TYPES if x.category == cat and x.name not in spec.types]
    cands = [_syn(rng, o) for o in rng.sample(others, 2)] + [_syn(rng, t)]
    if same:
        cands.append(_syn(rng, rng.choice(same)))
    for attr, vals in list(spec.required.items()) + list(spec.excluded.items()):
        bad_vals = vals if attr in spec.excluded else [v for v in L.TYPE_BY_NAME[t].attrs.get(attr, ()) if v not in vals]
        opts = [p for v in bad_vals for p in clean_phrases(attr, v)]
        if opts:
            cands.append(f"{rng.choice(opts)} {_syn(rng, t)}")
    if spec.excluded_brand:
        cands.append(f"{spec.excluded_brand} {_syn(rng, t)}")
        cands.append(f"premium {_syn(rng, t)}")
    out, seen = [], set()
    for c in cands:
        lab = label_rewrite(spec, c)
        if lab != RELEVANT and c not in seen:
            seen.add(c)
            out.append((c, lab))
    return out[:5]


def build_rewrite_examples(seed: int, queries: list[dict]) -> list[dict]:
    """One example per train/extra query; 10% of them held out as the rewriter's dev split."""
    rng, rows = random.Random(seed * 31 + 5), []
    for q in queries:
        if q["split"] not in ("train", "extra"):
            continue
        spec = Spec.from_json(q["spec"])
        good, bad = good_rewrites(rng, spec), bad_rewrites(rng, spec)
        if len(good) < K_GOOD or len(bad) < 3:
            continue
        rows.append({"query_id": q["query_id"], "query": q["text"], "qtype": q["qtype"], "rewrites": good,
                     "bad_rewrites": [b for b, _ in bad], "bad_labels": [lab for _, lab in bad],
                     "split": "dev" if rng.random() < 0.1 else "train", "spec": q["spec"]})
    return rows


__all__ = ["build_rewrite_examples", "good_rewrites", "bad_rewrites", "IRRELEVANT"]
