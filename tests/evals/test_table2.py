"""Table 2 computations on a hand-built store with known answers."""

from tailsynth.evals import table2
from tailsynth.store import Store

PRODUCTS = {"p1": "portable power station 500Wh", "p2": "power station maintenance tool kit", "p3": "camping lantern",
            "p4": "garden hose", "p5": "toilet flapper", "p6": "toilet fill valve", "p9": "extra product"}
RELEVANT = {"q1": {"p1", "p3"}, "q2": {"p5"}}


def judge(qid, pids):
    return [p in RELEVANT[qid] for p in pids]


class FakeIndex:
    """Every dropped rewrite retrieves p1 (already a candidate of q1) and p9 (new)."""

    def search_union(self, groups, k=200):
        return [[{"product_id": "p1", "rewrite_index": 0, "rank": 1, "score": 1.0},
                 {"product_id": "p9", "rewrite_index": 0, "rank": 2, "score": 0.9}] for _ in groups]


def _store():
    s = Store(":memory:")
    s.start_run("r", "synthesis", {"business_threshold": 0.5, "top_k": 200}, {})
    s.insert("queries", [("r", "q1", "portable power station for camping", "qa"), ("r", "q2", "toilet keeps running", "negative")])
    s.insert("rewrites", [
        ("r", "q1", 0, "portable power station for camping", "original", None, None, None, True),
        ("r", "q1", 1, "power station", "relevant", 0.8, 0.1, 0.1, True),
        ("r", "q1", 2, "garden hose", "irrelevant", 0.1, 0.1, 0.8, False),
        ("r", "q2", 0, "toilet keeps running", "original", None, None, None, True),
        ("r", "q2", 1, "toilet flapper", "relevant", 0.8, 0.1, 0.1, True),
    ])
    s.insert("candidates", [("r", "q1", "p1", 0, 1, 0.9), ("r", "q1", "p2", 1, 1, 0.8), ("r", "q1", "p3", 1, 2, 0.7),
                            ("r", "q1", "p4", 1, 3, 0.1), ("r", "q2", "p5", 1, 1, 0.9), ("r", "q2", "p6", 1, 2, 0.8)])
    s.insert("pairs", [
        ("r", "q1", "p1", 0, 1, 0.95, 0.9, True),   # true, kept
        ("r", "q1", "p2", 1, 1, 0.90, 0.2, False),  # business false positive (lexical), removed by general
        ("r", "q1", "p3", 1, 2, 0.70, 0.3, False),  # true pair removed by general
        ("r", "q1", "p4", 1, 3, 0.10, None, False),  # below business threshold
        ("r", "q2", "p5", 1, 1, 0.90, 0.8, True),   # true, kept
        ("r", "q2", "p6", 1, 2, 0.60, 0.7, True),   # business false positive kept (overlap "toilet")
    ])
    return s


def test_funnel_accuracy_and_saved_calls_exact():
    with _store() as s:
        res = table2.table2_metrics(s, "r", judge, index=FakeIndex())
    qa, neg, all_ = res["qa"], res["negative"], res["all"]
    assert (qa["queries"], qa["rewrites"], qa["rewrites_dropped"], qa["candidates"]) == (1, 2, 1, 4)
    assert (qa["business_pass"], qa["general_scored"], qa["general_removed"], qa["pairs_kept"]) == (3, 3, 2, 1)
    assert qa["pair_accuracy"] == 1.0 and abs(qa["business_pass_accuracy"] - 2 / 3) < 1e-9
    assert neg["pair_accuracy"] == 0.5 and neg["rewrites_dropped"] == 0
    assert all_["pairs_kept"] == 3 and abs(all_["pair_accuracy"] - 2 / 3) < 1e-9
    assert qa["calls_saved"] == 1 and neg["calls_saved"] == 0 and all_["calls_saved"] == 1  # p9 only
    assert qa["candidates_per_query"] == 4 and abs(qa["rewrite_drop_rate"] - 0.5) < 1e-9


def test_saved_calls_estimate_without_index():
    with _store() as s:
        name, saved = table2.calls_saved(s, "r")
    # generated rewrites credited: (q1,1) with 3 candidates, (q2,1) with 2 → 2.5 per rewrite; one dropped rewrite
    assert name == "calls_saved_est" and saved["qa"] == 2.5 and saved["all"] == 2.5


def test_business_false_positives():
    with _store() as s:
        stats, examples = table2.business_false_positives(s, "r", judge, PRODUCTS.get)
    assert stats["scored"] == 5 and stats["false_positives"] == 2
    assert stats["fp_removed_by_general"] == 1 and stats["fp_lexical_overlap"] == 2
    assert stats["true_pairs_removed_by_general"] == 1
    assert examples[0].product_id == "p2" and examples[0].removed and examples[0].overlap == ["power", "station"]


def test_report_stores_prints_and_plots(tmp_path):
    with _store() as s:
        report = table2.report_table2(s, "r", judge, PRODUCTS.get, index=FakeIndex(), out_dir=tmp_path)
        rows = s.fetch("SELECT system, qtype, metric, value FROM eval_results WHERE suite = 'table2' AND metric = 'pair_accuracy'")
    assert ("synthesis", "qa", "pair_accuracy", 1.0) in rows
    assert (tmp_path / "table2-r.png").stat().st_size > 0 and report["png"]
    table = table2.render_table2(report["results"])
    assert [c.header for c in table.columns] == ["", "Q&A", "Negative", "All"]
