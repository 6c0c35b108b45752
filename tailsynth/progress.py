"""Progress that can be watched anywhere: a rich bar on a terminal, plain lines otherwise.

With output piped to a file (``tailsynth run ... > log``, nohup, CI) a rich bar shows nothing,
so a multi-hour run could not be watched. ``stage_progress`` gives the same small interface
(``add_task``, ``advance``) and, when stdout is not a terminal, prints one flushed line on
stderr when a stage starts and one per chunk: ``[tailsynth] rewrite 32/120 queries (14.2s)``.
``work_progress`` is the same for a loop of many small units (training steps, encoded texts):
a line at most every ``every_s`` seconds, with the task's fields (``loss 0.412``), and the last.
"""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO


class PlainProgress:
    """One line per stage start and per chunk, flushed at once (``tail -f`` shows it live)."""

    def __init__(self, stream: TextIO | None = None, unit: str = "queries", every_s: float = 0.0):
        self.stream, self.unit, self.every_s = stream or sys.stderr, unit, every_s
        self.tasks: list[dict[str, Any]] = []

    def __enter__(self) -> "PlainProgress":
        return self

    def __exit__(self, *exc: Any) -> None:
        return None

    def _line(self, text: str) -> None:
        print(f"[tailsynth] {text}", file=self.stream, flush=True)

    def add_task(self, description: str, total: int | None = None, completed: int = 0, **fields: Any) -> int:
        now = time.perf_counter()
        self.tasks.append({"name": description, "total": total or 0, "done": completed, "started": now, "last": now,
                           "fields": dict(fields)})
        todo = (total or 0) - completed
        self._line(f"{description} {completed}/{total} {self.unit} done, {todo} to run" if todo else
                   f"{description} {completed}/{total} {self.unit} done (nothing to run)")
        return len(self.tasks) - 1

    def advance(self, task_id: int, advance: float = 1) -> None:
        self.update(task_id, advance=advance)

    def update(self, task_id: int, advance: float | None = None, completed: float | None = None, **fields: Any) -> None:
        """rich's ``Progress.update``: a line when ``every_s`` has passed since the last one, and the last."""
        task, now = self.tasks[task_id], time.perf_counter()
        task["done"] = int(completed) if completed is not None else task["done"] + int(advance or 0)
        task["fields"].update(fields)
        if now - task["last"] < self.every_s and task["done"] < task["total"]:
            return
        task["last"] = now
        shown = "".join(f" {k} {v:.4g}" if isinstance(v, float) else f" {k} {v}" for k, v in task["fields"].items())
        self._line(f"{task['name']} {task['done']}/{task['total']} {self.unit} ({now - task['started']:.1f}s){shown}")


def stage_progress(enabled: bool = True, stream: TextIO | None = None):
    """A rich ``Progress`` on a terminal, ``PlainProgress`` lines (one per chunk) otherwise; silent
    when not ``enabled``."""
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn

    return work_progress(TextColumn("[bold]{task.description:<9}"), BarColumn(), MofNCompleteColumn(),
                         TimeElapsedColumn(), unit="queries", every_s=0.0, enabled=enabled, stream=stream)


def announce(text: str, enabled: bool = True, stream: TextIO | None = None) -> None:
    """One line for a long job's milestones (a run's stage starting or done): plain and flushed
    on stderr when stdout is not a terminal, through rich on a terminal."""
    if not enabled:
        return
    if stream is not None or not sys.stdout.isatty():
        print(f"[tailsynth] {text}", file=stream or sys.stderr, flush=True)
        return
    from rich.console import Console

    Console(stderr=True).print(f"[bold]\\[tailsynth][/] {text}", highlight=False)


def work_progress(*columns: Any, unit: str = "steps", every_s: float = 15.0, transient: bool = False,
                  enabled: bool = True, stream: TextIO | None = None):
    """A rich ``Progress`` of ``columns`` on a terminal; piped, ``PlainProgress`` lines at most every
    ``every_s`` seconds, so a 10-minute training loop is visible in a log without a line per step."""
    from rich.progress import Progress

    if enabled and not sys.stdout.isatty():
        return PlainProgress(stream, unit=unit, every_s=every_s)
    return Progress(*columns, transient=transient, disable=not enabled)
