"""Stage keys follow exactly the inputs a stage depends on; the LM judge is used (and said) without qrels."""

import dataclasses

import numpy as np

from tailsynth.runner import pipeline
from tests.runner.test_validate import _config


def test_changing_a_knob_reruns_that_stage_and_everything_after_it(tmp_path):
    config = _config(tmp_path)
    base = pipeline.stage_keys(config)
    k = dataclasses.replace(config, synthesis=dataclasses.replace(config.synthesis, k=2))
    changed = pipeline.stage_keys(k)
    assert changed.business == base.business
    assert changed.synthesis != base.synthesis and changed.retrievers != base.retrievers
    steps = dataclasses.replace(config, retriever=dataclasses.replace(config.retriever, steps=7))
    changed = pipeline.stage_keys(steps)
    assert (changed.business, changed.synthesis) == (base.business, base.synthesis)
    assert changed.retrievers != base.retrievers and changed.evaluate != base.evaluate
    # the training data file's content is part of the key, not only its path
    (tmp_path / "labels.jsonl").write_text('{"query": "drill", "product_id": "p1", "label": 1}\n')
    assert pipeline.stage_keys(config).business != base.business


def test_without_qrels_the_general_relevance_lm_judges(tmp_path, monkeypatch):
    config = _config(tmp_path)
    config.data.qrels = None
    assert "not ground truth" in pipeline.judge_description(config)
    calls = []

    class FakeScorer:
        def label_probs(self, signature, inputs, labels, demos):
            calls.append(len(inputs))
            return np.array([[0.9 if "bulb" in x["product"] else 0.1, 0.0] for x in inputs])

    import tailsynth.serving

    monkeypatch.setattr(tailsynth.serving, "make_scorer", lambda lm: FakeScorer())
    from tailsynth.catalog import Catalog

    catalog = Catalog(["p1", "p3"], ["drill", "LED bulb"])
    judge = pipeline.LMJudge(config, catalog, [{"query_id": "e1", "text": "bulbs"}])
    assert judge("e1", ["p3", "p1"]) == [True, False]
    assert judge("e1", ["p1", "p3"]) == [False, True]
    assert calls == [2]  # cached: the same pairs are not scored twice across systems
    assert not hasattr(judge, "relevant_ids")  # so recall/nDCG are reported n/a, not computed wrongly
