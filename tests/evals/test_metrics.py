"""Metrics against values computed by hand."""

import math

import pytest

from tailsynth.evals.metrics import gsb, item_goodrate, ndcg_at_k, query_goodrate, recall_at_k

T, F = True, False


def test_item_goodrate_short_lists_and_empty_query():
    # 2/4, 1/1, empty list counts 0 -> (0.5 + 1 + 0) / 3
    assert item_goodrate([[T, F, T, F], [T], []]) == pytest.approx(0.5)
    assert item_goodrate([]) == 0.0


def test_query_goodrate():
    judged = [[T] * 10 + [F] * 5, [T] * 9, [], [T] * 150 + [F] * 50]
    assert query_goodrate(judged, 10) == pytest.approx(2 / 4)
    assert query_goodrate(judged, 100) == pytest.approx(1 / 4)
    assert query_goodrate(judged, 1) == pytest.approx(3 / 4)
    with pytest.raises(ValueError):
        query_goodrate(judged, 0)


def test_recall_at_k_skips_queries_without_relevant():
    retrieved = [["a", "b", "c"], ["x"], ["p", "q"]]
    relevant = [{"a", "c", "z"}, set(), {"q"}]
    # k=2: q1 1/3 (a), q2 skipped, q3 1/1 -> (1/3 + 1)/2
    assert recall_at_k(retrieved, relevant, 2) == pytest.approx((1 / 3 + 1) / 2)
    assert recall_at_k(retrieved, relevant, 200) == pytest.approx((2 / 3 + 1) / 2)
    assert math.isnan(recall_at_k([["a"]], [set()], 10))


def test_ndcg_at_k_binary_gains():
    # relevant at ranks 1 and 3 of 3; 2 relevant -> dcg = 1 + 1/log2(4) = 1.5, idcg = 1 + 1/log2(3)
    value = ndcg_at_k([["a", "b", "c"]], [{"a", "c"}], 3)
    assert value == pytest.approx(1.5 / (1 + 1 / math.log2(3)))
    # k=1 truncates ideal to one item
    assert ndcg_at_k([["b", "a"]], [{"a", "c"}], 1) == 0.0
    # duplicates earn gain once; query with no relevant is skipped
    dup = ndcg_at_k([["a", "a"], ["x"]], [{"a", "b"}, set()], 2)
    assert dup == pytest.approx(1 / (1 + 1 / math.log2(3)))
    assert ndcg_at_k([["a"]], [{"a"}], 10) == pytest.approx(1.0)


def test_gsb():
    new = [[T] * 5, [T] * 3, [F] * 10, [T] * 12]
    base = [[T] * 3, [T] * 3, [T], [T] * 10 + [F] * 2]  # 4th: both 10 in top-10 -> same
    result = gsb(new, base)
    assert (result["good"], result["same"], result["bad"]) == (1, 2, 1)
    assert result["gsb"] == pytest.approx(0.0)
    assert gsb([[T]], [[]])["gsb"] == pytest.approx(1.0)
    assert gsb([], [])["gsb"] == 0.0
    with pytest.raises(ValueError):
        gsb([[T]], [])
