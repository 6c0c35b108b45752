"""What an alternative to a named brand is (tailsynth.programs.alternatives) and the stage that reads it."""

import math

import pytest

from tailsynth.catalog import Catalog
from tailsynth.programs.alternatives import Alternatives
from tailsynth.programs.general_relevance import GeneralRelevanceFilter
from tailsynth.programs.queries import Query
from tailsynth.programs.stages import BusinessStage, GeneralFilterStage

from .fakes import OverlapScorer

# Three Dysonic vacuums (median 400), three others; "LG" is too short to be matched as a brand.
ROWS = [
    ("d1", "Dysonic cordless vacuum", "Dysonic", 380.0),
    ("d2", "Dysonic stick vacuum", "Dysonic", 400.0),
    ("d3", "Dysonic upright vacuum", "Dysonic", 450.0),
    ("b1", "Brisk cordless vacuum", "Brisk", 150.0),
    ("p1", "Premio stick vacuum", "Premio", 420.0),  # another brand, dearer than Dysonic's median
    ("n1", "Stick vacuum, no brand", "", math.nan),  # unknown brand and price: never rejected
    ("g1", "LG stick vacuum", "LG", 120.0),
    ("v1", "Vortix cordless vacuum", "Vortix", 310.0),  # cheaper than Dysonic's median, but in its price class
    ("v2", "Vortix stick vacuum", "Vortix", 390.0),
]
CATALOG = Catalog([r[0] for r in ROWS], [r[1] for r in ROWS], brands=[r[2] for r in ROWS], prices=[r[3] for r in ROWS])
IDS = [r[0] for r in ROWS]


def test_a_brand_is_named_by_its_whole_words_in_any_case():
    alt = Alternatives(CATALOG)
    assert alt.named("cheaper alternative to a DYSONIC vacuum") == {"dysonic"}
    assert alt.named("dysonic's stick vacuum but cheaper") == {"dysonic"}
    assert alt.named("dysonicx vacuum alternative") == frozenset()  # not a whole word
    assert alt.named("lg vacuum alternative") == frozenset()  # under 3 characters
    assert alt.named("brisk or premio vacuum dupe") == {"brisk", "premio"}


def test_the_named_brand_and_anything_at_or_above_its_median_price_are_no_alternative():
    alt = Alternatives(CATALOG)
    assert alt.ceiling(frozenset({"dysonic"}), IDS) == 400.0
    out = alt.rules_out("cheaper alternative to Dysonic vacuum", IDS)
    assert dict(zip(IDS, out)) == {"d1": True, "d2": True, "d3": True, "b1": False, "p1": True, "n1": False, "g1": False,
                                   "v1": False, "v2": False}
    assert alt.rules_out("cordless vacuum alternative", IDS) == [False] * len(IDS)  # names no brand


def test_a_brand_in_the_named_brands_price_class_is_no_alternative_either():
    classed = Alternatives(CATALOG, price_class=0.75)  # Vortix's median 350 >= 0.75 x 400; Brisk's 150 is not
    assert classed.price_classed(400.0, IDS) == {"dysonic", "premio", "vortix"}
    out = dict(zip(IDS, classed.rules_out("cheaper alternative to Dysonic vacuum", IDS)))
    assert out["v1"] and out["v2"] and not out["b1"] and not out["n1"]
    with pytest.raises(ValueError, match="price_class"):
        Alternatives(CATALOG, price_class=1.5)


def test_the_price_to_beat_comes_from_the_brands_products_among_the_candidates():
    alt = Alternatives(CATALOG)
    out = alt.rules_out("Dysonic vacuum dupe", ["d1", "p1", "b1"])  # ceiling 380: only d1 among them
    assert out == [True, True, False]
    assert alt.rules_out("Dysonic vacuum dupe", ["p1", "b1"]) == [False, False]  # no Dysonic: no price to beat


def test_brands_without_prices_reject_the_named_brand_only_and_no_brands_reject_nothing():
    brands_only = Catalog(CATALOG.ids, CATALOG.texts, brands=CATALOG.brands)
    assert Alternatives(brands_only).rules_out("Dysonic vacuum dupe", IDS) == [True, True, True] + [False] * 6
    bare = Alternatives(Catalog(CATALOG.ids, CATALOG.texts))
    assert not bare.enabled and bare.rules_out("Dysonic vacuum dupe", IDS) == [False] * len(IDS)


class _Scores:
    def score(self, query, texts):
        return [0.9] * len(texts)


def _candidates(ids):
    return [{"query_id": "q", "product_id": pid, "rewrite_rank": 0, "ann_rank": i, "ann_score": 0.9}
            for i, pid in enumerate(ids)]


def test_the_business_stage_rejects_them_unscored_for_alternative_queries_only():
    stage = BusinessStage(_Scores(), CATALOG, threshold=0.5, alternatives=True)
    alternative = Query("q", "cheaper alternative to Dysonic vacuum", "alternative")
    rows = {r["product_id"]: r for r in stage([alternative], _candidates(IDS))}
    assert {p for p, r in rows.items() if r["decided_by"] == "alternative"} == {"d1", "d2", "d3", "p1"}
    classed = BusinessStage(_Scores(), CATALOG, threshold=0.5, alternatives=True, price_class=0.75)
    assert {r["product_id"] for r in classed([alternative], _candidates(IDS)) if r["decided_by"] == "alternative"} == {
        "d1", "d2", "d3", "p1", "v1", "v2"}
    assert all(rows[p]["business_score"] is None for p in ("d1", "p1")) and rows["b1"]["business_score"] == 0.9
    general = GeneralFilterStage(GeneralRelevanceFilter(OverlapScorer(), threshold=0.0), CATALOG,
                                 business_threshold=0.5, max_per_query=10)
    judged = {r["product_id"]: r for r in general([alternative], list(rows.values()))}
    assert judged["d1"]["decided_by"] == "alternative" and judged["d1"]["general_p_yes"] is None  # never scored
    assert judged["b1"]["decided_by"] == "general" and not judged["d1"]["kept"]
    qa = Query("q", "is the Dysonic vacuum good for pet hair?", "qa")  # asks for the brand: kept for scoring
    assert not any(r["decided_by"] == "alternative" for r in stage([qa], _candidates(IDS)))
    off = BusinessStage(_Scores(), CATALOG, threshold=0.5, alternatives=False)
    assert not any(r["decided_by"] == "alternative" for r in off([alternative], _candidates(IDS)))
