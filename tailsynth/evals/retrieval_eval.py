"""Retrieval eval suite: one retriever, top-200 per query, judged, metrics per query type.

Like sentence-transformers' ``InformationRetrievalEvaluator`` it returns a dict of named metrics,
here nested per query type plus an ``all`` row: Item Goodrate, Query Goodrate@10/@100 (the paper's
Table 1 columns) and recall@200 / nDCG@10 (need the full relevant set, so only when the judge can
list it: a source's ``Judgements.relevant_ids``; otherwise they are NaN).

A judge is any callable ``(query_id, product_ids) -> [bool]``: ``source.judgements().judge`` (the
ground truth on the demo world, the qrels on your files), an LLM judge elsewhere.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Sequence
from pathlib import Path

from tailsynth.catalog import Catalog
from tailsynth.evals.metrics import item_goodrate, ndcg_at_k, query_goodrate, recall_at_k
from tailsynth.retrieval.encoder import TextEncoder

Judge = Callable[[str, list[str]], list[bool]]
METRICS = ("item_goodrate", "query_goodrate@10", "query_goodrate@100", "recall@200", "ndcg@10", "n_queries")


def load_encoder(encoder_or_path: TextEncoder | str | Path | None) -> TextEncoder:
    """An ``Encoder`` for a path (None: packaged MiniLM); an encoder object is returned as is.

    The index cache is keyed on ``model_id``, which ``Encoder`` derives from the path only; a
    retrained model written to the same directory would reuse stale embeddings, so for paths the
    id also carries a digest of the weights.
    """
    if encoder_or_path is not None and not isinstance(encoder_or_path, (str, Path)):
        return encoder_or_path
    from tailsynth.retrieval.encoder import Encoder

    encoder = Encoder(encoder_or_path)
    if encoder_or_path is not None:
        encoder.model_id += "#" + weights_digest(Path(encoder_or_path))
    return encoder


def weights_digest(directory: Path) -> str:
    digest = hashlib.sha256()
    for f in sorted(directory.glob("*.safetensors")) + sorted(directory.glob("*.bin")):
        digest.update(f.name.encode())
        digest.update(f.read_bytes())
    return digest.hexdigest()[:12]


def retrieve(encoder: TextEncoder, catalog: Catalog, queries: Sequence[dict], k: int = 200,
             index_dir: str | Path | None = None) -> list[list[str]]:
    """Top-``k`` product ids per query (the catalog index is cached under ``index_dir``)."""
    from tailsynth.paths import cache_dir
    from tailsynth.retrieval.catalog_index import CatalogIndex

    index = CatalogIndex.build_or_load(catalog.texts, catalog.ids, encoder, index_dir or cache_dir() / "indexes")
    hits = index.search([q["text"] for q in queries], k) if queries else []
    return [[pid for pid, _ in row] for row in hits]


def _relevant_fn(judge: Judge, relevant_ids: Callable[[str], set[str]] | None):
    if relevant_ids is not None:
        return relevant_ids
    owner = getattr(judge, "__self__", judge)  # world.judge is a bound method of World
    return getattr(owner, "relevant_ids", None)


PER_QUERY_METRICS = ("item_goodrate", "query_goodrate@10", "query_goodrate@100")
"""The Table 1 metrics that are means over queries of a per-query value, kept per query for the
bootstrap intervals (``evals.bootstrap``): the share of a query's list that is relevant, and
whether it holds at least 10 / 100 relevant items."""


def judge_lists(queries: Sequence[dict], retrieved: Sequence[Sequence[str]], judge: Judge) -> list[list[bool]]:
    return [judge(q["query_id"], list(ids)) for q, ids in zip(queries, retrieved)]


def per_query_values(queries: Sequence[dict], judged: Sequence[Sequence[bool]]) -> list[tuple[str, str, str, float]]:
    """``(query_id, qtype, metric, value)`` for every query and ``PER_QUERY_METRICS``: their means
    over a type's queries are that type's Table 1 cells."""
    rows = []
    for q, j in zip(queries, judged):
        qtype = q.get("qtype") or "unknown"
        good = sum(map(bool, j))
        values = (item_goodrate([j]), float(good >= 10), float(good >= 100))
        rows += [(q["query_id"], qtype, m, v) for m, v in zip(PER_QUERY_METRICS, values)]
    return rows


def score_lists(
    queries: Sequence[dict],
    retrieved: Sequence[Sequence[str]],
    judge: Judge,
    relevant_ids: Callable[[str], set[str]] | None = None,
    judged: Sequence[Sequence[bool]] | None = None,
) -> dict[str, dict[str, float]]:
    """Metrics per ``qtype`` and over ``all`` from already retrieved, rank-ordered lists
    (``judged``: the lists already judged, so a caller keeping per-query values judges once)."""
    judged = judge_lists(queries, retrieved, judge) if judged is None else judged
    rel_fn = _relevant_fn(judge, relevant_ids)
    groups: dict[str, list[int]] = {}
    for i, q in enumerate(queries):
        groups.setdefault(q.get("qtype") or "unknown", []).append(i)
    groups["all"] = list(range(len(queries)))
    out = {}
    for qtype, rows in groups.items():
        j = [judged[i] for i in rows]
        r = [list(retrieved[i]) for i in rows]
        metrics = {
            "item_goodrate": item_goodrate(j),
            "query_goodrate@10": query_goodrate(j, 10),
            "query_goodrate@100": query_goodrate(j, 100),
            "recall@200": math.nan,
            "ndcg@10": math.nan,
            "n_queries": float(len(rows)),
        }
        if rel_fn is not None and rows:
            rel = [rel_fn(queries[i]["query_id"]) for i in rows]
            metrics["recall@200"] = recall_at_k(r, rel, 200)
            metrics["ndcg@10"] = ndcg_at_k(r, rel, 10)
        out[qtype] = metrics
    return out


def store_results(store, run_id: str, suite: str, system: str, results: dict[str, dict[str, float]]) -> None:
    """Append ``results`` to ``eval_results`` (one row per qtype × metric)."""
    store.insert("eval_results", [
        (run_id, suite, system, qtype, metric, float(value))
        for qtype, metrics in results.items() for metric, value in metrics.items()
    ])


def score_and_store(queries: Sequence[dict], retrieved: Sequence[Sequence[str]], judge: Judge, *,
                    relevant_ids=None, store=None, run_id: str = "eval", suite: str = "retrieval",
                    system: str = "retriever") -> dict[str, dict[str, float]]:
    """Judge the lists once, return ``score_lists``' metrics, and with a ``store`` write them to
    ``eval_results`` and the per-query values to ``eval_query_results`` (same run/suite/system)."""
    judged = judge_lists(queries, retrieved, judge)
    results = score_lists(queries, retrieved, judge, relevant_ids, judged=judged)
    if store is not None:
        store_results(store, run_id, suite, system, results)
        store.insert("eval_query_results", [(run_id, suite, system, *row) for row in per_query_values(queries, judged)])
    return results


def evaluate_retriever(
    encoder_or_path: TextEncoder | str | Path | None,
    catalog: Catalog,
    queries: Sequence[dict],
    judge: Judge,
    k: int = 200,
    *,
    relevant_ids: Callable[[str], set[str]] | None = None,
    store=None,
    run_id: str = "eval",
    system: str = "retriever",
    suite: str = "retrieval",
    index_dir: str | Path | None = None,
) -> dict[str, dict[str, float]]:
    """Retrieve top-``k`` for every query, judge, and return ``{qtype: {metric: value}}`` (+ ``all``).

    ``queries`` are dicts with ``query_id``, ``text`` and ``qtype`` (None → ``unknown``). With a
    ``store`` the rows go to ``eval_results`` under ``(run_id, suite, system)``.
    """
    retrieved = retrieve(load_encoder(encoder_or_path), catalog, queries, k, index_dir)
    return score_and_store(queries, retrieved, judge, relevant_ids=relevant_ids, store=store, run_id=run_id,
                           suite=suite, system=system)


def evaluate_bm25(
    catalog: Catalog,
    queries: Sequence[dict],
    judge: Judge,
    k: int = 200,
    *,
    relevant_ids: Callable[[str], set[str]] | None = None,
    store=None,
    run_id: str = "eval",
    system: str = "bm25",
    suite: str = "retrieval",
    retriever=None,
) -> dict[str, dict[str, float]]:
    """The ``evaluate_retriever`` counterpart for BM25 (``retrieval.bm25``), the lexical row."""
    from tailsynth.retrieval.bm25 import retrieve_bm25

    return score_and_store(queries, retrieve_bm25(catalog, queries, k, retriever), judge, relevant_ids=relevant_ids,
                           store=store, run_id=run_id, suite=suite, system=system)
