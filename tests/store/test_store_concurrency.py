"""Readers during a write, one writer at a time, and eval results that replace on rerun."""

import subprocess
import sys
import textwrap
import time

import duckdb
import pytest

from tailsynth.store import Store
from tailsynth.store.store import StoreLocked, connect


def _hold(path, seconds, read_only=False):
    """A subprocess that holds the DuckDB file (as an old-style writer would) for ``seconds``."""
    code = textwrap.dedent(f"""
        import duckdb, time, sys
        con = duckdb.connect({str(path)!r}, read_only={read_only})
        print("held", flush=True)
        time.sleep({seconds})
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_readers_get_in_while_a_writer_is_open(tmp_path):
    path = tmp_path / "s.duckdb"
    with Store(path) as writer:
        writer.start_run("r", "synthesis", {}, {})
        writer.write_stage("r", "rewrite", ["a"], {"queries": [("r", "a", "toilet", None)]})
        # another process reads with plain DuckDB while the writer is between chunks
        out = subprocess.run([sys.executable, "-c", f"import duckdb; print(duckdb.connect({str(path)!r}, read_only=True)"
                              ".execute('SELECT count(*) FROM progress').fetchone()[0])"], capture_output=True, text=True)
        assert out.stdout.strip() == "1", out.stderr
        with Store(path, read_only=True) as reader:
            assert reader.done("r", "rewrite") == {"a"}
        writer.write_stage("r", "rewrite", ["b"], {})
        assert writer.done("r", "rewrite") == {"a", "b"}


def test_a_second_writer_is_refused_at_once_with_the_first_ones_pid(tmp_path):
    path = tmp_path / "s.duckdb"
    with Store(path):
        code = f"from tailsynth.store import Store\nStore({str(path)!r})"
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
        assert out.returncode != 0 and "StoreLocked" in out.stderr and "is being written by pid" in out.stderr
        with pytest.raises(StoreLocked, match="is being written by pid"):
            Store(path)
    Store(path).close()  # released on close (and by the OS when a writer is killed)


def test_both_sides_wait_out_a_held_file(tmp_path):
    path = tmp_path / "s.duckdb"
    Store(path).close()
    holder = _hold(path, 1.5)
    started = time.monotonic()
    con = connect(str(path), read_only=True, timeout_s=30)
    assert time.monotonic() - started > 0.5  # it waited for the holder, then got in
    con.close()
    holder.wait()
    holder = _hold(path, 30)
    try:
        with pytest.raises(StoreLocked, match="stayed locked"):
            Store(path, read_only=True, lock_timeout_s=0.5).fetch("SELECT 1")
    finally:
        holder.kill()


def test_dry_run_waits_for_a_lock_instead_of_reporting_to_run(tmp_path):
    from tailsynth.runner.pipeline import _store_rows
    from tailsynth.runner.config import OutputConfig, RunConfig

    path = tmp_path / "s.duckdb"
    with Store(path) as s:
        s.start_run("done-run", "synthesis", {}, {})
        s.finish_run("done-run")
    holder = _hold(path, 1.5)
    config = RunConfig(output=OutputConfig(store=str(path)))
    rows = _store_rows(config, "SELECT count(*) FROM runs WHERE finished_at IS NOT NULL", [])
    holder.wait()
    assert rows == [(1,)]


def test_eval_results_rerun_replaces_instead_of_duplicating(tmp_path):
    store = Store(":memory:")
    for value in (0.1, 0.2):
        store.insert("eval_results", [("e", "table1", "bm25", "all", "ndcg@10", value)])
    assert store.fetch("SELECT value FROM eval_results") == [(0.2,)]


def test_old_stores_get_the_eval_results_key(tmp_path):
    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE eval_results (run_id VARCHAR, suite VARCHAR, system VARCHAR, qtype VARCHAR, "
                "metric VARCHAR, value DOUBLE, created_at TIMESTAMP DEFAULT current_timestamp)")
    con.execute("INSERT INTO eval_results VALUES ('e','t','s','all','m',1.0,'2024-01-01'), ('e','t','s','all','m',2.0,'2024-01-02')")
    con.close()
    with Store(path) as store:
        assert store.fetch("SELECT value FROM eval_results") == [(2.0,)]
        store.insert("eval_results", [("e", "t", "s", "all", "m", 3.0)])
        assert store.fetch("SELECT value FROM eval_results") == [(3.0,)]
