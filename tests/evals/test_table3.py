import math

import pytest

from tailsynth.evals.table3 import Table3Config, evaluate_rewriters, plot_table3, render_table3
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
