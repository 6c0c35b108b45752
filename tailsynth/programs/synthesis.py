"""The synthesis program: the DESIGN.md diagram, top to bottom, as one ``dspy.Module``.

query ─► Rewriter ─► RewriteFilter ─► dense retrieval (FAISS, union) ─► BusinessRelevance
      ─► GeneralRelevanceFilter ─► pairs in DuckDB with provenance

Each stage is one implementation in ``tailsynth.programs.stages`` over in-memory batches.
``forward`` composes them for one query in memory; ``run`` executes them stage by stage over all
queries (each stage batched across queries), reading its inputs from the store and writing its
outputs there with progress markers, so a killed run resumes at the first unfinished
(stage, chunk) and never writes a row twice. The Ray engine (``tailsynth.engines``) runs the
same stages as actor pools over Parquet shards.
"""

from __future__ import annotations

import time

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import dspy

from tailsynth.catalog import Catalog
from tailsynth.config import SynthesisConfig
from tailsynth.fingerprint import synthesis_run_id
from tailsynth.progress import stage_progress
from tailsynth.programs.general_relevance import GeneralRelevanceFilter
from tailsynth.programs.queries import Query, as_queries
from tailsynth.programs.rewrite_filter import RewriteFilter
from tailsynth.programs.rewriter import Rewriter
from tailsynth.programs.stages import STAGES, make_stage
from tailsynth.store import Store
from tailsynth.store.schema import COLUMNS

__all__ = ["STAGES", "RunSummary", "SynthesisProgram", "funnel"]


@dataclass
class RunSummary:
    run_id: str
    queries: int
    funnel: dict[str, int]
    seconds: dict[str, float]  # wall time per stage in this invocation (resumed work excluded)


def _chunks(items: list, size: int) -> Iterable[list]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


class SynthesisProgram(dspy.Module):
    """Compose the stages; every model is injected, so tests and users can swap any of them."""

    def __init__(
        self,
        catalog: Catalog,
        rewriter: Rewriter,
        rewrite_filter: RewriteFilter,
        index,  # tailsynth.retrieval.catalog_index.CatalogIndex
        business,  # tailsynth.retrieval.business_relevance.BusinessRelevance
        general_filter: GeneralRelevanceFilter,
        config: SynthesisConfig | None = None,
        model_ids: dict[str, str] | None = None,
    ):
        super().__init__()
        self.catalog, self.config = catalog, config or SynthesisConfig()
        self.rewriter, self.rewrite_filter, self.general_filter = rewriter, rewrite_filter, general_filter
        self.index, self.business = index, business
        self.model_ids = model_ids or {}
        self.spec = None  # the ProgramSpec that built it, when build_program did (engines ship it to workers)

    # ------------------------------------------------------------------ stages
    def stages(self) -> dict[str, Callable]:
        """The five stages over these models (``tailsynth.programs.stages``), by name."""
        models = (self.rewriter, self.rewrite_filter, self.index, self.business, self.general_filter)
        return {name: make_stage(name, model, self.config, self.catalog) for name, model in zip(STAGES, models)}

    # ------------------------------------------------------------------ python API
    def forward(self, query: str) -> dspy.Prediction:
        """One query, in memory: the submodules composed directly, kept pairs with their provenance."""
        stage, q = self.stages(), [Query("q0", query)]
        rewrites = stage["filter"](q, stage["rewrite"](q))
        pairs = stage["general"](q, stage["business"](q, stage["retrieve"](rewrites)), rewrites)
        found_by = {r["rank"]: r["rewrite"] for r in rewrites}
        kept = sorted((p for p in pairs if p["kept"]), key=lambda p: (-p["general_p_yes"], p["product_id"]))
        return dspy.Prediction(pairs=[
            {"product_id": p["product_id"], "business_score": p["business_score"], "general_p_yes": p["general_p_yes"],
             "rewrite": found_by[p["rewrite_rank"]], "decided_by": p["decided_by"]}
            for p in kept
        ])

    def run(self, queries: Iterable, store: Store, run_id: str | None = None, progress: bool = True,
            kind: str = "synthesis", label: str = "") -> RunSummary:
        """Synthesize pairs for ``queries`` into ``store``; rerunning the same run id resumes.
        ``kind`` is the run's ``runs.kind``: ``"calibration"`` for a dev run that chooses operating
        points (``runner.calibrate``), so it is never taken for the latest synthesis run. ``label``
        prefixes each progress line (two runs printing side by side)."""
        queries = as_queries(queries)
        run_id = run_id or synthesis_run_id(self.config, queries, self.catalog, self.model_ids)  # config + data + models
        store.start_run(run_id, kind, self.config.to_dict(), self.model_ids)
        store.insert("queries", [(run_id, q.query_id, q.text, q.qtype) for q in queries])
        self._stages = self.stages()
        steps: dict[str, Callable[[str, list[Query], Store], dict]] = {
            "rewrite": self._rewrite,
            "filter": self._filter,
            "retrieve": self._retrieve,
            "business": self._business,
            "general": self._general,
        }
        seconds: dict[str, float] = {}
        with stage_progress(progress) as bar:  # a rich bar on a terminal, plain lines when piped
            for stage in STAGES:
                done = store.done(run_id, stage)
                todo = [q for q in queries if q.query_id not in done]
                task = bar.add_task(f"{label} {stage}" if label else stage, total=len(queries),
                                    completed=len(queries) - len(todo))
                started = time.perf_counter()
                for chunk in _chunks(todo, self.config.chunk_size):
                    tables = steps[stage](run_id, chunk, store)
                    store.write_stage(run_id, stage, [q.query_id for q in chunk], tables, replace=stage in ("filter", "general"))
                    bar.advance(task, len(chunk))
                seconds[stage] = time.perf_counter() - started
        store.finish_run(run_id)
        return RunSummary(run_id, len(queries), funnel(store, run_id), seconds)

    # ------------------------------------------------------------------ one chunk of a stage over the store
    # Each reads the chunk's input rows from the store, runs the shared stage, returns rows to write.
    def _rewrite(self, run_id: str, chunk: list[Query], store: Store) -> dict:
        return {"rewrites": as_tuples(run_id, "rewrites", self._stages["rewrite"](chunk))}

    def _filter(self, run_id: str, chunk: list[Query], store: Store) -> dict:
        rows = _read(store, "rewrites", run_id, chunk, "AND rank > 0")
        return {"rewrites": as_tuples(run_id, "rewrites", self._stages["filter"](chunk, rows))}

    def _retrieve(self, run_id: str, chunk: list[Query], store: Store) -> dict:
        rows = _read(store, "rewrites", run_id, chunk)
        return {"candidates": as_tuples(run_id, "candidates", self._stages["retrieve"](rows))}

    def _business(self, run_id: str, chunk: list[Query], store: Store) -> dict:
        rows = _read(store, "candidates", run_id, chunk)
        return {"pairs": as_tuples(run_id, "pairs", self._stages["business"](chunk, rows))}

    def _general(self, run_id: str, chunk: list[Query], store: Store) -> dict:
        rows, rewrites = _read(store, "pairs", run_id, chunk), _read(store, "rewrites", run_id, chunk)
        return {"pairs": as_tuples(run_id, "pairs", self._stages["general"](chunk, rows, rewrites))}


def _read(store: Store, table: str, run_id: str, chunk: list[Query], where: str = "") -> list[dict]:
    """A stage's input: the rows of ``table`` for the chunk's queries, as dicts without run_id."""
    columns = COLUMNS[table][1:]
    return store.fetch_dicts(
        f"SELECT {', '.join(columns)} FROM {table} WHERE run_id = ? AND query_id IN (SELECT unnest(?)) {where} "
        "ORDER BY ALL",
        [run_id, [q.query_id for q in chunk]],
    )


def as_tuples(run_id: str, table: str, rows: list[dict]) -> list[tuple]:
    """Stage rows → tuples in ``COLUMNS[table]`` order, for ``Store.insert``."""
    columns = COLUMNS[table][1:]
    return [(run_id, *(row[c] for c in columns)) for row in rows]


def funnel(store: Store, run_id: str) -> dict[str, int]:
    """Counts per stage for one run (the SQL lives in ``store.reads``)."""
    from tailsynth.store.reads import funnel as read_funnel

    return read_funnel(store, run_id)
