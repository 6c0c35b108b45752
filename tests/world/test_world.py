"""Demo world: determinism, cache round-trip, default-size guarantees and ground-truth semantics."""

from __future__ import annotations

import json

import pytest

from tailsynth.world import generate_world, load_world
from tailsynth.world import lexicon as L
from tailsynth.world.logs import HEAD_FORBIDDEN
from tailsynth.world.truth import tokenize

SMALL = 3000


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("TAILSYNTH_CACHE", str(tmp_path_factory.mktemp("cache")))
    yield
    mp.undo()


@pytest.fixture(scope="module")
def small(cache):
    return load_world(seed=0, n_products=SMALL)


@pytest.fixture(scope="module")
def default(cache):
    return load_world(seed=0, n_products=20000)


def test_deterministic_same_seed(small):
    again = generate_world(seed=0, n_products=SMALL)
    for name in ("products", "queries", "qrels", "rewrite_examples", "head_pairs", "relevance_labels"):
        assert getattr(again, name).equals(getattr(small, name)), name


def test_different_seed_differs(small):
    other = generate_world(seed=1, n_products=SMALL)
    assert other.products.column("title").to_pylist() != small.products.column("title").to_pylist()


def test_cache_reload_identical(small):
    reloaded = load_world(seed=0, n_products=SMALL)
    for name in ("products", "queries", "qrels", "rewrite_examples", "head_pairs", "relevance_labels"):
        assert getattr(reloaded, name).equals(getattr(small, name)), name
    assert reloaded.knowledge_base == small.knowledge_base


def test_default_size_guarantees(default):
    s = default.stats()
    assert s["products"] >= 20000 and s["product_types"] >= 40
    for qt in ("qa", "knowledge", "alternative", "negative"):
        assert s[f"queries_{qt}_test"] >= 300
    assert s["rewrite_examples"] >= 3000 and s["head_pairs"] >= 20000 and s["relevance_labels"] >= 8000
    assert 0.3 <= s["relevance_positive_rate"] <= 0.5
    assert len(default.knowledge_base) >= 120
    assert s["min_relevant_per_query"] >= 5


def test_every_query_has_five_relevant_and_unique_text(small):
    rows = small.queries.to_pylist()
    assert len({r["text"].lower() for r in rows}) == len(rows)
    assert all(len(small.relevant_ids(r["query_id"])) >= 5 for r in rows)


def test_splits_disjoint_and_rewrites_exclude_eval_queries(small):
    eval_ids = {r["query_id"] for r in small.queries.to_pylist() if r["split"] in ("dev", "test")}
    eval_texts = {r["text"] for r in small.queries.to_pylist() if r["split"] in ("dev", "test")}
    ex = small.rewrite_examples.to_pylist()
    assert not {e["query_id"] for e in ex} & eval_ids and not {e["query"] for e in ex} & eval_texts
    assert all(len(e["rewrites"]) == 5 and len(e["bad_rewrites"]) >= 3 for e in ex)
    assert all(len(e["bad_rewrites"]) == len(e["bad_labels"]) for e in ex)


def _products_by_id(w):
    return {p["product_id"]: p for p in w.products.to_pylist()}


def test_negative_spec_excludes_value(small):
    prods = _products_by_id(small)
    negs = small.query_rows("test", "negative")
    assert negs
    for q in negs[:50]:
        spec = json.loads(q["spec"])
        ((attr, vals),) = spec["excluded"].items()
        for pid, p in prods.items():
            attrs = json.loads(p["attributes"])
            ok = p["product_type"] in spec["types"] and attrs.get(attr) not in vals
            assert small.judge(q["query_id"], [pid]) == [ok]


def test_alternative_excludes_premium_brand_and_tier(small):
    prods = _products_by_id(small)
    for q in small.query_rows("test", "alternative")[:40]:
        spec = json.loads(q["spec"])
        rel = small.relevant_ids(q["query_id"])
        assert rel
        for pid in rel:
            p = prods[pid]
            assert p["brand"] != spec["excluded_brand"] and p["brand_tier"] != "premium"
            assert p["price"] < spec["max_price"] and p["product_type"] in spec["types"]
        premium = [pid for pid, p in prods.items() if p["brand"] == spec["excluded_brand"]]
        assert not any(small.judge(q["query_id"], premium))


def test_rewrite_label_handwritten(small):
    paint_neg = next(r for r in small.queries.to_pylist()
                     if json.loads(r["spec"])["excluded"] == {"base": ["oil"]} and json.loads(r["spec"])["types"] == ["paint"])
    qid = paint_neg["query_id"]
    assert small.rewrite_label(qid, "water based paint") == "relevant"
    assert small.rewrite_label(qid, "latex wall paint") == "relevant"
    assert small.rewrite_label(qid, "paint that is not oil-based") == "relevant"
    assert small.rewrite_label(qid, "oil based paint") == "irrelevant"
    assert small.rewrite_label(qid, "house paint") == "partially_relevant"
    assert small.rewrite_label(qid, "paint primer") == "partially_relevant"
    assert small.rewrite_label(qid, "garden hose") == "irrelevant"


def test_rewrite_label_alternative_and_knowledge(small):
    alt = next(r for r in small.queries.to_pylist() if r["qtype"] == "alternative")
    spec = json.loads(alt["spec"])
    t, brand = spec["types"][0], spec["excluded_brand"]
    cheap = L.BRANDS[t]["budget"][0]
    req = " ".join(L.ATTRS[a][v[0]][0] for a, v in spec["required"].items())
    assert small.rewrite_label(alt["query_id"], f"{cheap} {req} {t}") == "relevant"
    assert small.rewrite_label(alt["query_id"], f"budget {req} {t}") == "relevant"
    assert small.rewrite_label(alt["query_id"], f"{brand} {req} {t}") == "irrelevant"
    run = next(r for r in small.queries.to_pylist() if json.loads(r["spec"])["types"] == ["toilet flapper", "fill valve"])
    assert small.rewrite_label(run["query_id"], "universal toilet flapper 2 inch") == "relevant"
    assert small.rewrite_label(run["query_id"], "toilet fill valve") == "relevant"
    assert small.rewrite_label(run["query_id"], "toilet bowl brush") == "partially_relevant"
    assert small.rewrite_label(run["query_id"], "ant bait stations") == "irrelevant"


def test_good_rewrites_agree_with_labeller(small):
    for e in small.rewrite_examples.to_pylist()[:300]:
        assert all(small.rewrite_label(e["query_id"], r) == "relevant" for r in e["rewrites"])
        assert [small.rewrite_label(e["query_id"], r) for r in e["bad_rewrites"]] == e["bad_labels"]


def test_head_queries_are_head_only(small):
    for q in set(small.head_pairs.column("query").to_pylist()):
        assert not set(tokenize(q)) & HEAD_FORBIDDEN, q
        assert "alternative" not in q


def test_relevance_labels_have_word_sharing_negatives(small):
    rows = [r for r in small.relevance_labels.to_pylist() if r["label"] == 0]
    texts = dict(zip(small.products.column("product_id").to_pylist(), small.product_texts()))
    shared = sum(bool(set(tokenize(r["query"])) & set(tokenize(texts[r["product_id"]]))) for r in rows)
    assert shared / len(rows) > 0.8
    qids = {r["text"]: r["query_id"] for r in small.queries.to_pylist()}
    for r in small.relevance_labels.to_pylist()[:2000]:
        if r["query"] in qids:
            assert small.judge(qids[r["query"]], [r["product_id"]]) == [bool(r["label"])]


def test_query_rows_limit_and_texts(small):
    rows = small.query_rows("test", limit=7)
    assert len(rows) == 28 and rows == small.query_rows("test", limit=7)
    texts = small.product_texts()
    assert len(texts) == small.products.num_rows and max(len(t.split()) for t in texts) <= 45
