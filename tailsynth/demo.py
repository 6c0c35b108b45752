"""The embedded default, end to end: demo world → trained business model → synthesis → funnel.

Everything it builds is cached under ``cache_dir()``, so the second run only synthesizes.
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from tailsynth.catalog import Catalog
from tailsynth.config import SynthesisConfig
from tailsynth.programs.build import build_program, default_business_model_dir
from tailsynth.programs.synthesis import RunSummary
from tailsynth.store import Store

console = Console()


def world_catalog(world) -> Catalog:
    return Catalog(world.products.column("product_id").to_pylist(), world.product_texts())


def world_index(world, encoder: str | None = None):
    """The demo world's catalog as a cached FAISS index (the default encoder unless named)."""
    from tailsynth.paths import cache_dir
    from tailsynth.retrieval.catalog_index import CatalogIndex
    from tailsynth.retrieval.encoder import Encoder

    catalog = world_catalog(world)
    return CatalogIndex.build_or_load(catalog.texts, catalog.ids, Encoder(encoder), cache_dir() / "indexes")


def ensure_business_model(world, out_dir: Path | None = None, max_examples: int = 6000, seed: int = 0) -> Path:
    """Train the cross-encoder on the world's labelled train pairs unless it already exists."""
    from tailsynth.retrieval.business_relevance import BusinessRelevance, BusinessRelevanceConfig, is_model_dir

    out_dir = out_dir or default_business_model_dir()
    if is_model_dir(out_dir):
        return out_dir
    labels = world.relevance_labels.to_pylist()
    train = [r for r in labels if r["split"] == "train"][:max_examples]
    catalog = world_catalog(world)
    console.print(f"training business relevance cross-encoder on {len(train)} labelled pairs")
    model = BusinessRelevance.train(
        [r["query"] for r in train],
        [catalog.text(r["product_id"]) for r in train],
        [r["label"] for r in train],
        BusinessRelevanceConfig(seed=seed),
        out_dir=out_dir,
    )
    console.print(f"business relevance held-out metrics: {model.metrics}")
    return out_dir


def world_program(world, config: SynthesisConfig):
    """The synthesis program over the demo world's catalog, with its few-shot rewrite demos (see
    ``demos_for``) and (unless the config names one) the world-trained business relevance model."""
    if config.business_model is None:
        ensure_business_model(world)
    return build_program(config, world_catalog(world), rewrite_demos=demos_for(world, config))


def demos_for(world, config: SynthesisConfig) -> list | None:
    """The world's few-shot rewrite demos for the packaged or a served rewriter; None for a local
    rewriter directory: that is a fine-tuned one, trained on the zero-shot prompt, and demos would
    put it off the distribution it learned."""
    lm = config.rewriter
    if lm.model is not None and lm.api_base is None and Path(lm.model).is_dir():
        return None
    return world_rewrite_demos(world)


def synthesize_world(
    world,
    config: SynthesisConfig,
    store: Store,
    split: str = "test",
    per_type: int = 20,
    run_id: str | None = None,
    progress: bool = True,
) -> RunSummary:
    """Synthesize pairs for ``per_type`` queries of each type of a world split."""
    return world_program(world, config).run(world.query_rows(split, limit=per_type), store, run_id=run_id, progress=progress)


def run_demo(per_type: int = 20, store_path: str = "store.duckdb", seed: int = 0,
             relevance_model: str | None = None, general_threshold: float = 0.5) -> RunSummary:
    """The README's first command: world, models, synthesis of ``per_type`` test queries per type,
    then the funnel and the accuracy of what was kept, judged by the world's ground truth.
    ``relevance_model``: a trained general filter (``tailsynth train classifier --task general
    --method cross-encoder``) instead of the zero-shot packaged LM, kept at ``general_threshold``."""
    from rich.table import Table

    from tailsynth.config import LMConfig
    from tailsynth.evals.pairs import pair_accuracy, rewrite_accuracy
    from tailsynth.world import load_world

    world = load_world(seed=seed)
    console.print(f"demo world: {world.stats()['products']} products, {len(world.queries)} queries")
    # Smaller than the paper (top-200, all survivors) so the demo fits ~15 min on 2 CPU cores:
    # the cross-encoder scores ~75-150 pairs/s there and the LM filter ~15.
    config = SynthesisConfig(rewriter=ensure_rewriter(world), max_general_per_query=50 if relevance_model else 20, top_k=100,
                             relevance_lm=LMConfig(model=relevance_model) if relevance_model else None,
                             general_threshold=general_threshold)
    with Store(store_path) as store:
        summary = synthesize_world(world, config, store, per_type=per_type)
        pairs = pair_accuracy(store, summary.run_id, world.judge)
        rewrites = rewrite_accuracy(store, summary.run_id, world.rewrite_label)
    table = Table(title=f"run {summary.run_id}: funnel and accuracy vs ground truth")
    for col in ("type", "rewrites", "rewrite acc", "filter agrees", "pairs kept", "pair acc"):
        table.add_column(col, justify="right")
    for qtype in sorted(rewrites):
        r, p = rewrites[qtype], pairs.get(qtype, {"pairs": 0.0, "pair_accuracy": float("nan")})
        table.add_row(
            qtype, f"{r['rewrites']:.0f}", f"{r['rewrite_accuracy']:.1%}", f"{r['filter_agreement']:.1%}",
            f"{p['pairs']:.0f}", f"{p['pair_accuracy']:.1%}",
        )
    console.print(table)
    console.print(f"funnel: {summary.funnel}")
    console.print(f"inspect: duckdb {store_path} \"select * from pairs where kept limit 10\"  or  tailsynth inspect sample_pairs")
    return summary


def world_rewrite_demos(world, seed: int = 0) -> list:
    """One annotated (query → 5 rewrites) train example per query type, as few-shot demos."""
    import random

    import dspy

    rows = [r for r in world.rewrite_examples.to_pylist() if r["split"] == "train"]
    random.Random(seed).shuffle(rows)
    first: dict[str, dict] = {}
    for row in rows:
        first.setdefault(row["qtype"], row)
    return [dspy.Example(query=r["query"], rewrites=list(r["rewrites"])) for _, r in sorted(first.items())]


def ensure_rewriter(world):
    """The demo's rewriter: the packaged SmolLM2 with few-shot demos.

    On 2 CPU cores the SFT of issue #4 (``tailsynth train rewriter-sft``) does not yet beat
    few-shot prompting within the demo's time budget; pass its output with ``--rewriter PATH``.
    """
    from tailsynth.config import LMConfig

    return LMConfig()
