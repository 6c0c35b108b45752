"""The teacher path end to end over HTTP: litellm -> the loopback OpenAI-compatible server serving the
packaged SmolLM2 -> annotations -> the trainers' files, resumed, and an outage that raises."""

from __future__ import annotations

import json
import socket

import pytest

from tailsynth.config import LMConfig
from tailsynth.serving.endpoint_scorer import EndpointError
from tailsynth.serving.errors import LMOutputError
from tailsynth.serving.local_scorer import LocalScorer
from tailsynth.serving.openai_server import OpenAICompatibleServer
from tailsynth.teacher import TeacherConfig, annotate_queries, load_teacher_files, write_trainer_files
from tailsynth.teacher.annotate import ANNOTATIONS
from tailsynth.training.qsr import qsr_pairs
from tailsynth.training.sft import sft_examples

from ..programs.fakes import CATALOG

pytestmark = pytest.mark.integration

QUERIES = [{"query_id": "q1", "text": "toilet keeps running"}, {"query_id": "q2", "text": "paint that is not oil based"},
           {"query_id": "q3", "text": "cheap cordless vacuum"}]


@pytest.fixture(scope="module")
def server():
    with OpenAICompatibleServer(model_name="smollm2") as srv:
        yield srv


def _config(api_base: str) -> TeacherConfig:
    return TeacherConfig(lm=LMConfig(model="hosted_vllm/smollm2", api_base=api_base), k=3, products_per_query=2,
                         candidate_depth=4, batch_size=2, dev_fraction=0.0, max_tokens=48)


def test_a_teacher_that_cannot_label_is_an_error_not_a_label(tmp_path):
    """An endpoint whose top-k first tokens hold no label (the packaged 135M model, served, often
    answers a QSR prompt so): ``LMOutputError``, nothing written (it used to be p_yes 0.5, "yes")."""
    from tailsynth.programs.rewriter import Rewriter
    from tailsynth.serving.endpoint_scorer import EndpointScorer
    from tailsynth.serving.fault_server import FaultServer

    class OneRewrite(Rewriter):
        def batch_rewrite(self, queries):
            return [["toilet flapper"] for _ in queries]

    with FaultServer("no_label") as srv:
        scorer = EndpointScorer("hosted_vllm/x", api_base=srv.api_base, retries=1, backoff_s=0.01)
        with pytest.raises(LMOutputError, match="no label"):
            annotate_queries(QUERIES, CATALOG, tmp_path, _config(srv.api_base), rewriter=OneRewrite(k=1), scorer=scorer)
    assert not (tmp_path / ANNOTATIONS).exists() or (tmp_path / ANNOTATIONS).read_text() == ""


def test_teacher_annotates_through_the_endpoint(server, tmp_path):
    """Rewrites generated over HTTP (litellm -> the loopback server); labels from the same model's
    logits in process (its served top-20 often holds no label, see above); resumed; trainer files."""
    config = _config(server.api_base)
    scorer = LocalScorer()
    annotate_queries(QUERIES[:2], CATALOG, tmp_path, config, scorer=scorer)
    annotate_queries(QUERIES, CATALOG, tmp_path, config, scorer=scorer)  # resumes: only q3 is new
    records = [json.loads(line) for line in (tmp_path / ANNOTATIONS).read_text().splitlines()]
    assert [r["query_id"] for r in records] == ["q1", "q2", "q3"]
    for r in records:
        assert r["teacher"] == "hosted_vllm/smollm2"
        assert 1 <= len(r["rewrites"]) <= 3 and len(r["qsr"]) == len(r["rewrites"])
        assert all(0.0 <= p <= 1.0 for p in r["qsr_p_yes"] + r["product_p_yes"])
        assert len(r["products"]) == 2 and set(r["products"]) <= set(CATALOG.ids)
    write_trainer_files(tmp_path)
    data = load_teacher_files(tmp_path)
    assert len(data.qsr_pairs) == sum(len(r["rewrites"]) for r in records)
    assert data.relevance_labels.num_rows == 6
    assert len(sft_examples(data, "train", k=3)) == data.examples.num_rows
    assert len(qsr_pairs(data, "train")) == sum(len(r) + len(b) for r, b in zip(
        data.examples.column("rewrites").to_pylist(), data.examples.column("bad_rewrites").to_pylist()))


def test_teacher_outage_raises_and_writes_nothing(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    from tailsynth.programs.rewriter import Rewriter
    from tailsynth.serving.endpoint_scorer import EndpointScorer

    class OneRewrite(Rewriter):  # generation is not what is down here; scoring is
        def batch_rewrite(self, queries):
            return [["toilet flapper"] for _ in queries]

    scorer = EndpointScorer("hosted_vllm/x", api_base=f"http://127.0.0.1:{port}/v1", retries=1, backoff_s=0.01)
    with pytest.raises(EndpointError):
        annotate_queries(QUERIES, CATALOG, tmp_path, _config(f"http://127.0.0.1:{port}/v1"), rewriter=OneRewrite(k=1),
                         scorer=scorer)
    assert not (tmp_path / ANNOTATIONS).exists() or (tmp_path / ANNOTATIONS).read_text() == ""
