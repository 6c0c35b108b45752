"""``WorldSource``: the demo world as a ``Source`` (the only door to ``tailsynth.world`` outside the
world generator and the ``demo`` command). It has everything, including ground truth for rewrites."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

from tailsynth.catalog import Catalog
from tailsynth.sources.base import Judgements, Source, per_type


class WorldSource(Source):
    """``WorldSource()`` loads the cached 20,000-product demo world on first use;
    ``WorldSource(world)`` wraps one already loaded (e.g. a small test world).

    ``exclude_queries``: query ids this source does not show as queries or rewrite examples (their
    truth stays judged). A chain trained on the world for a run that synthesizes pairs for some
    of the world's training queries leaves those out, so no stage learns their labels or their
    annotated rewrites before it is judged on them."""

    business_label_limit = 6000  # the demo's business model: a few minutes on 2 CPU cores

    def __init__(self, world=None, seed: int = 0, n_products: int = 20000, exclude_queries: frozenset[str] = frozenset()):
        self._world, self.seed, self.n_products = world, seed, n_products
        self.exclude_queries = frozenset(exclude_queries)
        self.name = "demo world" if world is None else f"demo world ({world.products.num_rows} products)"
        if self.exclude_queries:
            self.name += f" without {len(self.exclude_queries)} queries"

    @property
    def world(self):
        if self._world is None:
            from tailsynth.world import load_world

            self._world = load_world(seed=self.seed, n_products=self.n_products)
        return self._world

    @cached_property
    def _catalog(self) -> Catalog:
        w = self.world
        return Catalog(w.products.column("product_id").to_pylist(), w.product_texts(), w.product_attributes(),
                       w.products.column("brand").to_pylist(), w.products.column("price").to_pylist())

    def catalog(self) -> Catalog:
        return self._catalog

    def queries(self, split: str = "test", qtype: str | None = None, limit: int | None = None) -> list[dict]:
        rows = [q for q in self.world.query_rows(split, qtype=qtype) if q["query_id"] not in self.exclude_queries]
        return per_type(rows, limit)

    def judgements(self) -> Judgements:
        return Judgements(self.world.judge, self.world.relevant_ids)

    def baseline_pairs(self) -> list[tuple[str, str]]:
        catalog = self.catalog()
        head = self.world.head_pairs
        return [(q, catalog.text(p)) for q, p in zip(head.column("query").to_pylist(), head.column("product_id").to_pylist())]

    def business_labels(self, split: str = "train") -> list[tuple[str, str, int]]:
        catalog = self.catalog()
        return [(r["query"], catalog.text(r["product_id"]), int(r["label"]))
                for r in self.world.relevance_labels.to_pylist() if r["split"] == split]

    def rewrite_examples(self, split: str = "train") -> list[dict]:
        return [r for r in self.world.rewrite_examples.to_pylist()
                if r["split"] == split and r["query_id"] not in self.exclude_queries]

    def rewrite_labeler(self):
        return self.world.rewrite_label

    def rewrite_demos(self, seed: int = 0) -> list:
        """One annotated (query → 5 rewrites) train example per query type."""
        import random

        import dspy

        rows = self.rewrite_examples("train")
        random.Random(seed).shuffle(rows)
        first: dict[str, dict] = {}
        for row in rows:
            first.setdefault(row["qtype"], row)
        return [dspy.Example(query=r["query"], rewrites=list(r["rewrites"])) for _, r in sorted(first.items())]

    def product_facets(self) -> dict[str, tuple[str, str]]:
        p = self.world.products
        return dict(zip(p.column("product_id").to_pylist(),
                        zip(p.column("product_type").to_pylist(), p.column("category").to_pylist())))

    def product_documents(self) -> tuple[list[str], list[str]]:
        titles = self.world.products.column("title").to_pylist()
        descriptions = self.world.products.column("description").to_pylist()
        return [f"{t}\n{d}" for t, d in zip(self.world.product_texts(), descriptions)], titles

    def business_model_dir(self) -> Path:
        from tailsynth.programs.build import default_business_model_dir

        return default_business_model_dir()


def write_demo_slice(demo) -> dict[str, Path]:
    """A ``[demo]`` section of a run config: the demo world's tables written as a user's files."""
    from tailsynth.runner.demo_files import write_demo_files
    from tailsynth.world import load_world

    return write_demo_files(load_world(seed=demo.seed, n_products=demo.world_products), demo.dir, demo.products,
                            demo.train_queries_per_type, demo.test_queries_per_type, demo.baseline_pairs,
                            demo.business_labels)
