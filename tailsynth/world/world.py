"""The ``World``: the demo store's tables, its ground-truth judge and its Parquet cache.

Other packages code against this API only; generation is deterministic in (seed, n_products) and
cached under ``cache_dir()/world-s{seed}-n{n}/`` so later runs load in well under two seconds.
"""

from __future__ import annotations

import json
import shutil
import time
from collections import defaultdict
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from ..paths import cache_dir
from .catalog import attribute_string, generate_products
from .knowledge import KNOWLEDGE_BASE
from .logs import build_head_pairs, build_relevance_labels
from .queries import QTYPES, build_queries
from .rewrites import build_rewrite_examples
from .truth import ProductIndex, Spec, label_rewrite

VERSION = 1
_TABLES = ("products", "queries", "qrels", "rewrite_examples", "head_pairs", "relevance_labels")


class World:
    """Catalog, long-tail queries with exact relevance, and the training data derived from them."""

    def __init__(self, tables: dict[str, pa.Table], knowledge_base: list[dict], seed: int = 0):
        self.seed = seed
        self.products: pa.Table = tables["products"]
        self.queries: pa.Table = tables["queries"]
        self.qrels: pa.Table = tables["qrels"]
        self.rewrite_examples: pa.Table = tables["rewrite_examples"]
        self.head_pairs: pa.Table = tables["head_pairs"]
        self.relevance_labels: pa.Table = tables["relevance_labels"]
        self.knowledge_base = knowledge_base
        self._rel: dict[str, set[str]] | None = None
        self._specs: dict[str, str] | None = None

    # ------------------------------------------------------------------ text and queries
    def product_texts(self) -> list[str]:
        """What retrieval/relevance models see per product: title + ". " + short attribute string."""
        titles = self.products.column("title").to_pylist()
        return [f"{t}. {a}".rstrip(". ") for t, a in zip(titles, self.product_attributes())]

    def product_attributes(self) -> list[str]:
        """Each product's short attribute string ("stainless steel, 2 in., framing"), as in its text."""
        return [attribute_string(json.loads(a)) for a in self.products.column("attributes").to_pylist()]

    def query_rows(self, split: str = "test", qtype: str | None = None, limit: int | None = None) -> list[dict]:
        """Queries of a split in table order; ``limit`` applies per query type when ``qtype`` is None."""
        rows = [r for r in self.queries.to_pylist() if r["split"] == split and (qtype is None or r["qtype"] == qtype)]
        if limit is None:
            return rows
        counts: dict[str, int] = defaultdict(int)
        out = []
        for r in rows:
            if counts[r["qtype"]] < limit:
                counts[r["qtype"]] += 1
                out.append(r)
        return out

    # ------------------------------------------------------------------ judging
    def relevant_ids(self, query_id: str) -> set[str]:
        if self._rel is None:
            rel: dict[str, set[str]] = defaultdict(set)
            for q, p in zip(self.qrels.column("query_id").to_pylist(), self.qrels.column("product_id").to_pylist()):
                rel[q].add(p)
            self._rel = dict(rel)
        return self._rel.get(query_id, set())

    def judge(self, query_id: str, product_ids: list[str]) -> list[bool]:
        rel = self.relevant_ids(query_id)
        return [p in rel for p in product_ids]

    def spec(self, query_id: str) -> Spec:
        """Spec of a query or of a rewrite-example-only ("rx-") query."""
        if self._specs is None:
            self._specs = dict(zip(self.queries.column("query_id").to_pylist(), self.queries.column("spec").to_pylist()))
            self._specs.update(zip(self.rewrite_examples.column("query_id").to_pylist(),
                                   self.rewrite_examples.column("spec").to_pylist()))
        return Spec.from_json(self._specs[query_id])

    def rewrite_label(self, query_id: str, rewrite: str) -> str:
        """relevant | partially_relevant | irrelevant, from the query's spec and the parsed rewrite."""
        return label_rewrite(self.spec(query_id), rewrite)

    # ------------------------------------------------------------------ summary
    def stats(self) -> dict[str, int | float]:
        q = self.queries.to_pylist()
        n_rel = defaultdict(int)
        for qid in self.qrels.column("query_id").to_pylist():
            n_rel[qid] += 1
        out: dict[str, int | float] = {
            "products": self.products.num_rows,
            "product_types": len(set(self.products.column("product_type").to_pylist())),
            "categories": len(set(self.products.column("category").to_pylist())),
            "brands": len(set(self.products.column("brand").to_pylist())),
            "knowledge_needs": len(self.knowledge_base),
        }
        for qt in QTYPES:
            for split in ("train", "dev", "test"):
                out[f"queries_{qt}_{split}"] = sum(1 for r in q if r["qtype"] == qt and r["split"] == split)
        out["avg_relevant_per_query"] = round(sum(n_rel.values()) / max(1, len(q)), 1)
        out["min_relevant_per_query"] = min(n_rel.get(r["query_id"], 0) for r in q) if q else 0
        out["rewrite_examples"] = self.rewrite_examples.num_rows
        out["head_pairs"] = self.head_pairs.num_rows
        out["relevance_labels"] = self.relevance_labels.num_rows
        labels = self.relevance_labels.column("label").to_pylist()
        out["relevance_positive_rate"] = round(sum(labels) / max(1, len(labels)), 3)
        return out


def generate_world(seed: int = 0, n_products: int = 20000) -> World:
    """Build every table from scratch (deterministic; ~10 s for 20k products)."""
    products = generate_products(seed, n_products)
    index = ProductIndex([p["product_type"] for p in products], [p["brand"] for p in products],
                         [p["brand_tier"] for p in products], [p["price"] for p in products],
                         [json.loads(p["attributes"]) for p in products])
    all_queries, masks = build_queries(seed, index)
    queries = [q for q in all_queries if q["split"] != "extra"]
    ids = [p["product_id"] for p in products]
    qrels = {"query_id": [], "product_id": []}
    for q in queries:
        hits = masks[q["spec"]].nonzero()[0]
        qrels["query_id"] += [q["query_id"]] * len(hits)
        qrels["product_id"] += [ids[i] for i in hits]
    examples = build_rewrite_examples(seed, all_queries)
    head, head_specs = build_head_pairs(seed, products)
    world = World({"products": pa.Table.from_pylist(products), "queries": pa.Table.from_pylist(queries),
                   "qrels": pa.table(qrels), "rewrite_examples": pa.Table.from_pylist(examples),
                   "head_pairs": pa.Table.from_pylist(head), "relevance_labels": pa.table({})}, KNOWLEDGE_BASE, seed)
    labels = build_relevance_labels(seed, index, ids, world.product_texts(), head_specs,
                                    [q for q in queries if q["split"] == "train"])
    world.relevance_labels = pa.Table.from_pylist(labels)
    return world


def world_dir(seed: int, n_products: int) -> Path:
    return cache_dir() / f"world-s{seed}-n{n_products}"


def _save(world: World, path: Path) -> None:
    tmp = path.with_name(path.name + f".tmp{time.time_ns()}")
    tmp.mkdir(parents=True)
    for name in _TABLES:
        pq.write_table(getattr(world, name), tmp / f"{name}.parquet")
    (tmp / "knowledge_base.json").write_text(json.dumps(world.knowledge_base))
    (tmp / "meta.json").write_text(json.dumps({"version": VERSION, "seed": world.seed, "stats": world.stats()}))
    if path.exists():
        shutil.rmtree(path)
    tmp.rename(path)


def load_world(seed: int = 0, n_products: int = 20000, refresh: bool = False) -> World:
    """Load the cached world, generating and caching it first if missing, stale or ``refresh``."""
    path = world_dir(seed, n_products)
    meta = path / "meta.json"
    if not refresh and meta.exists() and json.loads(meta.read_text()).get("version") == VERSION:
        tables = {name: pq.read_table(path / f"{name}.parquet") for name in _TABLES}
        return World(tables, json.loads((path / "knowledge_base.json").read_text()), seed)
    world = generate_world(seed, n_products)
    _save(world, path)
    return world
