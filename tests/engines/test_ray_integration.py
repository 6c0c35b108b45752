"""The Ray engine on the real small models (SmolLM2 rewriter and filters, MiniLM + FAISS, a MiniLM
cross-encoder trained here): the same pairs as the local engine on a tiny demo-world slice."""

import pytest

from tailsynth.config import SynthesisConfig
from tailsynth.demo import world_catalog
from tailsynth.engines import EngineConfig, run_synthesis
from tailsynth.programs.build import ProgramSpec
from tailsynth.retrieval.business_relevance import CrossEncoderRelevance, BusinessRelevanceConfig
from tailsynth.store import Store
from tailsynth.store.shards import ShardStore

pytestmark = pytest.mark.integration


def test_ray_and_local_agree_on_real_models(small_world, ray_cluster, tmp_path):
    rows = [r for r in small_world.relevance_labels.to_pylist() if r["split"] == "train"][:64]
    catalog = world_catalog(small_world)
    CrossEncoderRelevance.train([r["query"] for r in rows], [catalog.text(r["product_id"]) for r in rows],
                                [r["label"] for r in rows], BusinessRelevanceConfig(eval_fraction=0.0),
                                out_dir=tmp_path / "business")
    config = SynthesisConfig(k=2, top_k=20, rewrite_max_tokens=24, max_general_per_query=4, chunk_size=2,
                             business_model=str(tmp_path / "business"), business_threshold=0.2, general_threshold=0.2)
    spec = ProgramSpec(config, catalog)
    queries = small_world.query_rows("test", qtype="knowledge", limit=2)
    with Store(tmp_path / "local.duckdb") as local:
        expected = spec.program().run(queries, local, run_id="r", progress=False)
        local_pairs = local.fetch("SELECT * EXCLUDE (run_id) FROM pairs ORDER BY ALL")
    summary = run_synthesis(spec, queries, tmp_path / "shards", EngineConfig(kind="ray"), run_id="r", progress=False)
    with ShardStore(tmp_path / "shards") as shards:
        ray_pairs = shards.fetch("SELECT * EXCLUDE (run_id) FROM pairs ORDER BY ALL")
    assert summary.funnel == expected.funnel and expected.funnel["candidates"] > 0
    # ids, ranks, kept, decided_by exactly; scores to float noise (same batches, other processes)
    assert [r[:4] + r[6:] for r in ray_pairs] == [r[:4] + r[6:] for r in local_pairs] and ray_pairs
    for a, b in zip(ray_pairs, local_pairs):
        assert abs(a[4] - b[4]) < 1e-5 and (a[5] is None) == (b[5] is None)
        assert a[5] is None or abs(a[5] - b[5]) < 1e-5
