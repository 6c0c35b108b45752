"""The Ray engine: each stage of ``tailsynth.programs.stages`` as a Ray Data actor pool.

Queries are cut into shards (``EngineConfig.shard_size``, by default the program's chunk size).
A dataset with one row per unfinished shard flows through five ``map_batches`` operators, one per
stage, each a pool of ``num_workers`` actors that build their stage's models once (``spec.stage``:
the rewriter LM, the filter LMs, the encoder and FAISS index, the cross-encoder) and then take one
shard per call. Rows travel between operators in Ray blocks; every actor also writes its shard's
output as one Parquet file (``tailsynth.store.shards``), atomically, and that file is the record:

- resume is per (stage, shard): a restarted driver enqueues only shards without final pairs, and
  an actor whose stage output for a shard already exists passes the file's rows on instead of
  recomputing them, so no shard is written twice by a finished stage;
- DuckDB reads the files through views with the local store's table names (``ShardStore``).

With ``index_shards > 1`` the retrieval operator becomes one pool per shard of the catalog index
plus an encoder before and a merge after (``tailsynth.engines.sharded_retrieval``), so no actor
holds the whole index.

Same answer as the local engine: every stage is deterministic given its batch (scoring stages
by construction; the rewriter decodes greedily at ``rewrite_temperature=0``, the default), and a
shard holds the same queries as a local chunk, so both engines batch identically.

The run folder must be visible to every node (a shared filesystem) when the cluster has several.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np

from tailsynth.fingerprint import synthesis_run_id
from tailsynth.engines.config import EngineConfig
from tailsynth.engines.sharded_retrieval import OPERATORS_ADDED, set_torch_threads, sharded_retrieval
from tailsynth.programs.queries import Query, as_queries
from tailsynth.programs.stages import STAGES
from tailsynth.programs.synthesis import RunSummary, funnel
from tailsynth.store.shards import ShardLayout, ShardStore

PREVIOUS = {"rewrite": None, "filter": "rewrite", "retrieve": "filter", "business": "retrieve", "general": "business"}


class StageActor:
    """One actor of a stage's pool: the stage's models load in ``__init__``, once per actor."""

    def __init__(self, spec, stage: str, root: str, run_id: str, torch_threads: int = 1):
        set_torch_threads(torch_threads)
        self.name, self.layout = stage, ShardLayout(root, run_id)
        self.stage = spec.stage(stage)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        out = []
        for shard, queries_json, rows_json in zip(batch["shard"], batch["queries"], batch["rows"]):
            out.append(json.dumps(self._shard(int(shard), queries_json, rows_json)))
        return {"shard": batch["shard"], "queries": batch["queries"], "rows": np.array(out, dtype=object)}

    def _shard(self, shard: int, queries_json: str, rows_json: str) -> list[dict[str, Any]]:
        if self.layout.done(self.name, shard):  # finished before a restart: its file is the answer
            return self.layout.read(self.name, shard)
        queries = [Query(**q) for q in json.loads(queries_json)]
        previous = PREVIOUS[self.name]
        if previous is None:
            rows = self.stage(queries)
        else:
            inputs = json.loads(rows_json) if rows_json else self.layout.read(previous, shard)
            if self.name == "retrieve":
                rows = self.stage(inputs)
            elif self.name == "general":  # it may judge each pair against its rewrite
                rows = self.stage(queries, inputs, self.layout.read("filter", shard))
            else:
                rows = self.stage(queries, inputs)
        self.layout.write(self.name, shard, rows)
        return rows


def shards_of(queries: list[Query], size: int) -> list[list[Query]]:
    return [queries[i : i + size] for i in range(0, len(queries), size)]


@contextmanager
def ray_session(engine: EngineConfig):
    """Ray for one run: joins the caller's session when Ray is already initialised (a notebook, the
    tests' cluster) and leaves it running; otherwise connects (``engine.address``) and shuts down
    afterwards, so the runner's later stages do not share the process with an idle Ray driver."""
    import ray

    if ray.is_initialized():
        yield
        return
    ray.init(address=engine.address, include_dashboard=False, log_to_driver=False)
    try:
        yield
    finally:
        ray.shutdown()


def _cpus_per_worker(engine: EngineConfig) -> float:
    if engine.cpus_per_worker is not None:
        return engine.cpus_per_worker
    import ray

    total = float(ray.cluster_resources().get("CPU", 1.0))
    return min(1.0, total / (operator_count(engine) * engine.num_workers))


def operator_count(engine: EngineConfig) -> int:
    """Actor pools in the pipeline: one per stage, retrieval split into shards plus encode and merge."""
    return len(STAGES) + (engine.index_shards + OPERATORS_ADDED - 1 if engine.index_shards > 1 else 0)


def _index_cache(spec) -> str:
    return str(spec.index_cache())


def run_ray(spec, queries: Iterable, root: str | Path, engine: EngineConfig | None = None,
            run_id: str | None = None, progress: bool = True) -> RunSummary:
    """Synthesize into shards under ``root``; rerunning the same run id resumes per shard.

    ``spec`` builds stages in the workers (``programs.build.ProgramSpec`` or anything with
    ``config``, ``catalog``, ``model_ids()`` and ``stage(name)``, and with ``index_shards > 1``
    ``encoder()`` and ``index_cache()``; it must pickle)."""
    engine = engine or EngineConfig(kind="ray")
    config = spec.config
    queries = as_queries(queries)
    run_id = run_id or synthesis_run_id(config, queries, spec.catalog, spec.model_ids())  # as the local engine
    layout = ShardLayout(root, run_id)
    layout.start_run("synthesis", config.to_dict(), spec.model_ids())
    shards = shards_of(queries, engine.shard_size or config.chunk_size)
    for i, shard in enumerate(shards):
        rows = [asdict(q) for q in shard]
        if not layout.done("queries", i):
            layout.write("queries", i, rows)
        elif layout.read("queries", i) != rows:
            raise ValueError(f"run {run_id!r} shard {i} holds other queries; resume with the same queries or a new run id")
    todo = [i for i in range(len(shards)) if not layout.done("general", i)]
    if todo:
        with ray_session(engine):
            _run_stages(spec, engine, shards, todo, root, run_id, progress)
    layout.finish_run()
    with ShardStore(root) as store:
        return RunSummary(run_id, len(queries), funnel(store, run_id), {})


def _run_stages(spec, engine: EngineConfig, shards: list[list[Query]], todo: list[int], root: str | Path,
                run_id: str, progress: bool) -> None:
    import ray

    items = [{"shard": i, "queries": json.dumps([asdict(q) for q in shards[i]]), "rows": ""} for i in todo]
    ds = ray.data.from_items(items, override_num_blocks=len(items))
    cpus = _cpus_per_worker(engine)
    threads = max(1, round(cpus))
    if engine.index_shards > 1:  # built once, by one worker, before the shard actors load their rows
        ray.get(ray.remote(_index_cache).options(num_cpus=min(1.0, cpus * engine.num_workers)).remote(spec))
    for stage in STAGES:
        if stage == "rewrite" and engine.gpu_rewriter:
            from tailsynth.engines.vllm import vllm_rewrite

            ds = vllm_rewrite(ds, spec, str(root), run_id)
            continue
        if stage == "retrieve" and engine.index_shards > 1:
            ds = sharded_retrieval(ds, spec, engine, str(root), run_id, cpus, threads)
            continue
        ds = ds.map_batches(
            StageActor,
            fn_constructor_kwargs={"spec": spec, "stage": stage, "root": str(root), "run_id": run_id,
                                   "torch_threads": threads},
            batch_size=1, batch_format="numpy", concurrency=engine.num_workers, num_cpus=cpus,
        )
    _drain(ds, len(todo), progress)


def _drain(ds, total: int, progress: bool) -> None:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("[bold]shards"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  disable=not progress) as bar:
        task = bar.add_task("shards", total=total)
        for batch in ds.iter_batches(batch_size=1, batch_format="numpy"):
            bar.advance(task, len(batch["shard"]))
