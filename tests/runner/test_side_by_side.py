"""Stages side by side: a stage starts once what it needs has finished, results are recorded as
they come, and a failure stops new work but lets the running stages finish and be recorded."""

import os
import time
from pathlib import Path

import pytest

from tailsynth.runner.side_by_side import RowBuffer, run_side_by_side


def _work(name: str, seconds: float, fail: bool = False) -> dict:
    time.sleep(seconds)
    if fail:
        raise ValueError(f"{name} failed")
    return {"name": name, "pid": os.getpid(), "ended": time.time()}


def test_a_stage_starts_after_what_it_needs_and_two_run_at_once():
    durations = {"a": 1.0, "b": 0.2, "c": 0.2, "d": 0.1}
    order, results = [], {}
    out = run_side_by_side(list(durations), lambda t: (_work, (t, durations[t])), workers=2,
                           needs={"d": ("a", "b")}, on_start=order.append,
                           on_done=lambda t, r: results.setdefault(t, r))
    assert out == results and set(out) == set(durations)
    assert order.index("d") == 3  # it waited for "a", the longest, though a worker was free before
    assert out["d"]["ended"] > out["a"]["ended"] and out["d"]["ended"] > out["b"]["ended"]
    assert len({r["pid"] for r in out.values()}) == 2 and all(r["pid"] != os.getpid() for r in out.values())


def test_a_failure_stops_new_stages_and_the_running_ones_are_recorded():
    recorded, started = [], []
    with pytest.raises(ValueError, match="b failed"):
        run_side_by_side(["a", "b", "c"], lambda t: (_work, (t, {"a": 2.0, "b": 0.1, "c": 0.1}[t], t == "b")),
                         workers=2, on_start=started.append, on_done=lambda t, r: recorded.append(t))
    assert recorded == ["a"] and started == ["a", "b"]  # "a" finished and was recorded; "c" never started


def test_tasks_that_wait_on_each_other_are_refused():
    with pytest.raises(RuntimeError, match="wait on each other"):
        run_side_by_side(["a", "b"], lambda t: (_work, (t, 0.0)), workers=2, needs={"a": ("b",), "b": ("a",)})


def test_the_row_buffer_keeps_what_a_trainer_writes_for_the_parent():
    buffer = RowBuffer()
    assert buffer.insert("train_log", [("run", 1, "loss", 0.5)], replace=True) == 1
    assert buffer.writes == [("train_log", [("run", 1, "loss", 0.5)], True)]


def test_the_report_gives_the_wall_time_beside_the_stage_time_when_stages_overlapped():
    from tailsynth.runner.report import wall_line

    stages = {"sft": {"seconds": 300.0}, "general_filter": {"seconds": 280.0}, "calibration": {"seconds": 100.0}}
    assert wall_line(stages, 420.0) == ("Wall time of the stages in this invocation: 420 s (680 s of stage time: "
                                        "the model stages trained side by side, [engine] stage_workers).")
    assert wall_line(stages, 680.4) == wall_line(stages, None) == "Wall time of the stages in this invocation: 680 s."


def _record_pid_and_wait(path: str) -> None:
    Path(path).write_text(str(os.getpid()))
    time.sleep(60)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state not in ("Z", "X")  # a killed worker not yet reaped is a zombie


def test_a_killed_run_leaves_no_worker_behind(tmp_path):
    import signal
    import subprocess
    import sys

    if not sys.platform.startswith("linux"):
        pytest.skip("the parent-death signal is Linux's")
    pid_file = tmp_path / "worker.pid"
    script = ("from tailsynth.runner.side_by_side import run_side_by_side\n"
              "from tests.runner.test_side_by_side import _record_pid_and_wait\n"
              f"run_side_by_side(['a'], lambda t: (_record_pid_and_wait, ({str(pid_file)!r},)), workers=1)\n")
    parent = subprocess.Popen([sys.executable, "-c", script], cwd=str(Path(__file__).resolve().parents[2]),
                              stderr=subprocess.DEVNULL)  # the killed parent's resource tracker complains
    for _ in range(600):
        if pid_file.exists() and pid_file.read_text():
            break
        time.sleep(0.1)
    worker = int(pid_file.read_text())
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    for _ in range(100):
        if not _alive(worker):
            break
        time.sleep(0.1)
    else:
        os.kill(worker, signal.SIGKILL)
        pytest.fail("the worker outlived the killed run")


def _write_run(store, run_id: str, queries: int, fail: bool = False) -> str:
    store.start_run(run_id, "synthesis", {"n": queries}, {})
    for i in range(queries):
        store.write_stage(run_id, "rewrite", [f"q{i}"], {"queries": [(run_id, f"q{i}", f"text {i}", "qa")]})
        if fail and i == 0:
            raise ValueError(f"{run_id} failed after one query")
    store.finish_run(run_id)
    return run_id


def test_tasks_that_write_a_store_write_their_own_files_and_the_parent_copies_them(tmp_path):
    from tailsynth.runner.side_by_side import run_into_store
    from tailsynth.store import Store

    scratch = tmp_path / "scratch"
    with Store(tmp_path / "run.duckdb") as store:
        done = run_into_store(["a", "b"], lambda t: (_write_run, (f"run-{t}", 3)), 2, store, scratch)
        assert done == {"a": "run-a", "b": "run-b"}
        rows = dict(store.fetch("SELECT run_id, count(*) FROM queries GROUP BY run_id"))
        progress = store.fetch("SELECT count(*) FROM progress")[0][0]
        finished = store.fetch("SELECT count(finished_at) FROM runs")[0][0]
    assert rows == {"run-a": 3, "run-b": 3} and progress == 6 and finished == 2
    assert not scratch.exists()  # each file went once its rows were copied, and the empty folder after them

    # a task that fails leaves its file, where the same task resumes; the finished one is copied
    with Store(tmp_path / "run.duckdb") as store, pytest.raises(ValueError, match="run-d failed"):
        run_into_store(["c", "d"], lambda t: (_write_run, (f"run-{t}", 3, t == "d")), 2, store, scratch)
    assert [p.name for p in scratch.iterdir() if p.suffix == ".duckdb"] == ["d.duckdb"]
    with Store(tmp_path / "run.duckdb") as store:
        run_into_store(["d"], lambda t: (_write_run, (f"run-{t}", 3)), 2, store, scratch)
        rows = dict(store.fetch("SELECT run_id, count(*) FROM queries GROUP BY run_id"))
    assert rows == {"run-a": 3, "run-b": 3, "run-c": 3, "run-d": 3}  # resumed: none twice
