"""What an excluded phrase implies in a catalog (tailsynth.programs.implications)."""

import pytest

from tailsynth.catalog import Catalog
from tailsynth.programs.implications import Implications, attribute_phrases

# Five weed killers say "plant-based" (or "plant based") and all carry "natural"; two carry "natural"
# without saying it; the chemical ones carry "chemical". "pet safe" is said by two natural and two
# chemical products: it implies neither.
ROWS = [
    ("w1", "Plant-based weed killer", "natural, 32 oz"),
    ("w2", "plant based weed killer, pet safe", "natural, 1 gal"),
    ("w3", "Weed killer (plant-based)", "natural"),
    ("w4", "Botanical plant based weed killer", "natural; 32 oz"),
    ("w5", "Plant based Weed Killer", "Natural"),
    ("w6", "Organic weed killer, pet safe", "natural"),
    ("w7", "Botanical weed killer", "natural"),
    ("c1", "Fast weed killer, pet safe", "chemical, 32 oz"),
    ("c2", "Weed killer concentrate, pet safe", "chemical"),
    ("c3", "Weed and grass killer, not plant based", "chemical"),  # states it negated: not counted
]
CATALOG = Catalog([r[0] for r in ROWS], [f"{t}. {a}" for _, t, a in ROWS], [a for *_, a in ROWS])


def test_attribute_phrases_are_normalized_and_split_on_commas_and_semicolons():
    assert attribute_phrases("Stainless Steel, 2 in.; framing") == {"stainless steel", "2 in", "framing"}
    assert attribute_phrases("") == frozenset() and attribute_phrases(None) == frozenset()


def test_a_phrase_implies_the_attribute_nearly_every_product_stating_it_carries():
    imp = Implications(CATALOG)
    assert imp.of("plant based") == {"natural"}  # w1-w5 all natural; c3 says it negated
    assert imp.of("pet safe") == frozenset()  # 2 natural, 2 chemical of 4 (and too few)
    assert imp.of("weed killer") == frozenset()  # 7 natural of 10: no single class
    assert imp.of("natural") == frozenset()  # never itself
    assert imp.implied(("plant based", "pet safe")) == {"natural"} and imp.implied(()) == frozenset()
    assert [imp.carries(pid, frozenset({"natural"})) for pid in ("w6", "w7", "c1")] == [True, True, False]


def test_too_few_products_or_a_split_class_imply_nothing():
    assert Implications(CATALOG, min_products=6).of("plant based") == frozenset()
    mixed = Catalog(["a", "b", "c", "d", "e"], ["x plant based"] * 5, ["natural"] * 4 + ["chemical"])
    assert Implications(mixed).of("plant based") == frozenset()  # 4 of 5 < 0.95
    assert Implications(mixed, min_share=0.8).of("plant based") == {"natural"}


def test_a_catalog_without_attribute_texts_implies_nothing():
    bare = Catalog(CATALOG.ids, CATALOG.texts)
    imp = Implications(bare)
    assert not imp.enabled and imp.of("plant based") == frozenset()
    assert not imp.carries("w6", frozenset({"natural"}))


@pytest.mark.parametrize("kwargs", [{"min_products": 0}, {"min_share": 0.5}, {"min_share": 1.5}])
def test_settings_that_would_imply_at_random_are_refused(kwargs):
    with pytest.raises(ValueError, match="Implications needs"):
        Implications(CATALOG, **kwargs)


def test_catalog_attributes_must_align_with_the_ids():
    with pytest.raises(ValueError, match="attribute texts"):
        Catalog(["a", "b"], ["x", "y"], ["natural"])


def test_on_the_demo_world_catalog_plant_based_implies_natural_and_the_rule_finds_more_wrong_products(small_world):
    from tailsynth.programs.negation import excluded_terms, violates
    from tailsynth.sources.world import WorldSource

    catalog = WorldSource(small_world).catalog()
    imp = Implications(catalog)
    (term,) = excluded_terms("weed killer but not plant-based")
    assert "natural" in imp.of(term)
    w = small_world
    natural = [pid for pid, t, a in zip(catalog.ids, w.products.column("product_type").to_pylist(),
                                        w.products.column("attributes").to_pylist())
               if t == "weed killer" and '"natural"' in a]
    by_words = sum(violates((term,), catalog.text(p)) for p in natural)
    by_implication = sum(violates((term,), catalog.text(p)) or imp.carries(p, imp.of(term)) for p in natural)
    assert natural and by_implication == len(natural) > by_words  # every natural weed killer, not only those saying it
