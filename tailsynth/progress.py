"""Progress that can be watched anywhere: a rich bar on a terminal, plain lines otherwise.

With output piped to a file (``tailsynth run ... > log``, nohup, CI) a rich bar shows nothing,
so a multi-hour run could not be watched. ``stage_progress`` gives the same small interface
(``add_task``, ``advance``) and, when stdout is not a terminal, prints one flushed line on
stderr when a stage starts and one per chunk: ``[tailsynth] rewrite 32/120 queries (14.2s)``.
"""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO


class PlainProgress:
    """One line per stage start and per chunk, flushed at once (``tail -f`` shows it live)."""

    def __init__(self, stream: TextIO | None = None, unit: str = "queries"):
        self.stream, self.unit = stream or sys.stderr, unit
        self.tasks: list[dict[str, Any]] = []

    def __enter__(self) -> "PlainProgress":
        return self

    def __exit__(self, *exc: Any) -> None:
        return None

    def _line(self, text: str) -> None:
        print(f"[tailsynth] {text}", file=self.stream, flush=True)

    def add_task(self, description: str, total: int | None = None, completed: int = 0, **_: Any) -> int:
        self.tasks.append({"name": description, "total": total or 0, "done": completed, "started": time.perf_counter()})
        todo = (total or 0) - completed
        self._line(f"{description} {completed}/{total} {self.unit} done, {todo} to run" if todo else
                   f"{description} {completed}/{total} {self.unit} done (nothing to run)")
        return len(self.tasks) - 1

    def advance(self, task_id: int, advance: float = 1) -> None:
        task = self.tasks[task_id]
        task["done"] += int(advance)
        self._line(f"{task['name']} {task['done']}/{task['total']} {self.unit} "
                   f"({time.perf_counter() - task['started']:.1f}s)")


def stage_progress(enabled: bool = True, stream: TextIO | None = None):
    """A rich ``Progress`` on a terminal, ``PlainProgress`` lines otherwise; silent when not ``enabled``."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    if enabled and not sys.stdout.isatty():
        return PlainProgress(stream)
    return Progress(TextColumn("[bold]{task.description:<9}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    disable=not enabled)


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
