import math

import pytest

from tailsynth.evals.bootstrap import Interval
from tailsynth.evals.table3 import Table3Config, accuracy_intervals, evaluate_rewriters, plot_table3, render_table3
from tailsynth.store import Store

pytestmark = pytest.mark.integration


def test_table3_on_the_real_small_model(small_world, tmp_path):
    store = Store(":memory:")
    results = evaluate_rewriters(small_world, Table3Config(variants={"zero-shot": None}, per_type=1, top_k=20), store)
    row = results["zero-shot"]["all"]
    assert 0.0 <= row["rewrite_accuracy"] <= 1.0 and 0.0 <= row["item_goodrate"] <= 1.0
    assert 0.0 <= row["rewrites_per_query"] <= 5.0
    assert math.isnan(row["ppl"]) or row["ppl"] > 1.0
    stored = store.fetch("SELECT count(*) FROM eval_results WHERE suite = 'table3' AND system = 'zero-shot'")[0][0]
    assert stored == 4 * len(results["zero-shot"])
    assert plot_table3(results, tmp_path / "t3.png").stat().st_size > 0
    assert render_table3(results).row_count == 1
    # the per-query rows pool back to the table's rewrite accuracy, which gets an interval
    if row["rewrites_per_query"] > 0:
        interval = Interval(**accuracy_intervals(store, "table3")["zero-shot"]["all"])
        assert interval.estimate == pytest.approx(row["rewrite_accuracy"])
        assert interval.low <= interval.estimate <= interval.high


def test_accuracy_intervals_pool_rewrites_per_type():
    store = Store(":memory:")
    rows = []
    for i, (qtype, rewrites, relevant) in enumerate([("qa", 4, 4), ("qa", 2, 0), ("qa", 4, 2), ("negative", 3, 3)]):
        rows += [("t3", "table3", "SFT", f"q{i}", qtype, "rewrites", float(rewrites)),
                 ("t3", "table3", "SFT", f"q{i}", qtype, "relevant_rewrites", float(relevant))]
    rows.append(("t3", "table3", "RL", "q9", "qa", "rewrites", 0.0))  # a variant that wrote nothing has no interval
    rows.append(("t3", "table3", "RL", "q9", "qa", "relevant_rewrites", 0.0))
    store.insert("eval_query_results", rows)
    out = accuracy_intervals(store, "t3")
    assert Interval(**out["SFT"]["qa"]).estimate == pytest.approx(6 / 10)  # pooled, not the mean of 1, 0, 0.5
    assert Interval(**out["SFT"]["all"]).estimate == pytest.approx(9 / 13)
    assert Interval(**out["SFT"]["negative"]).low == 1.0
    assert out["RL"] == {}
