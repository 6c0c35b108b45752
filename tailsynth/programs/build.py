"""Assemble a ``SynthesisProgram`` from a ``SynthesisConfig`` and a catalog."""

from __future__ import annotations

from pathlib import Path

import dspy

from tailsynth.catalog import Catalog
from tailsynth.config import SynthesisConfig
from tailsynth.paths import cache_dir
from tailsynth.programs.general_relevance import GeneralRelevanceFilter
from tailsynth.programs.rewrite_filter import RewriteFilter
from tailsynth.programs.rewriter import Rewriter, numbered_lists
from tailsynth.programs.synthesis import SynthesisProgram
from tailsynth.serving import Scorer, make_lm, make_scorer


def default_business_model_dir() -> Path:
    return cache_dir() / "models" / "business-relevance"


def filter_scorers(config: SynthesisConfig) -> tuple[Scorer, Scorer]:
    """(rewrite filter scorer, relevance filter scorer): one shared scorer of ``general`` unless a
    filter has an LM of its own (models load lazily, on first use)."""
    shared = make_scorer(config.general)
    rewrite = shared if config.rewrite_filter_lm is None else make_scorer(config.rewrite_filter)
    relevance = shared if config.relevance_lm is None else make_scorer(config.relevance)
    return rewrite, relevance


def build_program(
    config: SynthesisConfig,
    catalog: Catalog,
    index_dir: str | Path | None = None,
    rewrite_demos: list[dspy.Example] | None = None,
) -> SynthesisProgram:
    """Every model named by ``config``; the FAISS index is built once per (encoder, catalog) and cached.

    ``rewrite_demos`` (``dspy.Example(query=..., rewrites=[...])``) become the rewriter's few-shot
    demos, at most ``config.rewrite_demos`` of them.
    """
    from tailsynth.retrieval.business_relevance import BusinessRelevance
    from tailsynth.retrieval.catalog_index import CatalogIndex
    from tailsynth.retrieval.encoder import Encoder

    business_dir = Path(config.business_model) if config.business_model else default_business_model_dir()
    if not business_dir.exists():
        raise FileNotFoundError(
            f"no business relevance model at {business_dir}; train one with `tailsynth train relevance` "
            "or set business_model to a trained cross-encoder directory"
        )
    rewrite_scorer, relevance_scorer = filter_scorers(config)
    encoder = Encoder(config.encoder)
    index = CatalogIndex.build_or_load(catalog.texts, catalog.ids, encoder, index_dir or cache_dir() / "indexes")
    rewriter = Rewriter(
        k=config.k,
        lm=make_lm(config.rewriter),
        temperature=config.rewrite_temperature,
        max_tokens=config.rewrite_max_tokens,
        numbered=config.rewriter.api_base is None and numbered_lists(config.rewriter.model),
    )
    rewriter.predict.demos = list(rewrite_demos or [])[: config.rewrite_demos]
    model_ids = {
        "rewriter": config.rewriter.model_id,
        "general": config.general.model_id,
        "rewrite_filter": config.rewrite_filter.model_id,
        "relevance": config.relevance.model_id,
        "encoder": encoder.model_id,
        "business": str(business_dir),
    }
    return SynthesisProgram(
        catalog=catalog,
        rewriter=rewriter,
        rewrite_filter=RewriteFilter(rewrite_scorer, drop_threshold=config.rewrite_drop_threshold),
        index=index,
        business=BusinessRelevance.load(business_dir),
        general_filter=GeneralRelevanceFilter(relevance_scorer, threshold=config.general_threshold),
        config=config,
        model_ids=model_ids,
    )
