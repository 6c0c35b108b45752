"""The runner with ``[engine] kind = "ray"``: synthesis runs on Ray Data, and the stages after it
(done check, guard rails, the retrievers' pairs, funnel) read its shards as they read the local store."""

import pytest

from tailsynth.engines import EngineConfig
from tailsynth.runner import pipeline, plan, read_markers, run

from ..runner.test_pipeline import _tiny_config


@pytest.mark.timeout(1200)
def test_ray_synthesis_in_the_runner_is_read_like_the_local_store(tmp_path, monkeypatch, ray_cluster):
    """business → synthesis on Ray (index in 2 shards), stopped before the retrievers: the plan sees
    synthesis done over the shards, the guard rails and the retrievers' pairs read them, and the
    pairs are the local engine's."""
    config = _tiny_config(tmp_path)
    config.engine = EngineConfig(kind="ray", index_shards=2)
    seen = {}

    def stop(config, keys, data, store, *args):
        seen["pairs"] = pipeline._synthetic_pairs(config, keys, data, store)
        raise KeyboardInterrupt

    monkeypatch.setitem(pipeline.STAGE_FUNCS, "retrievers", stop)
    with pytest.raises(KeyboardInterrupt):
        run(config, progress=False)
    keys = pipeline.stage_keys(config)
    run_id = pipeline.synthesis_run_id(config, keys)
    assert set(read_markers(config)) == {"business", "synthesis"}
    assert dict((s, state) for s, state, _ in plan(config).stages)["synthesis"] == "done"
    assert (tmp_path / "work" / "shards" / run_id / "pairs").is_dir()

    from tailsynth.store import Store
    from tailsynth.store.reads import funnel, kept_pairs

    with Store(config.output.store) as store:
        assert store.fetch("SELECT count(*) FROM pairs")[0][0] == 0  # the DuckDB store holds no Ray pairs
        with pipeline.synthesis_store(config, store) as shards:
            ray_funnel, ray_kept = funnel(shards, run_id), kept_pairs(shards, run_id)
    assert len(seen["pairs"]) == len(ray_kept) and ray_funnel["candidates"] > 0

    config.engine = EngineConfig()  # the same config on the local engine: same key, same pairs
    assert pipeline.stage_keys(config).synthesis == keys.synthesis
    assert not pipeline.stage_done(config, keys, "synthesis")  # not in the DuckDB store yet
    with Store(config.output.store) as store:
        pipeline._synthesis(config, keys, pipeline.make_plan(config)[1], store, None, False, False)
        assert funnel(store, run_id) == ray_funnel and kept_pairs(store, run_id) == ray_kept
