import numpy as np
import pytest

from tailsynth.serving.errors import LMOutputError
from dspy.utils import DummyLM

from tailsynth.adapters import CompactAdapter
from tailsynth.programs.general_relevance import GeneralRelevanceFilter
from tailsynth.programs.rewrite_filter import RewriteFilter

from .fakes import OverlapScorer


def test_generate_mode_parses_labels_with_dummy_lm():
    lm = DummyLM([{"label": "irrelevant"}, {"label": "relevant"}], adapter=CompactAdapter())
    f = RewriteFilter(mode="generate", lm=lm)
    judgements = f.judge([("paint not oil based", "oil based paint")])
    assert judgements[0].label in ("irrelevant", "relevant") and judgements[0].probs in ((0.0, 0.0, 1.0), (1.0, 0.0, 0.0))


def test_unparseable_answer_is_an_error_not_a_keep():
    # It used to become p_yes 0.5, which passes the default threshold: a guess kept as a pair.
    lm = DummyLM([{"answer": "maybe, who knows"}], adapter=CompactAdapter())
    with pytest.raises(LMOutputError, match="did not parse"):
        GeneralRelevanceFilter(mode="generate", lm=lm).p_yes([("q", "product")])
    lm = DummyLM([{"label": "somewhat"}], adapter=CompactAdapter())
    with pytest.raises(LMOutputError, match="did not parse"):
        RewriteFilter(mode="generate", lm=lm).judge([("q", "rewrite")])


def test_logit_mode_keeps_by_threshold_and_needs_a_scorer():
    f = GeneralRelevanceFilter(OverlapScorer(), threshold=0.5)
    out = f(query="toilet flapper", products=["toilet flapper 2 inch", "garden hose"])
    assert out.kept == [True, False] and np.all((np.array(out.p_yes) >= 0) & (np.array(out.p_yes) <= 1))
    with pytest.raises(ValueError, match="needs a scorer"):
        RewriteFilter(mode="logits")
    with pytest.raises(ValueError, match="mode must be"):
        RewriteFilter(OverlapScorer(), mode="vibes")


def test_rewrite_filter_drops_only_clear_irrelevance():
    f = RewriteFilter(OverlapScorer(), drop_threshold=0.5)
    out = f(query="toilet keeps running", rewrites=["toilet flapper", "bath towel"])
    assert out.kept == ["toilet flapper"]


def test_rewriter_survives_output_that_never_parses():
    from tailsynth.programs.rewriter import Rewriter

    lm = DummyLM([{"rewrites": "1. 2. 3."}] * 2, adapter=CompactAdapter())
    assert Rewriter(k=5, lm=lm).batch_rewrite(["a query", "another"]) == [[], []]
