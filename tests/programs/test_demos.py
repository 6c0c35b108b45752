"""Nearest few-shot demos: each query sees the annotated examples of its own need, never its own."""

import dspy
import pytest

from tailsynth.adapters import CompactAdapter
from tailsynth.config import SynthesisConfig
from tailsynth.programs.demos import NearestDemos, rewrite_example
from tailsynth.programs.rewriter import Rewriter

from .fakes import HashEncoder

POOL = [rewrite_example(q, rws, 2) for q, rws in [
    ("how do I unclog a toilet", ["flange toilet plunger", "toilet auger", "extra"]),
    ("toilet is clogged", ["flange plunger", "closet auger"]),
    ("lower my heating bill", ["door weatherstrip", "draft stopper"]),
    ("paint that is not oil based", ["water based paint", "latex paint"]),
]]


def test_nearest_demos_are_the_closest_pool_queries_nearest_last_and_never_the_query_itself():
    pick = NearestDemos(POOL, HashEncoder().encode, 2)
    demos = pick("unclog a toilet please")
    assert [d.query for d in demos][-1] == "how do I unclog a toilet"
    assert "lower my heating bill" not in [d.query for d in demos]
    assert demos[-1].rewrites == ["flange toilet plunger", "toilet auger"]  # cut to k
    own = pick("How do I  unclog a toilet")  # the pool's own query (case, spaces aside)
    assert "how do I unclog a toilet" not in [d.query for d in own] and len(own) == 2
    with pytest.raises(ValueError, match="pool"):
        NearestDemos([], HashEncoder().encode, 2)


class EchoLM(dspy.utils.DummyLM):
    """Writes back the rewrites of the last demo in its prompt, so the test sees which demos it got."""

    def __init__(self):
        super().__init__([{}], adapter=CompactAdapter())
        self.prompts = []

    def forward(self, prompt=None, messages=None, **kwargs):
        self.prompts.append(messages)
        demo_answer = messages[-2]["content"] if len(messages) >= 3 else "nothing"
        return {"choices": [{"index": 0, "message": {"role": "assistant", "content": demo_answer}, "finish_reason": "stop"}],
                "usage": {}, "model": "echo"}


def test_rewriter_sends_each_query_its_own_nearest_demos():
    lm = EchoLM()
    rewriter = Rewriter(k=2, lm=lm, threads=1, demo_picker=NearestDemos(POOL, HashEncoder().encode, 1))
    out = rewriter.batch_rewrite(["unclog a toilet", "paint not oil based"])
    assert out == [["flange toilet plunger", "toilet auger"], ["water based paint", "latex paint"]]
    assert rewriter(query="lower heating bill").rewrites == ["door weatherstrip", "draft stopper"]
    assert all(len(m) == 4 for m in lm.prompts)  # system, one demo (user + assistant), the query


def test_demo_selection_is_checked():
    assert SynthesisConfig(rewrite_demo_selection="nearest").rewrite_demo_selection == "nearest"
    with pytest.raises(ValueError, match="rewrite_demo_selection"):
        SynthesisConfig(rewrite_demo_selection="knn")
