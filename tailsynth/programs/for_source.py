"""The synthesis program over a ``Source``: its catalog, its business relevance model (trained on
its labels when missing) and, for the packaged or a served rewriter, its few-shot rewrite demos."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from tailsynth.config import SynthesisConfig
from tailsynth.programs.build import build_program
from tailsynth.sources import MissingData, Source, as_source

console = Console()


def ensure_business_model(source: Source, out_dir: Path | None = None, max_examples: int | None = None) -> Path:
    """Train the cross-encoder on the source's labelled train pairs unless it already exists
    (default dir: ``source.business_model_dir()``; ``max_examples`` default: the source's limit)."""
    from tailsynth.retrieval.business_relevance import BusinessRelevance, is_model_dir

    source = as_source(source)
    out_dir = Path(out_dir) if out_dir else source.business_model_dir()
    if is_model_dir(out_dir):
        return out_dir
    limit = max_examples if max_examples is not None else source.business_label_limit
    train = source.require("business_labels", "train")[:limit]
    console.print(f"training business relevance cross-encoder on {len(train)} labelled pairs")
    queries, texts, labels = (list(x) for x in zip(*train))
    model = BusinessRelevance.train(queries, texts, labels, source.business_train_config(), out_dir=out_dir)
    console.print(f"business relevance held-out metrics: {model.metrics}")
    return out_dir


def rewrite_pool(source: Source, k: int) -> list:
    """The source's annotated training rewrites as demos (``programs.demos.rewrite_example``): the
    pool ``rewrite_demo_selection = "nearest"`` picks from; [] when the source has none."""
    from tailsynth.programs.demos import rewrite_example

    return [rewrite_example(r["query"], r["rewrites"], k) for r in as_source(source).rewrite_examples("train") or []]


def demos_for(source: Source, config: SynthesisConfig) -> list | None:
    """The source's few-shot rewrite demos for the packaged or a served rewriter; None for a local
    rewriter directory: that is a fine-tuned one, trained on the zero-shot prompt, and fixed demos
    would put it off the distribution it learned. A source without demos runs the rewriter zero-shot.
    With ``rewrite_demo_selection = "nearest"``: the source's whole pool, for any rewriter (asked
    for by name; on the demo world even the 60-step SFT rewriter writes 31 relevant rewrites of 48
    with its nearest demos against 2 of 28 without, 2026-12-02)."""
    if config.rewrite_demo_selection == "nearest":
        pool = rewrite_pool(source, config.k)
        if not pool:
            raise MissingData(f"{as_source(source).name}: rewrite_demo_selection = 'nearest' picks demos from annotated "
                              f"rewrite examples; {as_source(source).hint('rewrite_examples')}")
        return pool
    lm = config.rewriter
    if lm.model is not None and lm.api_base is None and Path(lm.model).is_dir():
        return None
    return as_source(source).rewrite_demos()


def source_program(source: Source, config: SynthesisConfig):
    """``build_program`` over the source's catalog; without ``config.business_model`` the source's
    own business model (trained first if missing)."""
    import dataclasses

    from tailsynth.programs.build import default_business_model_dir

    source = as_source(source)
    if config.business_model is None:
        trained = ensure_business_model(source)
        if trained != default_business_model_dir():  # the default dir stays implicit (same run id as before)
            config = dataclasses.replace(config, business_model=str(trained))
    return build_program(config, source.catalog(), rewrite_demos=demos_for(source, config))


def source_index(source: Source, encoder: str | None = None):
    """The source's catalog as a cached FAISS index (the default encoder unless named)."""
    from tailsynth.paths import cache_dir
    from tailsynth.retrieval.catalog_index import CatalogIndex
    from tailsynth.retrieval.encoder import Encoder

    catalog = as_source(source).catalog()
    return CatalogIndex.build_or_load(catalog.texts, catalog.ids, Encoder(encoder), cache_dir() / "indexes")
