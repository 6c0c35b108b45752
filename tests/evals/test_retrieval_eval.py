"""Retrieval eval on a toy catalog with a bag-of-words encoder and hand-computed goodrates."""

import math

import pytest

from tailsynth.catalog import Catalog
from tailsynth.evals.retrieval_eval import evaluate_retriever, score_lists
from tailsynth.io import qrels_judge
from tailsynth.store import Store

from ..encoders import HashEncoder as BowEncoder


def test_score_lists_hand_computed():
    queries = [{"query_id": "a", "text": "", "qtype": "qa"}, {"query_id": "b", "text": "", "qtype": "qa"},
               {"query_id": "c", "text": "", "qtype": "negative"}]
    retrieved = [["p1", "p2", "p3", "p4"], ["p1", "p2"], ["p5"]]
    rel = {"a": {"p1", "p3", "p9"}, "b": set(), "c": {"p5"}}
    judge = qrels_judge({q: {p: 1 for p in ps} for q, ps in rel.items()})
    out = score_lists(queries, retrieved, judge)
    # item goodrate: a = 2/4, b = 0/2, c = 1/1
    assert out["qa"]["item_goodrate"] == pytest.approx((0.5 + 0.0) / 2)
    assert out["negative"]["item_goodrate"] == 1.0
    assert out["all"]["item_goodrate"] == pytest.approx(1.5 / 3)
    assert out["all"]["query_goodrate@10"] == 0.0  # nobody has 10 relevant
    # recall@200 skips b (no relevant): a = 2/3, c = 1
    assert out["all"]["recall@200"] == pytest.approx((2 / 3 + 1) / 2)
    ideal_a = 1 + 1 / math.log2(3) + 1 / math.log2(4)
    assert out["qa"]["ndcg@10"] == pytest.approx((1 + 1 / math.log2(4)) / ideal_a)
    assert out["all"]["n_queries"] == 3
    # without a way to list relevant ids, recall and nDCG are NaN rather than wrong
    plain = score_lists(queries, retrieved, lambda q, ids: judge(q, ids))
    assert math.isnan(plain["all"]["recall@200"]) and plain["all"]["item_goodrate"] == out["all"]["item_goodrate"]


def test_evaluate_retriever_end_to_end_and_stores_rows(tmp_path):
    catalog = Catalog(["d1", "d2", "t1", "t2", "h1"],
                      ["cordless drill", "drill bits", "bath towel", "beach towel", "garden hose"])
    queries = [{"query_id": "q1", "text": "drill", "qtype": "knowledge"},
               {"query_id": "q2", "text": "towel", "qtype": "qa"}]
    judge = qrels_judge({"q1": {"d1": 1}, "q2": {"t1": 1, "t2": 1}})
    store = Store(":memory:")
    out = evaluate_retriever(BowEncoder(), catalog, queries, judge, k=2, store=store, run_id="e1",
                             system="bow", index_dir=tmp_path)
    # q1 top-2 = {d1, d2}: 1/2 relevant; q2 top-2 = {t1, t2}: 2/2
    assert out["knowledge"]["item_goodrate"] == 0.5
    assert out["qa"]["item_goodrate"] == 1.0
    assert out["all"]["item_goodrate"] == 0.75
    assert out["all"]["recall@200"] == 1.0
    rows = store.fetch("SELECT qtype, value FROM eval_results WHERE run_id = 'e1' AND system = 'bow' "
                       "AND suite = 'retrieval' AND metric = 'item_goodrate' ORDER BY qtype")
    assert rows == [("all", 0.75), ("knowledge", 0.5), ("qa", 1.0)]
    # one row per query and Table 1 metric; a type's mean of them is its cell
    per_query = store.fetch("SELECT query_id, qtype, metric, value FROM eval_query_results WHERE run_id = 'e1' "
                            "AND system = 'bow' ORDER BY query_id, metric")
    assert per_query == [("q1", "knowledge", "item_goodrate", 0.5), ("q1", "knowledge", "query_goodrate@10", 0.0),
                         ("q1", "knowledge", "query_goodrate@100", 0.0), ("q2", "qa", "item_goodrate", 1.0),
                         ("q2", "qa", "query_goodrate@10", 0.0), ("q2", "qa", "query_goodrate@100", 0.0)]


def test_per_query_values_average_to_the_table_cells():
    from tailsynth.evals.retrieval_eval import PER_QUERY_METRICS, per_query_values

    queries = [{"query_id": f"q{i}", "text": "", "qtype": "qa" if i % 2 else "negative"} for i in range(6)]
    judged = [[True] * (3 * i) + [False] * (40 - 3 * i) for i in range(6)]  # 0, 3, ..., 15 relevant of 40
    cells = score_lists(queries, [[str(j) for j in range(40)]] * 6, lambda q, ids: judged[int(q[1:])])
    rows = per_query_values(queries, judged)
    for qtype in ("qa", "negative"):
        for metric in PER_QUERY_METRICS:
            values = [v for _, t, m, v in rows if t == qtype and m == metric]
            assert sum(values) / len(values) == pytest.approx(cells[qtype][metric])
    assert cells["qa"]["query_goodrate@10"] == pytest.approx(1 / 3)  # q1 (3 relevant) and q3 (9) miss, q5 (15) makes it
