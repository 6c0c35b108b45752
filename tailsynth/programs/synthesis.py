"""The synthesis program: the DESIGN.md diagram, top to bottom, as one ``dspy.Module``.

query ─► Rewriter ─► RewriteFilter ─► dense retrieval (FAISS, union) ─► BusinessRelevance
      ─► GeneralRelevanceFilter ─► pairs in DuckDB with provenance

``run`` executes it stage by stage over all queries (each stage batched across queries),
reading its inputs from the store and writing its outputs there with progress markers, so a
killed run resumes at the first unfinished (stage, chunk) and never writes a row twice.
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
from tailsynth.store import Store

STAGES = ("rewrite", "filter", "retrieve", "business", "general")


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

    # ------------------------------------------------------------------ python API
    def forward(self, query: str) -> dspy.Prediction:
        """One query, in memory: the kept pairs with their provenance."""
        with Store(":memory:") as store:
            self.run([Query("q0", query)], store, run_id="adhoc", progress=False)
            pairs = store.fetch_dicts(
                "SELECT p.product_id, p.business_score, p.general_p_yes, r.rewrite FROM pairs p "
                "JOIN rewrites r USING (run_id, query_id) WHERE p.kept AND r.rank = p.rewrite_rank "
                "ORDER BY p.general_p_yes DESC"
            )
        return dspy.Prediction(pairs=pairs)

    def run(self, queries: Iterable, store: Store, run_id: str | None = None, progress: bool = True) -> RunSummary:
        """Synthesize pairs for ``queries`` into ``store``; rerunning the same run id resumes."""
        queries = as_queries(queries)
        run_id = run_id or synthesis_run_id(self.config, queries, self.catalog, self.model_ids)  # config + data + models
        store.start_run(run_id, "synthesis", self.config.to_dict(), self.model_ids)
        store.insert("queries", [(run_id, q.query_id, q.text, q.qtype) for q in queries])
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
                task = bar.add_task(stage, total=len(queries), completed=len(queries) - len(todo))
                started = time.perf_counter()
                for chunk in _chunks(todo, self.config.chunk_size):
                    tables = steps[stage](run_id, chunk, store)
                    store.write_stage(run_id, stage, [q.query_id for q in chunk], tables, replace=stage in ("filter", "general"))
                    bar.advance(task, len(chunk))
                seconds[stage] = time.perf_counter() - started
        store.finish_run(run_id)
        return RunSummary(run_id, len(queries), funnel(store, run_id), seconds)

    # ------------------------------------------------------------------ stages
    def _rewrite(self, run_id: str, chunk: list[Query], store: Store) -> dict:
        rows = []
        for q, rewrites in zip(chunk, self.rewriter.batch_rewrite([q.text for q in chunk])):
            if self.config.include_original:
                rows.append((run_id, q.query_id, 0, q.text, "original", None, None, None, True))
            rows += [(run_id, q.query_id, i, r, None, None, None, None, None) for i, r in enumerate(rewrites, 1)]
        return {"rewrites": rows}

    def _filter(self, run_id: str, chunk: list[Query], store: Store) -> dict:
        ids = [q.query_id for q in chunk]
        rows = store.fetch(
            "SELECT r.query_id, r.rank, r.rewrite, q.text FROM rewrites r JOIN queries q USING (run_id, query_id) "
            "WHERE r.run_id = ? AND r.query_id IN (SELECT unnest(?)) AND r.rank > 0 ORDER BY r.query_id, r.rank",
            [run_id, ids],
        )
        judgements = self.rewrite_filter.judge([(text, rewrite) for _, _, rewrite, text in rows])
        return {
            "rewrites": [
                (run_id, qid, rank, rewrite, j.label, *j.probs, j.kept)
                for (qid, rank, rewrite, _), j in zip(rows, judgements)
            ]
        }

    def _retrieve(self, run_id: str, chunk: list[Query], store: Store) -> dict:
        kept = store.fetch(
            "SELECT query_id, rank, rewrite FROM rewrites WHERE run_id = ? AND query_id IN (SELECT unnest(?)) AND kept "
            "ORDER BY query_id, rank",
            [run_id, [q.query_id for q in chunk]],
        )
        groups: dict[str, list[tuple[int, str]]] = {q.query_id: [] for q in chunk}
        for qid, rank, rewrite in kept:
            groups[qid].append((rank, rewrite))
        order = [qid for qid in groups if groups[qid]]
        results = self.index.search_union([[r for _, r in groups[qid]] for qid in order], k=self.config.top_k)
        rows = []
        for qid, hits in zip(order, results):
            ranks = [rank for rank, _ in groups[qid]]
            rows += [(run_id, qid, h["product_id"], ranks[h["rewrite_index"]], h["rank"], h["score"]) for h in hits]
        return {"candidates": rows}

    def _business(self, run_id: str, chunk: list[Query], store: Store) -> dict:
        rows = []
        for q in chunk:
            cands = store.fetch(
                "SELECT product_id, rewrite_rank, ann_rank FROM candidates WHERE run_id = ? AND query_id = ? ORDER BY ann_rank, product_id",
                [run_id, q.query_id],
            )
            if not cands:
                continue
            scores = self.business.score(q.text, [self.catalog.text(pid) for pid, _, _ in cands])
            rows += [(run_id, q.query_id, pid, rr, ar, float(s), None, False) for (pid, rr, ar), s in zip(cands, scores)]
        return {"pairs": rows}

    def _general(self, run_id: str, chunk: list[Query], store: Store) -> dict:
        rows, pairs = [], []
        for q in chunk:
            survivors = store.fetch(
                "SELECT product_id, rewrite_rank, ann_rank, business_score FROM pairs WHERE run_id = ? AND query_id = ? "
                "AND business_score >= ? ORDER BY business_score DESC, product_id LIMIT ?",
                [run_id, q.query_id, self.config.business_threshold, self.config.max_general_per_query],
            )
            rows += [(q, s) for s in survivors]
            pairs += [(q.text, self.catalog.text(s[0])) for s in survivors]
        p_yes = self.general_filter.p_yes(pairs)
        return {
            "pairs": [
                (run_id, q.query_id, pid, rr, ar, bs, float(p), bool(p >= self.general_filter.threshold))
                for (q, (pid, rr, ar, bs)), p in zip(rows, p_yes)
            ]
        }


def funnel(store: Store, run_id: str) -> dict[str, int]:
    """Counts per stage for one run (the SQL lives in ``store.reads``)."""
    from tailsynth.store.reads import funnel as read_funnel

    return read_funnel(store, run_id)
