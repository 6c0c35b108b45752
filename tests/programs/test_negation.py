"""The negation rule: what a query rules out, and whether a product's text states it."""

import pytest

from tailsynth.programs.negation import excluded_terms, states, violates


@pytest.mark.parametrize("query, terms", [
    ("drywall anchors that aren't nylon please", ("nylon",)),
    ("best wood stain that isn't oil-based", ("oil based",)),
    ("need non-brass screws", ("brass",)),
    ("garbage bags without fragrance", ("fragrance",)),
    ("looking for scent-free garbage bags", ("scent",)),
    ("hammer that is not made of wood", ("wood",)),
    ("heater that is not oil filled", ("oil filled",)),
    ("sink faucet other than chrome", ("chrome",)),
    ("NON-CHROME shower head, not chrome!", ("chrome",)),  # case-folded, one term once
])
def test_excluded_terms_reads_the_negated_property(query, terms):
    assert excluded_terms(query) == terms


@pytest.mark.parametrize("query", [
    "my toilet will not stop running, what do I buy?",  # a symptom, not an excluded property
    "toilet flapper valve",
    "what can I use to stop a door that does not close",
    "",
    "not",  # nothing after the negation
    "x" * 100_000,
])
def test_queries_that_rule_nothing_out(query):
    assert excluded_terms(query) == ()


def test_a_product_states_a_term_only_as_whole_words_and_not_negated():
    assert states("Acme Nylon Drywall Anchors 50-Pack. nylon", "nylon")
    assert states("Acme oil-based wood stain", "oil based")  # hyphen or space: one phrase
    assert states("brass screws 100 ct", "brass screw")  # plural
    assert not states("Acme nylonite anchors", "nylon")  # not a whole word
    assert not states("LED bulb non-dimmable 60W", "dimmable")  # the product negates it itself
    assert not states("trash bags, fragrance-free", "fragrance")
    assert not states("ceiling fan, no light", "light")


def test_violates_any_term():
    assert violates(("nylon", "plastic"), "plastic wall anchors")
    assert not violates(("nylon",), "metal wall anchors")
    assert not violates((), "nylon wall anchors")


def test_synonym_groups_extend_a_term_to_the_phrases_stating_the_same_property():
    from tailsynth.config import SynthesisConfig
    from tailsynth.programs.negation import with_synonyms

    groups = SynthesisConfig().negation_synonyms
    terms = with_synonyms(excluded_terms("upright vacuum that is not cordless"), groups)
    assert terms == ("cordless", "battery powered", "battery operated")
    assert violates(terms, "Fenru upright vacuum, battery-powered")  # the hyphenated form of a listed phrase
    assert not violates(excluded_terms("upright vacuum that is not cordless"), "Fenru upright vacuum, battery-powered")
    assert not violates(terms, "Fenru upright vacuum, corded")
    # a term in no group, and a group phrase that is only part of a term, are left as they are
    assert with_synonyms(("nylon", "indoor paint"), groups) == ("nylon", "indoor paint")
    assert with_synonyms(("Indoor",), [["INTERIOR", "indoor"]]) == ("interior", "indoor")  # normalized both sides
    assert with_synonyms((), groups) == ()


@pytest.mark.parametrize("groups", [[[]], [["ok", ""]], ["cordless"], [[1, 2]]])
def test_malformed_synonym_groups_are_refused(groups):
    from tailsynth.config import SynthesisConfig

    with pytest.raises(ValueError, match="negation_synonyms"):
        SynthesisConfig(negation_synonyms=groups)
