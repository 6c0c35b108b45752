"""Query-type classifier: the rules on the paper's own examples, and both classifiers on the world."""

import pytest

from tailsynth.evals.query_type import LearnedQueryTypeClassifier, accuracy, classify, evaluate_classifiers, rule_type


@pytest.mark.parametrize("text,qtype", [
    ("What medicine can turn hair black?", "qa"),
    ("Affordable alternatives to Converse shoes", "alternative"),
    ("Short sleeve shirt that doesn't attract hair", "negative"),
    ("Best GPU for Black Myth: Wukong", "knowledge"),
    ("what is a cheaper alternative to Dyson?", "alternative"),
    ("Brizen quality wall plugs without the price", "alternative"),
    ("fragrance-free detergent", "negative"),
    ("non-wooden wardrobe", "negative"),
    ("how do I clean counters without strong smells?", "qa"),
])
def test_rules(text, qtype):
    assert rule_type(text) == qtype


def test_learned_classifier_fits_small_data():
    texts = ["what do I use to fix a leak?", "how can I stop drafts?", "cheaper than Dyson vacuum",
             "dupe for Brand X drill", "paint that is not glossy", "non-toxic cleaner",
             "old deck screws rusted", "want to keep basement dry"]
    labels = ["qa", "qa", "alternative", "alternative", "negative", "negative", "knowledge", "knowledge"]
    clf = LearnedQueryTypeClassifier().fit(texts, labels)
    assert accuracy(clf.predict(texts), labels) == 1.0
    assert clf.predict([]) == []


def test_on_the_world_dev_and_test_splits():
    scores = evaluate_classifiers()
    for split in ("dev", "test"):
        assert scores[split]["learned"] >= 0.95
        assert scores[split]["rules"] >= 0.85
    assert classify(["shopping for stain that is not water-based"]) == ["negative"]
    assert classify(["dupe for Grasolmar tape rule"], method="rules") == ["alternative"]
    with pytest.raises(ValueError):
        classify(["x"], method="llm")
