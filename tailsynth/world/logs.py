"""Behaviour-log stand-ins: head-query click pairs and business relevance labels.

``head_pairs`` mimic historical search logs, which only cover short head keywords (never needs,
negations or "alternative to"), so a retriever trained on them inherits the long-tail gap the paper
targets. ``relevance_labels`` add hard negatives that share words with the query, so a lexical
scorer learns overlap shortcuts unless it also sees the long-tail train queries.
"""

from __future__ import annotations

import json
import random
from collections import defaultdict

import numpy as np

from . import lexicon as L
from .catalog import clean_phrases
from .truth import ProductIndex, Spec, tokenize

_STOP = frozenset("a an the to for of and or in on my i is are that what do use with how can need".split())
HEAD_FORBIDDEN = frozenset(L.NEGATION_WORDS) | {"alternative", "cheaper", "instead", "dupe", "like"}


def _head_query(rng: random.Random, p: dict) -> tuple[str, Spec]:
    t = L.TYPE_BY_NAME[p["product_type"]]
    syn = rng.choice([s for s in t.synonyms if not L.has_negation(s)])
    attrs = json.loads(p["attributes"])
    opts = [(a, v, ph) for a, v in attrs.items() for ph in clean_phrases(a, v)]
    spec = Spec(types=[t.name])
    form = rng.random()
    parts = [syn]
    if opts and form < 0.6:
        a, v, ph = rng.choice(opts)
        spec.required = {a: [v]}
        parts = [ph, syn] if rng.random() < 0.7 else [syn, ph]
    if form > 0.45:
        spec.brands = [p["brand"]]
        parts = [p["brand"]] + parts
    return " ".join(" ".join(parts).lower().split()), spec


def build_head_pairs(seed: int, products: list[dict], n_pairs: int = 22000) -> tuple[list[dict], dict[str, str]]:
    """(query, clicked product_id) pairs, plus each head query's spec JSON."""
    rng, rows, specs = random.Random(seed * 17 + 3), [], {}
    while len(rows) < n_pairs:
        p = products[rng.randrange(len(products))]
        q, spec = _head_query(rng, p)
        if set(tokenize(q)) & HEAD_FORBIDDEN:
            continue
        specs.setdefault(q, spec.to_json())
        rows.append({"query": q, "product_id": p["product_id"]})
    return rows, specs


class OverlapIndex:
    """Token -> product rows, to find products that share words with a query (hard negatives)."""

    def __init__(self, texts: list[str]):
        post: dict[str, list[int]] = defaultdict(list)
        for i, text in enumerate(texts):
            for tok in set(tokenize(text)) - _STOP:
                post[tok].append(i)
        self.post = {k: np.asarray(v, dtype=np.int64) for k, v in post.items()}
        self.n = len(texts)

    def overlap(self, query: str) -> np.ndarray:
        lists = [self.post[t] for t in set(tokenize(query)) - _STOP if t in self.post]
        return np.bincount(np.concatenate(lists), minlength=self.n) if lists else np.zeros(self.n, np.int64)


def build_relevance_labels(seed: int, index: ProductIndex, product_ids: list[str], texts: list[str],
                           head_specs: dict[str, str], train_queries: list[dict], n_head: int = 3000) -> list[dict]:
    """~40% positives: 2 relevant + 3 word-sharing irrelevant products per query; 10% of queries are dev."""
    rng, ov, rows = random.Random(seed * 13 + 7), OverlapIndex(texts), []
    heads = sorted(head_specs)
    rng.shuffle(heads)
    queries = [(q, head_specs[q]) for q in heads[:n_head]] + [(q["text"], q["spec"]) for q in train_queries]
    cache: dict[str, np.ndarray] = {}
    for text, js in queries:
        if js not in cache:
            cache[js] = index.mask(Spec.from_json(js))
        rel = cache[js]
        pos = np.flatnonzero(rel)
        if len(pos) < 2:
            continue
        score = ov.overlap(text).astype(np.float64)
        score[rel] = -1
        hard = np.argsort(-score, kind="stable")[:40]
        hard = [int(i) for i in hard if score[i] > 0] or [int(i) for i in np.flatnonzero(~rel)[:40]]
        split = "dev" if rng.random() < 0.1 else "train"
        for i in rng.sample(list(pos), 2):
            rows.append({"query": text, "product_id": product_ids[int(i)], "label": 1, "split": split})
        for i in rng.sample(hard, min(3, len(hard))):
            rows.append({"query": text, "product_id": product_ids[i], "label": 0, "split": split})
    return rows
