"""The single-process engine: ``SynthesisProgram.run`` over the DuckDB store (batched, resumable)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from tailsynth.programs.synthesis import RunSummary, SynthesisProgram
from tailsynth.store import Store


def run_local(program: SynthesisProgram, queries: Iterable, store: str | Path | Store, run_id: str | None = None,
              progress: bool = True) -> RunSummary:
    if isinstance(store, Store):
        return program.run(queries, store, run_id=run_id, progress=progress)
    with Store(store) as opened:
        return program.run(queries, opened, run_id=run_id, progress=progress)
