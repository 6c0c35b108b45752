"""Killing the Ray driver mid-run (kill -9) and resuming redoes only the unfinished shards."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tailsynth.engines import EngineConfig, run_synthesis
from tailsynth.store import Store
from tailsynth.store.shards import ShardLayout, ShardStore

from .specs import FakeSpec
from .test_ray_engine import MORE

REPO = Path(__file__).resolve().parents[2]


def _wait_for_some_pairs(layout: ShardLayout, process: subprocess.Popen, timeout: float = 300) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = sum(layout.done("general", i) for i in range(len(MORE)))
        if done >= 1:
            return done
        assert process.poll() is None, "the driver ended before it could be killed"
        time.sleep(0.2)
    raise AssertionError("no shard finished in time")


def test_killed_driver_resumes_only_missing_shards(ray_cluster, tmp_path):
    root, index_dir = tmp_path / "shards", str(tmp_path / "idx")
    layout = ShardLayout(root, "k")
    driver = subprocess.Popen([sys.executable, "-m", "tests.engines.driver", str(root), index_dir], cwd=REPO,
                              start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        finished = _wait_for_some_pairs(layout, driver)
        os.kill(driver.pid, signal.SIGKILL)  # the driver dies mid-run
        driver.wait()
    finally:
        try:
            os.killpg(driver.pid, signal.SIGKILL)  # and the local cluster it started (same session)
        except ProcessLookupError:
            pass
    before = {p: p.stat().st_mtime_ns for p in root.rglob("shard-*.parquet")}
    done_before = [i for i in range(len(MORE)) if layout.done("general", i)]
    assert finished <= len(done_before) < len(MORE), "kill the driver before all shards finish"

    summary = run_synthesis(FakeSpec(index_dir), MORE, root, EngineConfig(kind="ray", shard_size=1), run_id="k",
                            progress=False)
    after = {p: p.stat().st_mtime_ns for p in root.rglob("shard-*.parquet")}
    assert {p: after[p] for p in before} == before  # nothing finished before the kill was redone
    assert all(layout.done("general", i) for i in range(len(MORE)))
    with Store(tmp_path / "local.duckdb") as local, ShardStore(root) as shards:
        FakeSpec(index_dir).program().run(MORE, local, run_id="k", progress=False)
        columns = "query_id, product_id, business_score, general_p_yes, kept, decided_by"
        assert shards.fetch(f"SELECT {columns} FROM pairs ORDER BY ALL") == local.fetch(f"SELECT {columns} FROM pairs ORDER BY ALL")
        assert shards.fetch("SELECT count(*) - count(DISTINCT (query_id, product_id)) FROM pairs") == [(0,)]
    assert summary.funnel["queries"] == len(MORE)
