"""Parquet shards of a distributed run and the DuckDB views over them (no Ray needed)."""

import pytest

from tailsynth.engines import EngineConfig
from tailsynth.store.shards import ShardLayout, ShardStore, open_store
from tailsynth.store import Store


def test_run_ids_that_are_not_plain_names_are_refused(tmp_path):
    for bad in ("../escape", "a/b", "", ".hidden", "x'; DROP TABLE pairs"):
        with pytest.raises(ValueError, match="plain name"):
            ShardLayout(tmp_path, bad)


def test_shards_read_back_through_views_with_the_local_columns(tmp_path):
    layout = ShardLayout(tmp_path, "r")
    assert layout.start_run("synthesis", {"business_threshold": 0.5}, {}) is True
    layout.write("queries", 0, [{"query_id": "q1", "text": "it's a 'quoted' query", "qtype": None}])
    layout.write("general", 0, [{"query_id": "q1", "product_id": "p1", "rewrite_rank": 0, "ann_rank": 1,
                                 "business_score": 0.9, "general_p_yes": 0.8, "kept": True, "decided_by": "general"}])
    assert not list(tmp_path.rglob("*.tmp"))  # written under a temp name, then renamed
    with open_store(tmp_path) as store:
        assert isinstance(store, ShardStore)
        local = Store(":memory:")
        for table in ("pairs", "queries", "rewrites", "candidates", "runs"):
            cols = [d[0] for d in store.con.execute(f"SELECT * FROM {table} LIMIT 0").description]
            assert cols == [d[0] for d in local.con.execute(f"SELECT * FROM {table} LIMIT 0").description]
        assert store.fetch("SELECT text FROM queries") == [("it's a 'quoted' query",)]
        assert store.fetch("SELECT count(*) FROM rewrites") == [(0,)]  # no shard yet: an empty table
        assert store.done("r", "general") == {"q1"} and store.done("r", "filter") == set()
    with pytest.raises(ValueError, match="different config"):
        layout.start_run("synthesis", {"business_threshold": 0.4}, {})


def test_engine_config_is_checked():
    with pytest.raises(ValueError, match="local' or 'ray"):
        EngineConfig(kind="spark")
    with pytest.raises(ValueError, match="num_workers"):
        EngineConfig(kind="ray", num_workers=0)
