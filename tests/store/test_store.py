import pytest

from tailsynth.store import Store


def test_untrusted_text_is_data_not_sql():
    store = Store(":memory:")
    store.start_run("r", "synthesis", {"a": 1}, {})
    evil = "x'); DROP TABLE runs; --"
    store.insert("queries", [("r", "q1", evil, "qa")])
    assert store.fetch("SELECT text FROM queries WHERE query_id = ?", ["q1"]) == [(evil,)]
    assert store.fetch("SELECT count(*) FROM runs") == [(1,)]


def test_stage_rows_and_markers_are_atomic_and_idempotent():
    store = Store(":memory:")
    store.start_run("r", "synthesis", {}, {})
    row = ("r", "q1", 1, "rw", None, None, None, None, None)
    store.write_stage("r", "rewrite", ["q1"], {"rewrites": [row]})
    store.write_stage("r", "rewrite", ["q1"], {"rewrites": [row]})
    assert store.fetch("SELECT count(*) FROM rewrites") == [(1,)]
    assert store.done("r", "rewrite") == {"q1"}
    with pytest.raises(Exception):
        store.write_stage("r", "filter", ["q2"], {"rewrites": [("r", "q2", 1)]})  # wrong arity: rolled back
    assert store.done("r", "filter") == set()


def test_resuming_with_another_config_is_refused():
    store = Store(":memory:")
    assert store.start_run("r", "synthesis", {"k": 5}, {}) is True
    assert store.start_run("r", "synthesis", {"k": 5}, {}) is False
    with pytest.raises(ValueError, match="different config"):
        store.start_run("r", "synthesis", {"k": 6}, {})


def test_copy_runs_brings_every_row_of_another_file_once(tmp_path):
    from tailsynth.store import Store

    with Store(tmp_path / "worker.duckdb") as worker:
        worker.start_run("r1", "calibration", {"k": 1}, {"m": "x"})
        worker.write_stage("r1", "rewrite", ["q1"], {"queries": [("r1", "q1", "a query", "qa")]})
        worker.insert("train_log", [("r1", 0, "loss", 0.5)])
        worker.finish_run("r1")
    with Store(tmp_path / "run.duckdb") as store:
        store.start_run("other", "synthesis", {}, {})
        assert store.copy_runs(tmp_path / "worker.duckdb") == 4
        store.copy_runs(tmp_path / "worker.duckdb")  # twice: still one copy
        runs = store.fetch("SELECT run_id, kind, config, finished_at IS NOT NULL FROM runs ORDER BY run_id")
        assert [(r[0], r[1], r[3]) for r in runs] == [("other", "synthesis", False), ("r1", "calibration", True)]
        assert store.done("r1", "rewrite") == {"q1"}
        assert store.fetch("SELECT count(*) FROM queries")[0][0] == 1
        assert store.fetch("SELECT value FROM train_log")[0][0] == 0.5


def test_a_store_from_before_pairs_ann_score_gains_the_column_and_older_rows_still_insert(tmp_path):
    import duckdb

    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))  # the pairs table as it was before decided_by and ann_score
    con.execute("CREATE TABLE pairs (run_id VARCHAR, query_id VARCHAR, product_id VARCHAR, rewrite_rank INTEGER, "
                "ann_rank INTEGER, business_score DOUBLE, general_p_yes DOUBLE, kept BOOLEAN, "
                "PRIMARY KEY (run_id, query_id, product_id))")
    con.execute("INSERT INTO pairs VALUES ('r', 'q', 'p0', 1, 1, 0.5, 0.5, true)")
    con.close()
    with Store(path) as s:
        s.insert("pairs", [("r", "q", "p1", 1, 2, 0.4, 0.6, True)])  # a caller from before both columns
        s.insert("pairs", [("r", "q", "p2", 1, 3, 0.3, 0.7, True, "general")])  # before ann_score
        s.insert("pairs", [("r", "q", "p3", 1, 4, 0.2, 0.8, True, "general", 0.91)])
        rows = s.fetch("SELECT product_id, decided_by, ann_score FROM pairs ORDER BY product_id")
    assert rows == [("p0", None, None), ("p1", None, None), ("p2", "general", None), ("p3", "general", 0.91)]
