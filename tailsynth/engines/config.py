"""Which engine runs the synthesis program, and where (and how many of a run's model stages train
at once): one small dataclass, one home per setting.

It is also the ``[engine]`` section of a run config (``tailsynth.runner.config``), so a TOML key
is a field name here. The engine never enters a run's key: both engines write the same pairs by
design (``tests/engines/test_ray_engine.py``), so switching engine, workers or index shards keeps
every stage key, and a run done by one engine is the same run for the other (the runner reads it
from where that engine writes: the DuckDB store for ``local``, Parquet shards for ``ray``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

EngineKind = Literal["local", "ray"]
ENGINE_KINDS = ("local", "ray")


@dataclass
class EngineConfig:
    """``kind="local"``: one process, the DuckDB store. ``kind="ray"``: Ray Data actor pools writing
    Parquet shards (``tailsynth.store.shards``); ``address`` is a Ray cluster (``"auto"`` for the one
    ``ray start --head`` started on this node, ``"ray://host:10001"``) or None for a local cluster
    started here. ``num_workers`` actors per stage, each loading its stage's models once;
    ``shard_size`` queries per shard (None: the program's ``chunk_size``, so both engines batch the
    same queries together and give the same answer); ``cpus_per_worker`` is what each actor
    reserves (None: the cluster's CPUs spread over all actors, at most 1). The Ray settings are
    ignored by the local engine."""

    kind: EngineKind = "local"
    address: str | None = None
    num_workers: int = 1
    shard_size: int | None = None
    cpus_per_worker: float | None = None
    gpu_rewriter: bool = False
    """Run the rewriter through vLLM with ``ray.data.llm`` (GPU nodes; ``tailsynth.engines.vllm``)."""
    index_shards: int = 1
    """Split the catalog index into this many shards by product rows, each searched by its own actor
    pool, top-k merged by score then product id (``tailsynth.retrieval.sharded_index``): no worker
    holds the whole index. For a flat index the pairs are the same as with one shard."""
    stage_workers: int = 1
    """Train the run's model stages that need nothing from each other (business, SFT, QSR, PDA, the
    two filters; RL once SFT, QSR and PDA are done) side by side in this many processes, each with
    ``cpu_count // stage_workers`` threads (``tailsynth.runner.side_by_side``); the calibration's
    dev runs (one per rewriter) and the two retrievers go side by side too. Each stage seeds
    itself and writes its own directory, so the keys and files are those of a sequential run (a
    stage on another thread count may differ in the last bits of its float sums)."""

    def __post_init__(self) -> None:
        if self.kind not in ENGINE_KINDS:
            raise ValueError(f"engine kind must be 'local' or 'ray', got {self.kind!r}")
        if self.num_workers < 1:
            raise ValueError("num_workers must be >= 1")
        if self.stage_workers < 1:
            raise ValueError("stage_workers must be >= 1")
        if self.index_shards < 1:
            raise ValueError("index_shards must be >= 1")
        if self.shard_size is not None and self.shard_size < 1:
            raise ValueError("shard_size must be >= 1 (or left out: the program's chunk_size)")
