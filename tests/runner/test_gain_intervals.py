"""Table 1 gains with paired bootstrap intervals, from the per-query rows an evaluation stores."""

import pytest

from tailsynth.evals.bootstrap import Interval
from tailsynth.runner.report import _gains
from tailsynth.runner.tables import gain_intervals
from tailsynth.store import Store


def _rows(system: str, values: dict[str, float]) -> list[tuple]:
    return [("ev", "table1", system, qid, "qa" if qid < "q5" else "negative", "item_goodrate", v)
            for qid, v in values.items()]


def test_gain_is_the_paired_mean_difference_and_its_interval_brackets_it():
    store = Store(":memory:")
    base = {f"q{i}": 0.10 + 0.02 * i for i in range(10)}
    new = {q: v + (0.05 if q < "q5" else -0.01) for q, v in base.items()}  # qa gains 5 pt, negative loses 1 pt
    store.insert("eval_query_results", _rows("baseline", base) + _rows("baseline+synthetic", new))
    gains = gain_intervals(store, "ev")
    qa = Interval(**gains["qa"]["item_goodrate"])
    assert qa.estimate == pytest.approx(0.05) and qa.low == pytest.approx(0.05) and qa.high == pytest.approx(0.05)
    assert Interval(**gains["negative"]["item_goodrate"]).estimate == pytest.approx(-0.01)
    overall = Interval(**gains["all"]["item_goodrate"])
    assert overall.estimate == pytest.approx(0.02) and overall.low < 0.02 < overall.high and overall.n == 10
    assert set(gains) == {"qa", "negative", "all"}


def test_only_queries_both_systems_scored_are_paired():
    store = Store(":memory:")
    store.insert("eval_query_results", _rows("baseline", {"q1": 0.2, "q2": 0.4}) +
                 _rows("baseline+synthetic", {"q2": 0.5, "q3": 0.9}))
    gains = gain_intervals(store, "ev")
    assert Interval(**gains["all"]["item_goodrate"]).n == 1
    assert Interval(**gains["all"]["item_goodrate"]).estimate == pytest.approx(0.1)


def test_report_marks_gains_whose_interval_excludes_zero_and_says_when_there_are_none():
    store = Store(":memory:")
    base = {f"q{i}": 0.1 * (i % 3) for i in range(10)}
    store.insert("eval_query_results", _rows("baseline", base) +
                 _rows("baseline+synthetic", {q: v + 0.03 for q, v in base.items()}))
    lines = "\n".join(_gains(gain_intervals(store, "ev"), ["negative", "qa", "all"]))
    assert "| qa | +3.0 [+3.0, +3.0] * |" in lines
    assert "no per-query values" in "\n".join(_gains({}, ["all"]))
