"""Operating points chosen on the dev run's labelled candidates (tailsynth.calibration)."""

import numpy as np
import pytest

from tailsynth.calibration import KEEP_NONE, DevRow, calibrate, choose_floor, recall_threshold
from tailsynth.thresholds import for_type


def test_recall_threshold_keeps_at_least_that_share_of_the_true_scores():
    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05])
    assert recall_threshold(scores, 1.0) == 0.0
    assert recall_threshold(scores, 0.9) == pytest.approx(0.1)  # 9 of 10 at >= 0.1
    assert recall_threshold(scores, 0.85) == pytest.approx(0.1)  # ceil(8.5) = 9
    assert recall_threshold(scores, 0.5) == pytest.approx(0.5)
    assert recall_threshold(np.array([]), 0.9) == 0.0


def test_choose_floor_is_the_lowest_reaching_the_target_and_says_when_none_does():
    scores = np.array([0.9, 0.85, 0.8, 0.75, 0.7, 0.65, 0.6, 0.55])
    relevant = np.array([1, 1, 1, 1, 0, 1, 0, 0], bool)
    floor, ok = choose_floor(scores, relevant, target=0.8, min_pairs=2)
    assert ok and floor == pytest.approx(0.65)  # 5 of 6 at >= 0.65, never under 0.8 above it; 5 of 7 at 0.6
    floor, ok = choose_floor(scores, relevant, target=0.81, min_pairs=2)
    assert ok and floor == pytest.approx(0.75)  # at 0.7 it dips to 4/5: stop there, though 0.65 (5/6) is over 0.81
    floor, ok = choose_floor(scores, relevant, target=1.0, min_pairs=5)
    assert not ok and floor == pytest.approx(0.65)  # best precision with 5 pairs or more: 5/6
    assert choose_floor(scores[:2], relevant[:2], 0.8, min_pairs=3) == (None, False)
    tied, ok = choose_floor(np.array([0.7, 0.7, 0.7, 0.5]), np.array([1, 1, 0, 0], bool), 0.6, 1)
    assert ok and tied == pytest.approx(0.7)  # a floor keeps a whole tie group


def _rows(rng, n, qtype, shift):
    rel = rng.random(n) < 0.4
    ann = np.clip(0.5 + shift * rel + rng.normal(0, 0.08, n), 0, 1)
    return [DevRow(qtype, float(a), float(rng.random()), float(rng.random()), bool(r)) for a, r in zip(ann, rel)]


def test_calibrate_gives_each_type_the_floor_its_dev_pairs_need():
    rng = np.random.default_rng(0)
    rows = _rows(rng, 300, "qa", 0.3) + _rows(rng, 300, "negative", 0.1)  # negatives separate less
    c = calibrate(rows, target_precision=0.85, min_pairs=5, rule="floors")
    assert c.business_recall == 1.0 and c.general_recall == 1.0  # random scores: filtering on them only loses pairs
    assert c.floor_by_type["negative"] > c.floor_by_type["qa"]
    for t in ("qa", "negative"):
        if c.reached[t]:
            assert c.dev[t]["precision"] >= 0.85
    assert c.dev["all"]["kept"] == c.dev["qa"]["kept"] + c.dev["negative"]["kept"]
    assert len(c.grid) == 3 * 4
    one = calibrate(rows, target_precision=0.85, per_type=False, rule="floors")
    assert one.floor_by_type == {} and one.dev["all"]["precision"] >= 0.85


def test_a_model_that_separates_is_used():
    rng = np.random.default_rng(1)
    rel = rng.random(400) < 0.5
    rows = [DevRow("qa", float(rng.random()), float(0.8 * r + 0.2 * rng.random()), 0.5, bool(r)) for r in rel]
    c = calibrate(rows, target_precision=0.95, min_pairs=5, rule="floors")
    assert c.business_recall < 1.0 and c.dev["all"]["precision"] >= 0.95
    with pytest.raises(ValueError, match="dev candidates"):
        calibrate([])


@pytest.mark.parametrize("rule", ["floors", "combined"])
def test_a_type_that_never_reaches_the_target_keeps_nothing(rule):
    rng = np.random.default_rng(2)
    hopeless = [DevRow("alternative", float(rng.random()), 0.5, 0.5, bool(r)) for r in rng.random(200) < 0.3]
    c = calibrate(_rows(rng, 300, "qa", 0.3) + hopeless, target_precision=0.85, rule=rule)
    assert c.reached["qa"] and not c.reached["alternative"]  # (one floor for both would not reach it either)
    assert c.floor_by_type["alternative"] == KEEP_NONE and c.dev["alternative"]["kept"] == 0
    assert c.dev["qa"]["kept"] > 0 and c.dev["qa"]["precision"] >= 0.85
    assert ("alternative" in c.keep_rule_by_type) is False


def _two_signal_rows(rng, n, qtype):
    """Relevance that the retrieval and general scores each show only in part, their sum clearly."""
    latent = rng.normal(0, 1, n)
    rel = latent + rng.normal(0, 0.5, n) > 0.3
    ann = 0.6 + 0.08 * latent + rng.normal(0, 0.08, n)
    gen = 1 / (1 + np.exp(-(latent + rng.normal(0, 1.0, n))))
    return [DevRow(qtype, float(a), float(rng.random()), float(g), bool(r)) for a, g, r in zip(ann, gen, rel)]


def test_combined_weighs_the_scores_together_and_keeps_more_at_the_same_target():
    rng = np.random.default_rng(3)
    rows = _two_signal_rows(rng, 400, "qa") + _two_signal_rows(rng, 400, "knowledge")
    floors = calibrate(rows, target_precision=0.9, rule="floors")
    combined = calibrate(rows, target_precision=0.9, rule="combined")
    assert combined.rule == "combined" and combined.grid == []
    assert combined.business_threshold == 0.0 and combined.general_threshold == 0.0  # the rule decides
    for t in ("qa", "knowledge"):
        assert combined.reached[t] and combined.dev[t]["precision"] >= 0.9
        rule = combined.keep_rule_by_type[t]
        assert rule.weights[0] > 0 and rule.weights[2] > 0 and abs(rule.weights[1]) < rule.weights[2]  # bus: noise
        kept = [r for r in rows if r.qtype == t and rule.margin(r.ann_score, r.business_score, r.general_p_yes) >= rule.threshold]
        assert len(kept) == combined.dev[t]["kept"]
        as_rows = [{"ann_score": r.ann_score, "business_score": r.business_score, "general_p_yes": r.general_p_yes}
                   for r in rows if r.qtype == t]
        assert sum(rule.keeps(r) for r in as_rows) == len(kept)  # the stage's test on a pair row: the same decisions
        assert combined.floor_by_type[t] == pytest.approx(min(r.ann_score for r in kept))  # spares the models, loses none
    assert combined.dev["all"]["kept"] > 1.2 * floors.dev["all"]["kept"]
    for chosen in (floors, combined):  # the operating point's own test of a row gives its dev table
        assert sum(chosen.keeps(r) for r in rows) == chosen.dev["all"]["kept"]
        assert sum(chosen.keeps(r) and r.relevant for r in rows) == chosen.dev["all"]["kept_true"]


def test_a_combined_calibration_survives_its_json_and_refuses_a_malformed_rule():
    import json

    from tailsynth.calibration import Calibration
    from tailsynth.keep_rule import KeepRule

    rng = np.random.default_rng(4)
    c = calibrate(_two_signal_rows(rng, 300, "qa"), target_precision=0.9, rule="combined")
    back = Calibration.from_dict(json.loads(json.dumps(c.to_dict())))
    assert back.keep_rule_by_type == c.keep_rule_by_type and back.keep_rule == c.keep_rule
    old = {k: v for k, v in c.to_dict().items() if k not in ("rule", "keep_rule", "keep_rule_by_type")}
    assert Calibration.from_dict(old).rule == "floors"  # a calibration.json written before rules existed
    with pytest.raises(ValueError, match="weighs"):
        KeepRule.from_dict({"weights": {"ann_score": 1.0, "price": 2.0}, "bias": 0.0, "threshold": 0.0})
    with pytest.raises(ValueError, match="keep rule is"):
        KeepRule.from_dict({"weights": {"ann_score": 1.0}})
    with pytest.raises(ValueError, match="finite"):
        KeepRule((1.0, float("nan"), 0.0), 0.0, 0.0)
    with pytest.raises(ValueError, match="rule must be one of"):
        calibrate(_two_signal_rows(rng, 50, "qa"), rule="best")


def test_a_per_type_setting_applies_to_its_type_and_never_to_an_untyped_query():
    floors = {"negative": 0.4, "qa": 0.5}
    assert for_type(floors, 0.6, "negative") == 0.4
    assert for_type(floors, 0.6, "knowledge") == 0.6  # a type without its own value: the default
    assert for_type(floors, 0.6, None) == 0.6 and for_type(floors, 0.6, "") == 0.6
    assert for_type({}, None, "qa") is None
