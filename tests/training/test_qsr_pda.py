import json

import numpy as np
import pytest

from tailsynth.serving.local_scorer import LocalScorer
from tailsynth.signatures import QuerySemanticRelevance
from tailsynth.training.pda import PDAConfig, train_pda
from tailsynth.training.qsr import QSRConfig, qsr_pairs, train_qsr


def test_qsr_pairs_good_yes_bad_no(world):
    pairs = qsr_pairs(world, "dev")
    row = next(r for r in world.rewrite_examples.to_pylist() if r["split"] == "dev")
    mine = [p for p in pairs if p["query"] == row["query"]]
    assert {p["rewrite"] for p in mine if p["label"] == 1} == set(row["rewrites"])
    assert {p["rewrite"] for p in mine if p["label"] == 0} == set(row["bad_rewrites"])


@pytest.mark.integration
def test_tiny_qsr_run_gives_p_yes_in_unit_interval(world, tmp_path):
    out = train_qsr(world, QSRConfig(steps=2, batch_size=4, eval_pairs=8, eval_baseline=False,
                                     out_dir=str(tmp_path / "qsr"), live=False))
    summary = json.loads((out / "metrics.json").read_text())
    assert 0 <= summary["accuracy"] <= 1
    p = LocalScorer(str(out)).p_yes(QuerySemanticRelevance, [{"query": "toilet keeps running", "rewrite": "toilet flapper"},
                                                              {"query": "toilet keeps running", "rewrite": "garden hose"}])
    assert p.shape == (2,) and np.all((p >= 0) & (p <= 1))


@pytest.mark.integration
def test_tiny_pda_run_reports_perplexities(world, tmp_path):
    out = train_pda(world, PDAConfig(steps=1, batch_size=4, eval_texts=4, out_dir=str(tmp_path / "pda"), live=False))
    summary = json.loads((out / "metrics.json").read_text())
    assert summary["title_ppl_before"] > 1 and summary["ref_ppl"] > 1
    assert LocalScorer(str(out)).perplexity(["Piost stainless steel 2 inch brads"])[0] > 1
