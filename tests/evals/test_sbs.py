"""Side-by-side GSB of two retrievers, per query type, on hand-made lists and fake encoders."""

import pytest

from tailsynth.catalog import Catalog
from tailsynth.evals.sbs import SBSConfig, compare_lists, render_sbs, side_by_side
from tailsynth.io import qrels_judge
from tailsynth.store import Store

from .test_retrieval_eval import BowEncoder


def test_compare_lists_hand_computed():
    queries = [{"query_id": "a", "qtype": "qa"}, {"query_id": "b", "qtype": "qa"}, {"query_id": "c", "qtype": "negative"}]
    judge = qrels_judge({"a": {"x": 1, "y": 1}, "b": {"x": 1}, "c": {"x": 1}})
    new = [["x", "y"], ["z", "w"], ["x", "z"]]
    base = [["x", "z"], ["x", "w"], ["z", "x"]]
    out = compare_lists(queries, new, base, judge, SBSConfig(top=2, good_page_fraction=0.5))
    # a: 2 vs 1 -> good; b: 0 vs 1 -> bad; c: 1 vs 1 -> same
    assert (out["all"]["good"], out["all"]["same"], out["all"]["bad"]) == (1, 1, 1)
    assert out["all"]["gsb"] == 0.0
    assert out["qa"]["gsb"] == 0.0 and out["negative"]["gsb"] == 0.0
    # item goodrate over top-2: new (1 + 0 + .5)/3, base (.5 + .5 + .5)/3
    assert out["all"]["item_goodrate_delta_pt"] == pytest.approx(100 * (1.5 / 3 - 1.5 / 3))
    # good pages (>= 1 of 2 relevant): new a, c; base a, b, c
    assert out["all"]["query_goodrate_delta_pt"] == pytest.approx(100 * (2 / 3 - 1))
    assert render_sbs(out).row_count == 3


class BlindEncoder(BowEncoder):
    """Maps everything to one direction: ranking is arbitrary, so it should lose to bag-of-words."""

    model_id = "blind"

    def encode(self, texts, show_progress=False):
        out = super().encode(texts)
        out[:] = 0
        out[:, 0] = 1
        return out


def test_side_by_side_prefers_the_better_retriever(tmp_path):
    catalog = Catalog([f"p{i}" for i in range(6)],
                      ["red drill", "blue drill", "green towel", "white towel", "garden hose", "hose reel"])
    queries = [{"query_id": "q1", "text": "towel", "qtype": "qa"}, {"query_id": "q2", "text": "hose", "qtype": "qa"}]
    judge = qrels_judge({"q1": {"p2": 1, "p3": 1}, "q2": {"p4": 1, "p5": 1}})
    store = Store(":memory:")
    out = side_by_side(BowEncoder(), BlindEncoder(), catalog, queries, judge, SBSConfig(top=2),
                       store=store, run_id="s1", index_dir=tmp_path)
    assert out["all"]["good"] >= 1 and out["all"]["bad"] == 0 and out["all"]["gsb"] > 0
    assert store.fetch("SELECT count(*) FROM eval_results WHERE run_id = 's1' AND suite = 'sbs'")[0][0] == 12
