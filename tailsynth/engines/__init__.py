"""Engines: two ways to run the same stages (``tailsynth.programs.stages``).

``local`` is ``SynthesisProgram.run`` in one process over the DuckDB store; ``ray`` runs each
stage as a Ray Data actor pool over Parquet shards that DuckDB reads with the same table names
(``tailsynth.store.shards``). ``run_synthesis`` picks one from an ``EngineConfig``.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from tailsynth.engines.config import EngineConfig, EngineKind


def run_synthesis(program, queries: Iterable, store: str | Path, engine: EngineConfig | None = None,
                  run_id: str | None = None, progress: bool = True):
    """Run ``program`` (a ``SynthesisProgram`` built by ``build_program``, or a ``ProgramSpec``) on
    ``queries``; ``store`` is the DuckDB file (local) or the shard directory (ray)."""
    engine = engine or EngineConfig()
    if engine.kind == "ray":
        from tailsynth.engines.ray_data import run_ray

        spec = getattr(program, "spec", None) or program
        return run_ray(spec, queries, store, engine, run_id=run_id, progress=progress)
    from tailsynth.engines.local import run_local

    if not hasattr(program, "run"):
        program = program.program()
    return run_local(program, queries, store, run_id=run_id, progress=progress)


__all__ = ["EngineConfig", "EngineKind", "run_synthesis"]
