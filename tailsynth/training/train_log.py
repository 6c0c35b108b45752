"""Per-step training metrics: a rich live table, a JSONL file, DuckDB ``train_log`` and a PNG curve."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from rich.console import Console
from rich.live import Live
from rich.table import Table

SHOWN_ROWS = 12
PLAIN_METRICS = 8
"""Metrics on a step's plain line (the first ones each trainer logs: loss or reward and its parts)."""


class TrainLogger:
    """``log(step, {"reward": ..})`` per step; ``close()`` writes ``curves.png``. ``store`` is an
    optional ``tailsynth.store.Store``; rows go to ``train_log(run_id, step, metric, value)``."""

    def __init__(self, run_id: str, out_dir: Path, store=None, live: bool = True, title: str | None = None,
                 start_step: int = 0):
        self.run_id, self.out_dir, self.store = run_id, Path(out_dir), store
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.path = self.out_dir / "train_log.jsonl"
        self.title = title or run_id
        self.history: list[dict] = []
        if self.path.exists():  # a run resumed after ``start_step`` keeps its earlier steps; a new run starts empty
            rows = [json.loads(line) for line in self.path.read_text().splitlines() if line.strip()]
            self.history = [r for r in rows if r["step"] <= start_step]
            self.path.write_text("".join(json.dumps(r) + "\n" for r in self.history))
        console = Console(stderr=True)
        # A live table on a terminal; piped to a file (nohup, CI) it would print only a garbled last
        # frame, so there a plain flushed line per step says the same (``tail -f`` shows it).
        self._plain = live and not console.is_terminal
        self._live = Live(self._table(), console=console, refresh_per_second=2, transient=False) if live and not self._plain else None
        if self._live:
            self._live.start()

    def log(self, step: int, metrics: dict[str, float]) -> None:
        row = {"step": int(step), **{k: float(v) for k, v in metrics.items()}}
        self.history.append(row)
        with self.path.open("a") as f:
            f.write(json.dumps(row) + "\n")
        if self.store is not None:
            self.store.insert("train_log", [(self.run_id, int(step), k, float(v)) for k, v in metrics.items()], replace=True)
        if self._live:
            self._live.update(self._table())
        if self._plain:
            shown = ", ".join(f"{k} {v:.4g}" for k, v in list(metrics.items())[:PLAIN_METRICS])
            print(f"[tailsynth] {self.title} step {int(step)}: {shown}", file=sys.stderr, flush=True)

    def _table(self) -> Table:
        table = Table(title=self.title)
        keys = list(self.history[-1]) if self.history else ["step"]
        for key in keys:
            table.add_column(key, justify="right")
        for row in self.history[-SHOWN_ROWS:]:
            table.add_row(*[f"{row.get(k, float('nan')):.4g}" if k != "step" else str(row[k]) for k in keys])
        return table

    def close(self) -> Path | None:
        if self._live:
            self._live.stop()
        return plot_curves(self.history, self.out_dir / "curves.png", self.title) if self.history else None


def plot_curves(history: list[dict], path: Path, title: str = "") -> Path:
    """One small panel per metric against step."""
    from tailsynth.evals.plots import pyplot, save_figure

    plt = pyplot()
    keys = [k for k in history[0] if k != "step"]
    cols = min(4, len(keys))
    rows = (len(keys) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.4 * rows), squeeze=False)
    steps = [h["step"] for h in history]
    window = max(1, len(history) // 8)
    for ax, key in zip(axes.flat, keys):
        values = [h.get(key, float("nan")) for h in history]
        ax.plot(steps, values, marker=".", alpha=0.5 if window > 1 else 1.0)
        if window > 1:  # per-step values of RL are noisy (different queries each step): show the trend
            ax.plot(steps, moving_average(values, window), color="black", linewidth=1.2)
        ax.set_title(key, fontsize=9)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(keys):]:
        ax.axis("off")
    fig.suptitle(title, fontsize=10)
    return save_figure(fig, path, dpi=90)


def moving_average(values: list[float], window: int) -> list[float]:
    """Trailing mean over the last ``window`` values (fewer at the start)."""
    out = []
    for i in range(len(values)):
        chunk = values[max(0, i - window + 1) : i + 1]
        out.append(sum(chunk) / len(chunk))
    return out
