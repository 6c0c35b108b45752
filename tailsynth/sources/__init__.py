"""Data sources: the demo world and a user's files behind one interface (``Source``).

``load_source("world")`` or ``load_source("run.toml")``; every trainer, eval suite and CLI command
takes the result (``--data world|PATH.toml`` on the command line).
"""

from __future__ import annotations

from pathlib import Path

from tailsynth.sources.base import SPLITS, Judgements, MissingData, Source, as_source, per_type

__all__ = ["SPLITS", "FileSource", "Judgements", "MissingData", "Source", "WorldSource", "as_source", "load_source",
           "per_type"]


def load_source(spec: "str | Path | Source | None" = "world") -> Source:
    """``"world"`` (or None): the demo world; a path to a run TOML: its ``[data.*]`` files."""
    if isinstance(spec, Source):
        return spec
    if spec is None or str(spec) == "world":
        from tailsynth.sources.world import WorldSource

        return WorldSource()
    path = Path(spec)
    if path.suffix.lower() != ".toml":
        raise ValueError(f"--data takes 'world' or a run config (.toml), got {spec!r}")
    from tailsynth.sources.files import FileSource

    return FileSource(path)


def __getattr__(name: str):
    if name == "WorldSource":
        from tailsynth.sources.world import WorldSource

        return WorldSource
    if name == "FileSource":
        from tailsynth.sources.files import FileSource

        return FileSource
    raise AttributeError(name)
