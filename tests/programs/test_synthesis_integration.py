"""The whole program on the real small models: SmolLM2 (rewriter + both filters), MiniLM (FAISS
retrieval), a MiniLM cross-encoder trained here, real DuckDB — on a small demo world."""

import pytest

from tailsynth.config import SynthesisConfig
from tailsynth.demo import world_catalog
from tailsynth.evals.pairs import pair_accuracy, rewrite_accuracy
from tailsynth.programs.build import build_program
from tailsynth.retrieval.business_relevance import BusinessRelevance, BusinessRelevanceConfig
from tailsynth.store import Store

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def business_dir(small_world, tmp_path_factory):
    rows = [r for r in small_world.relevance_labels.to_pylist() if r["split"] == "train"][:256]
    catalog = world_catalog(small_world)
    out = tmp_path_factory.mktemp("business")
    BusinessRelevance.train(
        [r["query"] for r in rows], [catalog.text(r["product_id"]) for r in rows], [r["label"] for r in rows],
        BusinessRelevanceConfig(eval_fraction=0.0), out_dir=out,
    )
    return out


def test_end_to_end_on_real_models(small_world, business_dir, tmp_path):
    config = SynthesisConfig(k=3, top_k=50, rewrite_max_tokens=32, max_general_per_query=8,
                             business_model=str(business_dir), business_threshold=0.2, general_threshold=0.2)
    program = build_program(config, world_catalog(small_world))  # index cached, shared with other tests
    queries = small_world.query_rows("test", limit=1)
    assert {q["qtype"] for q in queries} == {"qa", "knowledge", "alternative", "negative"}
    with Store(tmp_path / "store.duckdb") as store:
        summary = program.run(queries, store, progress=False)
        funnel = summary.funnel
        assert funnel["queries"] == 4
        assert funnel["candidates"] >= 50  # the original query alone retrieves top_k
        assert funnel["general_scored"] <= 4 * 8
        probs = store.fetch("SELECT min(general_p_yes), max(general_p_yes) FROM pairs WHERE general_p_yes IS NOT NULL")
        assert 0.0 <= probs[0][0] <= probs[0][1] <= 1.0
        label_sums = store.fetch("SELECT max(abs(p_relevant + p_partial + p_irrelevant - 1)) FROM rewrites WHERE rank > 0")
        assert label_sums[0][0] is None or label_sums[0][0] < 1e-6
        # every kept pair traces back to the rewrite that retrieved it
        orphans = store.fetch(
            "SELECT count(*) FROM pairs p LEFT JOIN rewrites r ON r.run_id = p.run_id AND r.query_id = p.query_id "
            "AND r.rank = p.rewrite_rank WHERE p.kept AND r.rewrite IS NULL"
        )
        assert orphans == [(0,)]
        accuracy = pair_accuracy(store, summary.run_id, small_world.judge)
        if funnel["pairs_kept"]:
            assert 0.0 <= accuracy["all"]["pair_accuracy"] <= 1.0
        rewrites = rewrite_accuracy(store, summary.run_id, small_world.rewrite_label)
        assert set(rewrites) <= {"qa", "knowledge", "alternative", "negative", "all"}
        # the same run id again is a no-op resume: no new rows
        before = store.fetch("SELECT count(*) FROM pairs")
        again = program.run(queries, store, progress=False)
        assert again.run_id == summary.run_id and store.fetch("SELECT count(*) FROM pairs") == before


def test_few_shot_demos_go_to_the_packaged_or_served_rewriter_not_a_fine_tuned_one(small_world, tmp_path):
    from tailsynth.config import LMConfig, SynthesisConfig
    from tailsynth.demo import demos_for

    packaged = demos_for(small_world, SynthesisConfig())
    assert packaged and {d.query for d in packaged} <= {r["query"] for r in small_world.rewrite_examples.to_pylist()}
    served = SynthesisConfig(rewriter=LMConfig(model="hosted_vllm/Qwen2.5-7B", api_base="http://localhost:8000/v1"))
    assert demos_for(small_world, served) == packaged
    assert demos_for(small_world, SynthesisConfig(rewriter=LMConfig(model=str(tmp_path)))) is None



def test_the_negation_rule_rejects_what_negative_queries_rule_out(small_world, business_dir, tmp_path):
    from tailsynth.programs.negation import excluded_terms, violates

    catalog = world_catalog(small_world)
    config = SynthesisConfig(k=3, top_k=50, rewrite_max_tokens=32, max_general_per_query=8,
                             business_model=str(business_dir), business_threshold=0.2, general_threshold=0.2)
    queries = [q for q in small_world.query_rows("test", qtype="negative") if excluded_terms(q["text"])][:2]
    assert len(queries) == 2
    with Store(tmp_path / "store.duckdb") as store:
        run_id = build_program(config, catalog).run(queries, store, progress=False).run_id
        rows = store.fetch("SELECT p.query_id, q.text, p.product_id, p.decided_by, p.business_score, p.kept FROM pairs p "
                           "JOIN queries q USING (run_id, query_id) WHERE p.run_id = ?", [run_id])
    ruled_out = [r for r in rows if violates(excluded_terms(r[1]), catalog.text(r[2]))]
    assert ruled_out, "the retriever found products stating the negated property (it reads past the negation)"
    assert all(r[3] == "negation" and r[4] is None and not r[5] for r in ruled_out)
    assert all(r[3] != "negation" for r in rows if r not in ruled_out)
    assert all(small_world.judge(r[0], [r[2]]) == [False] for r in ruled_out)  # each one is wrong by the truth
