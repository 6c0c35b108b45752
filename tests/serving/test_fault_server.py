"""Every endpoint fault ends in a tailsynth LM error, never in an empty result or a neutral score.

Real litellm over real HTTP against the loopback ``FaultServer``; no model is loaded.
"""

import numpy as np
import pytest

from tailsynth.config import LMConfig
from tailsynth.programs.general_relevance import GeneralRelevanceFilter
from tailsynth.programs.rewrite_filter import RewriteFilter
from tailsynth.programs.rewriter import Rewriter
from tailsynth.serving import make_lm, make_scorer
from tailsynth.serving.endpoint_scorer import EndpointScorer, _retryable
from tailsynth.serving.errors import LMError, LMOutputError, LMUnavailable
from tailsynth.serving.fault_server import FaultServer
from tailsynth.signatures import ProductRelevance

PAIRS = [("toilet keeps running", "toilet flapper universal"), ("toilet keeps running", "garden hose 50 ft")]
FAST = dict(timeout_s=1.0, retries=1)


def lm_config(server, **kw):
    return LMConfig(model="openai/fault", api_base=server.api_base, **{**FAST, **kw})


@pytest.fixture
def server():
    with FaultServer(hang_s=10) as srv:
        yield srv


def test_healthy_endpoint_scores_and_rewrites(server):
    scorer = make_scorer(lm_config(server))
    p = GeneralRelevanceFilter(scorer).p_yes(PAIRS)
    assert p[0] > 0.5 > p[1]
    rewrites = Rewriter(k=3, lm=make_lm(lm_config(server))).batch_rewrite(["toilet keeps running"])
    assert rewrites[0] and all("toilet" in r for r in rewrites[0])


@pytest.mark.parametrize("fault,error", [("down", LMUnavailable), ("500", LMUnavailable), ("429", LMUnavailable),
                                         ("garbage", LMUnavailable), ("hang", LMUnavailable),
                                         ("no_logprobs", LMOutputError), ("no_label", LMOutputError)])
def test_scorer_faults_raise(server, fault, error):
    server.fault = fault
    scorer = EndpointScorer("openai/fault", api_base=server.api_base, backoff_s=0.01, **FAST)
    with pytest.raises(error) as info:
        scorer.p_yes(ProductRelevance, [{"query": q, "product": t} for q, t in PAIRS])
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("fault", ["down", "500", "429", "garbage", "hang"])
def test_rewriter_outage_raises_instead_of_no_rewrites(server, fault):
    server.fault = fault
    rewriter = Rewriter(k=3, lm=make_lm(lm_config(server, retries=0)))
    with pytest.raises(LMUnavailable):
        rewriter.batch_rewrite(["toilet keeps running", "paint not oil based"])


def test_flapping_endpoint_gets_through_with_retries(server):
    server.fault = "ok"
    want = GeneralRelevanceFilter(EndpointScorer("openai/fault", api_base=server.api_base, **FAST)).p_yes(PAIRS)
    server.fault = "flapping"
    got = GeneralRelevanceFilter(EndpointScorer("openai/fault", api_base=server.api_base, backoff_s=0.01,
                                                 timeout_s=1.0, retries=4)).p_yes(PAIRS)
    assert np.allclose(got, want)
    rewrites = Rewriter(k=3, lm=make_lm(lm_config(server, retries=2))).batch_rewrite(["toilet keeps running"])
    assert rewrites[0]


def test_generate_mode_unparsed_answer_is_an_error_not_a_keep(server):
    server.fault = "no_label"
    lm = make_lm(lm_config(server))
    with pytest.raises(LMOutputError, match="did not parse"):
        GeneralRelevanceFilter(mode="generate", lm=lm).p_yes(PAIRS)
    with pytest.raises(LMOutputError, match="did not parse"):
        RewriteFilter(mode="generate", lm=lm).judge(PAIRS)


def test_timeouts_are_retried():
    import litellm

    assert _retryable(litellm.Timeout("slow", model="m", llm_provider="openai"))
    assert not _retryable(litellm.BadRequestError("bad", model="m", llm_provider="openai"))


def test_errors_share_one_base():
    assert issubclass(LMUnavailable, LMError) and issubclass(LMOutputError, LMError)
