"""Which engine runs the synthesis program, and where: one small dataclass, one home per setting."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

EngineKind = Literal["local", "ray"]


@dataclass
class EngineConfig:
    """``kind="local"``: one process, the DuckDB store. ``kind="ray"``: Ray Data actor pools writing
    Parquet shards (``tailsynth.store.shards``); ``address`` is a Ray cluster (``"auto"`` for the one
    ``ray start --head`` started on this node, ``"ray://host:10001"``) or None for a local cluster
    started here. ``num_workers`` actors per stage, each loading its stage's models once;
    ``shard_size`` queries per shard (None: the program's ``chunk_size``, so both engines batch the
    same queries together and give the same answer); ``cpus_per_worker`` is what each actor
    reserves (None: the cluster's CPUs spread over all actors, at most 1)."""

    kind: EngineKind = "local"
    address: str | None = None
    num_workers: int = 1
    shard_size: int | None = None
    cpus_per_worker: float | None = None
    gpu_rewriter: bool = False
    """Run the rewriter through vLLM with ``ray.data.llm`` (GPU nodes; ``tailsynth.engines.vllm``)."""

    def __post_init__(self) -> None:
        if self.kind not in ("local", "ray"):
            raise ValueError(f"engine kind must be 'local' or 'ray', got {self.kind!r}")
        if self.num_workers < 1:
            raise ValueError("num_workers must be >= 1")
