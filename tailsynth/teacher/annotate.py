"""Annotate long-tail queries with a teacher LLM: k candidate rewrites, their QSR labels and a
sample of (query, product) relevance labels, one JSONL record per query.

The paper's small models learn from a strong LLM's annotations of its own domain; a user with an
OpenAI-compatible endpoint (vLLM on their GPU, any served model) gets the same here. Rewrites are
generated through DSPy (``Rewriter``, litellm ``hosted_vllm/...`` or ``openai/...`` with
``api_base``); labels are the teacher's p_yes from logprobs (``make_scorer``), thresholded, the
same signatures the chain's filters use (``QuerySemanticRelevance``, ``ProductRelevance``).

Resumable: records are appended per batch after the whole batch succeeded, and a rerun skips the
query ids already in the file (a torn last line from a kill is cut). Errors are errors: an endpoint
outage raises (``EndpointError`` from the scorer, litellm's from generation), and a query the teacher
writes no usable rewrite for raises ``TeacherError``; nothing empty is ever written.

Record: ``query_id, query, split (train/dev), teacher, rewrites, qsr_p_yes, qsr (1/0), products,
product_p_yes, product_labels (1/0)``.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tailsynth.catalog import Catalog
from tailsynth.config import LMConfig
from tailsynth.signatures import ProductRelevance, QuerySemanticRelevance

ANNOTATIONS = "annotations.jsonl"
Candidates = Callable[[str, list[str]], list[str]]


class TeacherError(RuntimeError):
    """The teacher gave an answer that cannot be an annotation (no usable rewrite, a NaN score)."""


@dataclass
class TeacherConfig:
    """The teacher endpoint and how much to annotate per query."""

    lm: LMConfig = field(default_factory=LMConfig)  # e.g. LMConfig("hosted_vllm/Qwen3-32B", api_base="http://host:8000/v1")
    k: int = 5  # candidate rewrites per query
    products_per_query: int = 4  # (query, product) relevance labels per query
    candidate_depth: int = 20  # the products are sampled from this many BM25 hits of the query and its rewrites
    qsr_threshold: float = 0.5  # QSR label = teacher p_yes >= this
    relevance_threshold: float = 0.5
    batch_size: int = 16
    dev_fraction: float = 0.1  # queries held out (by a hash of the id) for the trainers' dev splits
    seed: int = 0
    max_tokens: int = 128


def split_of(query_id: str, config: TeacherConfig) -> str:
    h = int(hashlib.sha256(f"{config.seed}:{query_id}".encode()).hexdigest()[:12], 16) / 16**12
    return "dev" if h < config.dev_fraction else "train"


def annotated_ids(path: str | Path) -> set[str]:
    """Query ids with a complete record in ``path``; a torn last line (a kill mid-write) is cut off."""
    path = Path(path)
    if not path.exists():
        return set()
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        data = data[: data.rfind(b"\n") + 1]
        with path.open("r+b") as f:
            f.truncate(len(data))
    return {json.loads(line)["query_id"] for line in data.decode("utf-8").splitlines() if line.strip()}


def bm25_candidates(catalog: Catalog, depth: int) -> Candidates:
    """Default product candidates: the union of BM25 hits for the query and each rewrite, by rank."""
    from tailsynth.retrieval.bm25 import BM25Retriever

    retriever = BM25Retriever(catalog)

    def candidates(query: str, rewrites: list[str]) -> list[str]:
        out: dict[str, None] = {}
        lists = retriever.search([query] + list(rewrites), k=depth)
        for rank in range(depth):
            for hits in lists:
                if rank < len(hits):
                    out.setdefault(hits[rank])
        return list(out)[:depth]

    return candidates


def _check(scores, what: str) -> list[float]:
    scores = [float(s) for s in scores]
    if any(math.isnan(s) for s in scores):
        raise TeacherError(f"teacher returned NaN {what} scores")
    return scores


def _annotate_batch(batch: list[dict], catalog: Catalog, config: TeacherConfig, rewriter, scorer,
                    candidates: Candidates) -> list[dict]:
    rewrites = rewriter.batch_rewrite([q["text"] for q in batch])
    if len(rewrites) != len(batch):
        raise TeacherError(f"teacher returned rewrites for {len(rewrites)} of {len(batch)} queries")
    for q, rs in zip(batch, rewrites):
        if not rs:
            raise TeacherError(f"teacher wrote no usable rewrite for query {q['query_id']!r} ({q['text'][:60]!r}); "
                               "check the endpoint's model and max_tokens")
    flat = [{"query": q["text"], "rewrite": r} for q, rs in zip(batch, rewrites) for r in rs]
    qsr = _check(scorer.p_yes(QuerySemanticRelevance, flat), "QSR")
    products = []
    for q, rs in zip(batch, rewrites):
        pool = candidates(q["text"], rs)
        rng = random.Random(f"{config.seed}:{q['query_id']}")
        products.append(rng.sample(pool, min(config.products_per_query, len(pool))))
    pairs = [{"query": q["text"], "product": catalog.text(pid)} for q, ps in zip(batch, products) for pid in ps]
    rel = _check(scorer.p_yes(ProductRelevance, pairs), "relevance") if pairs else []
    records, i, j = [], 0, 0
    for q, rs, ps in zip(batch, rewrites, products):
        q_p, p_p = qsr[i:i + len(rs)], rel[j:j + len(ps)]
        i, j = i + len(rs), j + len(ps)
        records.append({
            "query_id": q["query_id"], "query": q["text"], "split": split_of(q["query_id"], config),
            "teacher": config.lm.model_id, "rewrites": list(rs), "qsr_p_yes": q_p,
            "qsr": [int(p >= config.qsr_threshold) for p in q_p], "products": ps, "product_p_yes": p_p,
            "product_labels": [int(p >= config.relevance_threshold) for p in p_p]})
    return records


def annotate_queries(queries: Sequence[dict], catalog: Catalog, out_dir: str | Path, config: TeacherConfig | None = None,
                     *, rewriter=None, scorer=None, candidates: Candidates | None = None) -> Path:
    """Annotate ``queries`` (dicts with ``query_id``, ``text``) into ``out_dir/annotations.jsonl``.

    The rewriter (``programs.rewriter.Rewriter``), the scorer (``serving.make_scorer``) and the
    candidate products (BM25 over ``catalog``) come from ``config`` unless given; they are only
    built when some query is left to annotate."""
    config = config or TeacherConfig()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / ANNOTATIONS
    done = annotated_ids(path)
    todo = [q for q in queries if q["query_id"] not in done]
    if not todo:
        return path
    if rewriter is None:
        from tailsynth.programs.rewriter import Rewriter
        from tailsynth.serving import make_lm

        rewriter = Rewriter(k=config.k, lm=make_lm(config.lm), max_tokens=config.max_tokens)
    if scorer is None:
        from tailsynth.serving import make_scorer

        scorer = make_scorer(config.lm)
    candidates = candidates or bm25_candidates(catalog, config.candidate_depth)
    for start in range(0, len(todo), config.batch_size):
        records = _annotate_batch(todo[start:start + config.batch_size], catalog, config, rewriter, scorer, candidates)
        with path.open("a", encoding="utf-8") as f:
            f.write("".join(json.dumps(r) + "\n" for r in records))
            f.flush()
            os.fsync(f.fileno())
    return path
