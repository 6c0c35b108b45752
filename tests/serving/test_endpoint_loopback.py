"""The endpoint path for real: litellm → HTTP → an OpenAI-compatible server running SmolLM2."""

import socket

import dspy
import numpy as np
import pytest

from tailsynth.adapters import CompactAdapter
from tailsynth.config import LMConfig
from tailsynth.programs.rewriter import Rewriter
from tailsynth.serving import make_lm, make_scorer
from tailsynth.serving.endpoint_scorer import TOP_LOGPROBS, EndpointError, EndpointScorer
from tailsynth.serving.hf_model import render_chat
from tailsynth.serving.local_scorer import LocalScorer, label_token_ids
from tailsynth.serving.openai_server import OpenAICompatibleServer
from tailsynth.signatures import REWRITE_LABELS, ProductRelevance, RewriteRelevance

pytestmark = pytest.mark.integration

PAIRS = [
    {"query": "paint that is not oil based", "product": "Acme interior paint, water based, 1 gal"},
    {"query": "paint that is not oil based", "product": "Acme enamel paint, oil based, 1 qt"},
    {"query": "toilet keeps running", "product": "universal toilet flapper 2 inch"},
]


@pytest.fixture(scope="module")
def server():
    with OpenAICompatibleServer(model_name="smollm2") as srv:
        yield srv


def test_endpoint_scores_equal_local_scores(server):
    endpoint = make_scorer(LMConfig(model="hosted_vllm/smollm2", api_base=server.api_base))
    assert isinstance(endpoint, EndpointScorer)
    local = LocalScorer()
    # The endpoint sees only the top-20 first tokens; where every label is among them the two
    # backends must agree exactly, elsewhere the missing label sits below the 20th.
    for signature, inputs, labels in (
        (ProductRelevance, PAIRS, ("yes", "no")),
        (RewriteRelevance, [{"query": "toilet keeps running", "rewrite": r} for r in ("toilet flapper", "garden hose")], REWRITE_LABELS),
    ):
        got = endpoint.label_probs(signature, inputs, labels)
        want = local.label_probs(signature, inputs, labels)
        model, tok = local.hf
        ids = [tok.encode(render_chat(tok, local.messages(signature, x)), add_special_tokens=False) for x in inputs]
        logits = local.next_token_logits(ids)
        twentieth = logits.topk(TOP_LOGPROBS).values[:, -1]
        label_logits = logits[:, label_token_ids(tok, labels)]
        visible = (label_logits >= twentieth[:, None]).all(dim=1).numpy()
        assert visible.any() or signature is RewriteRelevance
        assert np.allclose(got[visible], want[visible], atol=1e-3)
    texts = ["interior latex paint 1 gal", "cordless drill 20V"]
    assert np.allclose(endpoint.perplexity(texts), local.perplexity(texts), rtol=1e-3)


def test_dspy_generation_through_litellm(server):
    lm = make_lm(LMConfig(model="hosted_vllm/smollm2", api_base=server.api_base))
    rewrites = Rewriter(k=3, lm=lm, max_tokens=24).batch_rewrite(["toilet keeps running", "cheap cordless vacuum"])
    assert len(rewrites) == 2 and all(isinstance(r, list) and len(r) <= 3 for r in rewrites)
    with dspy.context(lm=lm, adapter=CompactAdapter()):
        assert lm(messages=[{"role": "user", "content": "Say hi"}], max_tokens=5)


def test_server_down_gives_a_clear_error_after_retries():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    scorer = EndpointScorer("hosted_vllm/x", api_base=f"http://127.0.0.1:{port}/v1", retries=2, backoff_s=0.01)
    with pytest.raises(EndpointError, match="failed after 3 attempt"):
        scorer.p_yes(ProductRelevance, PAIRS[:1])
