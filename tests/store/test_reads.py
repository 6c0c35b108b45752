"""store.reads: the one funnel SQL, kept pairs, hard negatives (real rejects only) and run settings."""

from tailsynth.config import SynthesisConfig
from tailsynth.store import Store, reads
from tailsynth.store.views import VIEWS


def _store():
    s = Store(":memory:")
    s.start_run("r", "synthesis", {"business_threshold": 0.5}, {})
    s.insert("queries", [("r", "q1", "power station", "qa"), ("r", "q2", "toilet running", None)])
    s.insert("rewrites", [("r", "q1", 0, "power station", "original", None, None, None, True),
                          ("r", "q1", 1, "portable power", "relevant", 0.8, 0.1, 0.1, True),
                          ("r", "q1", 2, "garden hose", "irrelevant", 0.1, 0.1, 0.8, False),
                          ("r", "q2", 1, "toilet flapper", "relevant", 0.8, 0.1, 0.1, True)])
    s.insert("candidates", [("r", "q1", p, 1, i, 0.9) for i, p in enumerate(["p1", "p2", "p3", "p4"], 1)]
             + [("r", "q2", "p5", 1, 1, 0.9)])
    s.insert("pairs", [("r", "q1", "p1", 1, 1, 0.9, 0.9, True), ("r", "q1", "p2", 1, 2, 0.8, 0.1, False),
                       ("r", "q1", "p3", 1, 3, 0.7, None, False), ("r", "q1", "p4", 1, 4, 0.1, None, False),
                       ("r", "q2", "p5", 1, 1, 0.9, 0.8, True)])
    for pid, stage in (("p1", "general"), ("p2", "general"), ("p3", "cap"), ("p4", "business"), ("p5", "general")):
        s.con.execute("UPDATE pairs SET decided_by = ? WHERE product_id = ?", [stage, pid])
    return s


def test_funnel_per_type_and_total():
    with _store() as s:
        per = reads.funnel_by_type(s, "r")
        total = reads.funnel(s, "r")
        view = s.fetch_dicts(VIEWS["funnel"].replace("$run", "$1"), ["r"])
    assert per["qa"] == {"queries": 1, "rewrites": 2, "rewrites_kept": 1, "rewrites_dropped": 1, "candidates": 4,
                         "business_pass": 3, "general_scored": 2, "general_removed": 1, "pairs_kept": 1}
    assert per[None]["pairs_kept"] == 1 and per[None]["rewrites"] == 1  # untyped queries are a row of their own
    assert total["queries"] == 2 and total["candidates"] == 5 and total["pairs_kept"] == 2
    assert {r["qtype"]: r["pairs_kept"] for r in view} == {"qa": 1, None: 1}  # inspect prints the same SQL


def test_hard_negatives_are_real_rejects_not_capped_candidates():
    with _store() as s:
        assert reads.hard_negatives(s, "r") == {"q1": ["p2", "p4"]}  # p3 was over the cap, never judged
        assert reads.hard_negatives(s, "r", max_negative_rank=3) == {"q1": ["p2"]}
        assert reads.kept_pairs(s, "r") == [("q1", "power station", "p1"), ("q2", "toilet running", "p5")]


def test_settings_come_from_the_run_else_the_config_default():
    with _store() as s:
        assert reads.business_threshold(s, "r") == 0.5
        assert reads.top_k(s, "r") == SynthesisConfig().top_k  # not recorded: the one default
        assert reads.latest_synthesis_run(s) == "r"


def test_a_negation_reject_is_a_hard_negative_and_a_retrieval_floor_reject_is_not():
    with _store() as s:
        s.con.execute("UPDATE pairs SET decided_by = 'negation', business_score = NULL WHERE product_id = 'p2'")
        s.con.execute("UPDATE pairs SET decided_by = 'retrieval', business_score = NULL WHERE product_id = 'p4'")
        assert reads.hard_negatives(s, "r") == {"q1": ["p2"]}
        assert reads.funnel_by_type(s, "r")["qa"]["business_pass"] == 2  # an unscored reject does not pass
