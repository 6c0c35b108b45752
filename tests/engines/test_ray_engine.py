"""The Ray engine runs the same stages as the local one: same pairs, per-shard resume, same SQL."""

import pytest

from tailsynth.engines import EngineConfig, run_synthesis
from tailsynth.store import Store
from tailsynth.store.shards import ShardStore, open_store
from tailsynth.store.views import VIEWS

from ..programs.test_synthesis import QUERIES
from .specs import FakeSpec

MORE = QUERIES + [
    {"query_id": "d", "text": "toilet keeps running", "qtype": "knowledge"},
    {"query_id": "e", "text": "paint not oil based", "qtype": "negative"},
]


def _pairs(store, run_id):
    return store.fetch("SELECT query_id, product_id, rewrite_rank, ann_rank, business_score, general_p_yes, kept, "
                       "decided_by FROM pairs WHERE run_id = ? ORDER BY ALL", [run_id])


@pytest.fixture(scope="module")
def runs(ray_cluster, tmp_path_factory):
    """One local run and one Ray run (2 actors per stage) of the same spec on the same queries."""
    tmp = tmp_path_factory.mktemp("engines")
    spec = FakeSpec(str(tmp / "idx"))
    local = Store(tmp / "local.duckdb")
    summary = spec.program().run(MORE, local, run_id="r", progress=False)
    ray_summary = run_synthesis(spec, MORE, tmp / "shards", EngineConfig(kind="ray", num_workers=2),
                                run_id="r", progress=False)
    yield spec, local, summary, tmp / "shards", ray_summary
    local.close()


def test_ray_gives_the_same_pairs_as_local(runs):
    _, local, summary, root, ray_summary = runs
    with ShardStore(root) as shards:
        assert _pairs(shards, "r") == _pairs(local, "r")
        assert shards.fetch("SELECT * FROM rewrites ORDER BY ALL") == local.fetch("SELECT * FROM rewrites ORDER BY ALL")
        assert shards.fetch("SELECT * FROM candidates ORDER BY ALL") == local.fetch("SELECT * FROM candidates ORDER BY ALL")
    assert ray_summary.funnel == summary.funnel and summary.funnel["pairs_kept"] > 0


def test_sql_over_shards_gives_the_local_funnel(runs):
    _, local, _, root, _ = runs
    sql = VIEWS["funnel"].replace("$run", "$1")
    expected = local.fetch_dicts(sql, ["r"])
    with open_store(root) as shards:  # a directory of shards opens as a ShardStore
        assert isinstance(shards, ShardStore)
        assert shards.fetch_dicts(sql, ["r"]) == expected
        assert shards.fetch("SELECT finished_at IS NOT NULL FROM runs WHERE run_id = 'r'") == [(True,)]
    # plain duckdb SQL through the views file the engine writes
    import duckdb

    con = duckdb.connect()
    for statement in (root / "views.sql").read_text().split(";\n"):
        if statement.strip():
            con.execute(statement)
    assert con.execute("SELECT count(*) FROM pairs WHERE kept").fetchone()[0] == sum(r["pairs_kept"] for r in expected)


def test_a_finished_run_resumes_to_a_no_op_and_other_queries_are_refused(runs):
    spec, _, _, root, ray_summary = runs
    before = {p: p.stat().st_mtime_ns for p in root.rglob("shard-*.parquet")}
    again = run_synthesis(spec, MORE, root, EngineConfig(kind="ray"), run_id="r", progress=False)
    assert again.funnel == ray_summary.funnel
    assert {p: p.stat().st_mtime_ns for p in root.rglob("shard-*.parquet")} == before
    with pytest.raises(ValueError, match="other queries"):
        run_synthesis(spec, list(reversed(MORE)), root, EngineConfig(kind="ray"), run_id="r", progress=False)


def test_inspect_export_and_table2_read_a_ray_run_like_a_local_one(runs, tmp_path, capsys):
    from tailsynth.cli import main
    from tailsynth.evals.table2 import funnel_by_type
    from tailsynth.export import export_pairs

    from ..programs.fakes import CATALOG

    _, local, _, root, _ = runs
    assert main(["inspect", "funnel", "--store", str(root), "--run-id", "r"]) == 0
    assert "funnel (r)" in capsys.readouterr().out
    with ShardStore(root) as shards:
        assert funnel_by_type(shards, "r") == funnel_by_type(local, "r")
        ray_files = export_pairs(shards, "r", CATALOG, tmp_path / "ray")
    local_files = export_pairs(local, "r", CATALOG, tmp_path / "local")
    assert [p.read_bytes() for p in ray_files] == [p.read_bytes() for p in local_files] and ray_files


def test_a_sharded_index_gives_the_same_pairs_as_local_and_resumes_per_shard(runs, tmp_path):
    """index_shards=2: an encoder pool, one pool per half of the catalog index, a merge; same answer."""
    spec, local, summary, _, _ = runs
    root, engine = tmp_path / "sharded", EngineConfig(kind="ray", index_shards=2)
    ray_summary = run_synthesis(spec, MORE, root, engine, run_id="r", progress=False)

    def same_as_local():
        with ShardStore(root) as shards:
            assert _pairs(shards, "r") == _pairs(local, "r")
            assert shards.fetch("SELECT * FROM candidates ORDER BY ALL") == local.fetch("SELECT * FROM candidates ORDER BY ALL")

    same_as_local()
    assert ray_summary.funnel == summary.funnel and summary.funnel["candidates"] > 0
    # shard 0 lost only its pairs (its candidates pass through the shard pools); shard 1 lost its candidates too
    run = root / "r"
    (run / "pairs" / "shard-00000.parquet").unlink()
    for path in ("candidates/shard-00001.parquet", "_stage/business/shard-00001.parquet", "pairs/shard-00001.parquet"):
        (run / path).unlink()
    kept = {p: p.stat().st_mtime_ns for p in run.rglob("shard-*.parquet")}
    assert run_synthesis(spec, MORE, root, engine, run_id="r", progress=False).funnel == summary.funnel
    same_as_local()
    assert all(p.stat().st_mtime_ns == t for p, t in kept.items())  # nothing finished was rewritten
