"""The ``demo`` command: demo world → trained business model → synthesis → funnel and accuracy.

Everything it builds is cached under ``cache_dir()``, so the second run only synthesizes. The
data comes through ``WorldSource`` (``tailsynth.sources``) like every other command's.
"""

from __future__ import annotations

from rich.console import Console

from tailsynth.catalog import Catalog
from tailsynth.config import LMConfig, SynthesisConfig
from tailsynth.programs.for_source import demos_for, ensure_business_model, source_index, source_program
from tailsynth.programs.synthesis import RunSummary
from tailsynth.sources import Source, as_source
from tailsynth.store import Store

console = Console()

__all__ = ["demo_config", "demos_for", "ensure_business_model", "run_demo", "synthesize_source", "world_catalog",
           "world_index", "world_program", "world_rewrite_demos"]


def world_catalog(world) -> Catalog:
    return as_source(world).catalog()


def world_index(world, encoder: str | None = None):
    return source_index(world, encoder)


def world_program(world, config: SynthesisConfig):
    return source_program(world, config)


def world_rewrite_demos(world, seed: int = 0) -> list:
    return as_source(world).rewrite_demos(seed)


def synthesize_source(source: Source, config: SynthesisConfig, store: Store, split: str = "test", per_type: int = 20,
                      run_id: str | None = None, progress: bool = True) -> RunSummary:
    """Synthesize pairs for ``per_type`` queries of each type of a split of the source."""
    source = as_source(source)
    queries = source.require("queries", split, limit=per_type)
    return source_program(source, config).run(queries, store, run_id=run_id, progress=progress)


def demo_config(relevance_model: str | None = None, general_threshold: float = 0.5) -> SynthesisConfig:
    """The demo's synthesis settings: smaller than the paper (top-100, the 20 or 50 best business
    survivors per query) so it fits ~15 min on 2 CPU cores, where the cross-encoder scores ~75-150
    pairs/s and the LM filter ~15. Everything else is the ``SynthesisConfig`` default."""
    return SynthesisConfig(rewriter=LMConfig(), max_general_per_query=50 if relevance_model else 20, top_k=100,
                           relevance_lm=LMConfig(model=relevance_model) if relevance_model else None,
                           general_threshold=general_threshold)


def run_demo(per_type: int = 20, store_path: str = "store.duckdb", seed: int = 0,
             relevance_model: str | None = None, general_threshold: float = 0.5) -> RunSummary:
    """The README's first command: world, models, synthesis of ``per_type`` test queries per type,
    then the funnel and the accuracy of what was kept, judged by the world's ground truth.
    ``relevance_model``: a trained general filter (``tailsynth train classifier --task general
    --method cross-encoder``) instead of the zero-shot packaged LM, kept at ``general_threshold``.
    The rewriter is the packaged SmolLM2 with few-shot demos (on 2 CPU cores the SFT does not yet
    beat few-shot prompting within the demo's time budget; pass its output with ``--rewriter``)."""
    from rich.table import Table

    from tailsynth.evals.pairs import pair_accuracy, rewrite_accuracy
    from tailsynth.sources.world import WorldSource

    source = WorldSource(seed=seed)
    world = source.world
    console.print(f"demo world: {world.stats()['products']} products, {len(world.queries)} queries")
    with Store(store_path) as store:
        summary = synthesize_source(source, demo_config(relevance_model, general_threshold), store, per_type=per_type)
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
