"""Teacher plumbing on DummyLM / the overlap scorer fakes: records, trainer files, resume, errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tailsynth.classifiers.datasets import rewrite_examples
from tailsynth.config import LMConfig
from tailsynth.programs.rewriter import Rewriter
from tailsynth.serving.endpoint_scorer import EndpointError
from tailsynth.signatures import QuerySemanticRelevance
from tailsynth.teacher import TeacherConfig, TeacherError, annotate_queries, fallback_defaults, load_teacher_files, write_trainer_files
from tailsynth.teacher.annotate import ANNOTATIONS, annotated_ids
from tailsynth.training.qsr import qsr_pairs
from tailsynth.training.sft import sft_examples

from ..programs.fakes import CATALOG, OverlapScorer
from ..programs.test_synthesis import QUERIES, MapLM

CONFIG = TeacherConfig(k=3, products_per_query=3, candidate_depth=5, batch_size=2, dev_fraction=0.0)


class CountingScorer(OverlapScorer):
    def __init__(self, fail_on_call: int | None = None):
        super().__init__()
        self.inputs, self.fail_on_call = [], fail_on_call

    def label_probs(self, signature, inputs, labels, demos=()):
        if self.fail_on_call is not None and self.calls + 1 == self.fail_on_call:
            self.calls += 1
            raise EndpointError("endpoint down")
        self.inputs += inputs
        return super().label_probs(signature, inputs, labels, demos)


def _annotate(tmp_path, queries=QUERIES, scorer=None, **kw):
    return annotate_queries(queries, CATALOG, tmp_path, CONFIG, rewriter=Rewriter(k=3, lm=MapLM()),
                            scorer=scorer or CountingScorer(), **kw)


def _records(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_records_and_trainer_files(tmp_path):
    scorer = CountingScorer()
    path = _annotate(tmp_path, scorer=scorer)
    records = _records(path)
    assert [r["query_id"] for r in records] == ["a", "b", "c"]
    a = records[0]
    assert a["rewrites"] == ["toilet flapper", "toilet fill valve", "bath towel"]
    assert len(a["qsr_p_yes"]) == 3 and a["qsr"] == [int(p >= 0.5) for p in a["qsr_p_yes"]]
    assert 0 < len(a["products"]) <= 3 and set(a["products"]) <= set(CATALOG.ids)
    assert a["product_labels"] == [int(p >= 0.5) for p in a["product_p_yes"]]
    # The scores are the scorer's, for exactly these inputs.
    want = scorer.p_yes(QuerySemanticRelevance, [{"query": "toilet keeps running", "rewrite": r} for r in a["rewrites"]])
    assert np.allclose(a["qsr_p_yes"], want)

    files = write_trainer_files(tmp_path)
    data = load_teacher_files(tmp_path)
    good = {r["query_id"]: [w for w, y in zip(r["rewrites"], r["qsr"]) if y] for r in records}
    assert data.examples.num_rows == sum(1 for g in good.values() if g)
    assert len(data.qsr_pairs) == sum(len(r["rewrites"]) for r in records)
    assert data.relevance_labels.num_rows == sum(len(r["products"]) for r in records)
    assert files["relevance_labels"].exists()
    # The trainers' own readers take it where they take the demo world.
    sft = sft_examples(data, "train", k=3)
    assert [s["query_id"] for s in sft] == [q for q, g in good.items() if g]
    assert all("1. " in s["answer"] for s in sft)
    pairs = qsr_pairs(data, "train")
    assert sorted((p["rewrite"], p["label"]) for p in pairs) == sorted(
        (w, y) for r in records if good[r["query_id"]] for w, y in zip(r["rewrites"], r["qsr"]))
    assert {e["label"] for e in rewrite_examples(data, "train")} <= {"relevant", "irrelevant"}


def test_resume_skips_annotated_queries_and_cuts_a_torn_line(tmp_path):
    _annotate(tmp_path, QUERIES[:2])
    with (tmp_path / ANNOTATIONS).open("a") as f:
        f.write('{"query_id": "c", "que')  # killed mid-write
    assert annotated_ids(tmp_path / ANNOTATIONS) == {"a", "b"}
    scorer = CountingScorer()
    _annotate(tmp_path, QUERIES, scorer=scorer)
    assert {x["query"] for x in scorer.inputs} == {QUERIES[2]["text"]}
    assert [r["query_id"] for r in _records(tmp_path / ANNOTATIONS)] == ["a", "b", "c"]
    # Nothing left: no model is built, nothing is scored.
    assert annotate_queries(QUERIES, CATALOG, tmp_path, CONFIG, rewriter=None, scorer=None) == tmp_path / ANNOTATIONS


def test_an_endpoint_error_is_an_error_and_commits_nothing_of_its_batch(tmp_path):
    # batch_size 2: calls 1-2 score batch 1 (QSR, relevance); call 3 (batch 2's QSR) fails.
    with pytest.raises(EndpointError):
        _annotate(tmp_path, scorer=CountingScorer(fail_on_call=3))
    assert [r["query_id"] for r in _records(tmp_path / ANNOTATIONS)] == ["a", "b"]
    _annotate(tmp_path)
    assert [r["query_id"] for r in _records(tmp_path / ANNOTATIONS)] == ["a", "b", "c"]


class SilentRewriter:
    def batch_rewrite(self, queries):
        return [["x"] if i == 0 else [] for i, _ in enumerate(queries)]


def test_no_rewrite_is_an_error_never_an_empty_annotation(tmp_path):
    with pytest.raises(TeacherError, match="no usable rewrite for query 'b'"):
        annotate_queries(QUERIES, CATALOG, tmp_path, CONFIG, rewriter=SilentRewriter(), scorer=CountingScorer())
    assert annotated_ids(tmp_path / ANNOTATIONS) == set()


def test_nan_scores_are_an_error(tmp_path):
    class NaNScorer(CountingScorer):
        def label_probs(self, signature, inputs, labels, demos=()):
            return np.full((len(inputs), len(labels)), np.nan)

    with pytest.raises(TeacherError, match="NaN"):
        _annotate(tmp_path, scorer=NaNScorer())


def test_dev_split_by_hash_is_stable():
    from tailsynth.teacher.annotate import split_of

    config = TeacherConfig(dev_fraction=0.3)
    splits = [split_of(f"q{i}", config) for i in range(400)]
    assert splits == [split_of(f"q{i}", config) for i in range(400)]
    assert 0.2 < splits.count("dev") / 400 < 0.4


def test_fallback_defaults_say_what_the_run_uses():
    lines = fallback_defaults(None)
    assert len(lines) == 5 and all("\n" not in line for line in lines)
    assert [line.split(":")[0] for line in lines] == ["rewriter", "QSR reward model", "rewrite filter",
                                                       "general relevance filter", "business relevance model"]
    assert fallback_defaults(LMConfig(model="hosted_vllm/qwen")) == fallback_defaults(None)  # local model: no endpoint
    assert fallback_defaults(LMConfig(model="hosted_vllm/qwen", api_base="http://127.0.0.1:8000/v1")) == []
