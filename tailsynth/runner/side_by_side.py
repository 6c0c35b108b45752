"""The chain's model stages trained side by side in worker processes (``[engine] stage_workers``).

Business, SFT, QSR, PDA and both filters need nothing from each other, and RL needs only SFT,
QSR and PDA. On a small CPU one trainer cannot keep every core busy (the LM trainers run fastest
on one thread: ``training.models.set_threads``), so two stages at once take little more than the
longer of the two. Each worker trains one stage at a time with ``cpu_count // workers`` threads
into the stage's own directory, the same files a sequential run writes, so the run's resume check
(``pipeline.stage_done``) and every key are unchanged. What a trainer writes to the store (its
``train_log`` rows) is collected in the worker and written by the parent: DuckDB lets one process
write a database file. Progress comes as plain lines, each naming its trainer, since two live
tables on one terminal would overwrite each other.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

__all__ = ["AHEAD", "NEEDS", "Finished", "RowBuffer", "run_into_store", "run_side_by_side", "train_stages"]

AHEAD = ("sft", "general_filter", "qsr", "pda", "rl", "rl_nopda", "business", "rewrite_filter")
"""The stages that may train side by side (every one before the calibration), in the order they
start: the longest two first (SFT and the cross-encoder filter, in both example runs), then what
RL needs and RL, then the rest, so the two workers end close together (the small profile: SFT
271 s, QSR 108, PDA 84 then RL on one worker while the filter takes 643 s on the other)."""
NEEDS = {"rl": ("sft", "qsr", "pda"), "rl_nopda": ("sft", "qsr")}
"""Stage → the stages whose outputs it trains from (the others need none of these)."""


@dataclass
class Finished:
    """A stage trained in a worker: its wall seconds there, its detail for the report and marker,
    and the store writes it made (``(table, rows, replace)``), for the parent to replay."""

    seconds: float
    detail: dict
    writes: list[tuple[str, list[tuple], bool]] = field(default_factory=list)


class RowBuffer:
    """The ``Store.insert`` a worker's trainers write to: the rows are kept for the parent."""

    def __init__(self) -> None:
        self.writes: list[tuple[str, list[tuple], bool]] = []

    def insert(self, table: str, rows: Sequence[tuple], *, replace: bool = False) -> int:
        self.writes.append((table, [tuple(r) for r in rows], replace))
        return len(rows)


class _PlainStream:
    """A worker's stdout/stderr: the parent's stderr, never a terminal (so rich prints plain lines)."""

    def __init__(self, stream) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        return self._stream.write(text)

    def flush(self) -> None:
        self._stream.flush()

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        return self._stream.fileno()

    @property
    def encoding(self) -> str:
        return getattr(self._stream, "encoding", "utf-8")


def _threads(workers: int) -> int:
    return max(1, (os.cpu_count() or 1) // workers)


def _die_with_parent(parent: int) -> None:
    """Linux: the kernel kills this worker when the run's process dies (``kill -9``), so no orphan
    goes on writing a stage directory that the resumed run trains again."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes
    import signal

    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the parent died before the call took effect (it may be pid 1 in a container)
        os._exit(1)


def _init_worker(threads: int, parent: int) -> None:
    _die_with_parent(parent)
    import torch

    from tailsynth.env import apply_offline_defaults

    apply_offline_defaults()
    torch.set_num_threads(threads)  # a trainer that pins its own (``num_threads``) restores this after
    sys.stdout = sys.stderr = _PlainStream(sys.__stderr__)


def run_side_by_side(tasks: Sequence[str], call: Callable[[str], tuple[Callable, tuple]], workers: int,
                     needs: dict[str, Sequence[str]] | None = None,
                     on_start: Callable[[str], None] | None = None,
                     on_done: Callable[[str, Any], None] | None = None) -> dict[str, Any]:
    """Run each task in a pool of ``workers`` spawned processes, a task once every task it
    ``needs`` (among ``tasks``; others count as done) has finished; returns task → result.

    ``call(task)`` gives the picklable ``(function, args)`` a worker runs. ``on_done(task, result)``
    runs in this process as each task finishes (the caller records it at once, so a later failure
    loses nothing). When a task fails, no new task starts, the running ones finish (and are
    recorded), and the first error is raised.
    """
    needs = needs or {}
    pending, running, results = list(tasks), {}, {}
    error: BaseException | None = None

    def ready(task: str) -> bool:
        return all(n not in pending and n not in running.values() for n in needs.get(task, ()) if n != task)

    context = multiprocessing.get_context("spawn")  # fork would copy this process's torch threads and open store
    with ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_init_worker,
                             initargs=(_threads(workers), os.getpid())) as pool:
        while running or (pending and error is None):
            if error is None:
                for task in [t for t in pending if ready(t)][: workers - len(running)]:
                    pending.remove(task)
                    function, args = call(task)
                    if on_start:
                        on_start(task)
                    running[pool.submit(function, *args)] = task
            if not running:
                raise RuntimeError(f"tasks {pending} wait on each other ({ {t: needs.get(t) for t in pending} })")
            finished, _ = wait(list(running), return_when=FIRST_COMPLETED)
            for future in finished:
                task = running.pop(future)
                try:
                    results[task] = future.result()
                except BaseException as err:  # noqa: BLE001 - re-raised once the running tasks are recorded
                    error = error or err
                    continue
                if on_done:
                    on_done(task, results[task])
    if error is not None:
        raise error
    return results


def run_into_store(tasks: Sequence[str], call: Callable[[str], tuple[Callable, tuple]], workers: int, store,
                   scratch_dir, on_done: Callable[[str, Any], None] | None = None) -> dict[str, Any]:
    """``run_side_by_side`` for tasks that write runs into a store: the function ``call(task)``
    names gets, before its arguments, a ``Store`` over a file of its own under ``scratch_dir``
    (``<task>.duckdb``: DuckDB lets one process write a file). As each task finishes, the parent
    copies that file's rows into ``store`` (``Store.copy_runs``), the rows a task run here would
    have written, and deletes it; a task that did not finish leaves its file, where the same task
    resumes next time."""
    from pathlib import Path

    scratch = Path(scratch_dir)
    scratch.mkdir(parents=True, exist_ok=True)
    paths = {task: scratch / f"{task}.duckdb" for task in tasks}

    def with_store(task: str) -> tuple[Callable, tuple]:
        function, args = call(task)
        return _with_store, (str(paths[task]), function, *args)

    def copied(task: str, result: Any) -> None:
        store.copy_runs(paths[task])
        for leftover in (paths[task], Path(f"{paths[task]}.wal"), Path(f"{paths[task]}.writer")):
            leftover.unlink(missing_ok=True)
        if on_done:
            on_done(task, result)

    results = run_side_by_side(tasks, with_store, workers, on_done=copied)
    if not any(scratch.iterdir()):
        scratch.rmdir()
    return results


def _with_store(path: str, function: Callable, *args: Any) -> Any:
    from tailsynth.store.store import Store

    with Store(path) as store:
        return function(store, *args)


def train_stage(config, stage: str, business_labels: list | None, progress: bool) -> Finished:
    """Train one stage (in a worker process; what ``pipeline.run`` does for it in its own)."""
    from tailsynth.runner import chain as chain_mod
    from tailsynth.runner import pipeline

    keys = pipeline.stage_keys(config)
    buffer = RowBuffer()
    started = time.perf_counter()
    if stage == "business":
        detail = pipeline.train_business(config, keys, business_labels)
    else:
        detail = chain_mod.train(config, keys.chain, stage, buffer, progress=progress)
    return Finished(round(time.perf_counter() - started, 2), detail, buffer.writes)


def train_stages(config, stages: Sequence[str], business_labels: list, workers: int, progress: bool,
                 on_start: Callable[[str], None], on_done: Callable[[str, Finished], None]) -> dict[str, Finished]:
    """Train ``stages`` (a subset of ``AHEAD``, none done) side by side in ``workers`` processes."""
    unknown = set(stages) - set(AHEAD)
    if unknown:
        raise ValueError(f"stages {sorted(unknown)} cannot train side by side (only {AHEAD})")
    return run_side_by_side(
        sorted(stages, key=AHEAD.index), lambda s: (train_stage, (config, s, business_labels if s == "business" else None, progress)), workers,
        needs=NEEDS, on_start=on_start, on_done=on_done)
