"""Assemble a ``SynthesisProgram`` from a ``SynthesisConfig`` and a catalog."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import dspy

from tailsynth.catalog import Catalog
from tailsynth.config import SynthesisConfig
from tailsynth.paths import cache_dir
from tailsynth.programs.general_relevance import GeneralRelevanceFilter, pair_input_of
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


def _business_dir(config: SynthesisConfig) -> Path:
    business_dir = Path(config.business_model) if config.business_model else default_business_model_dir()
    if not business_dir.exists():
        raise FileNotFoundError(
            f"no business relevance model at {business_dir}; train one with `tailsynth train relevance` "
            "or set business_model to a trained cross-encoder directory"
        )
    return business_dir


@dataclass
class ProgramSpec:
    """What builds a ``SynthesisProgram``: picklable, so an engine can ship it to workers that each
    build only the models of the one stage they run (``stage(name)``), once per worker."""

    config: SynthesisConfig
    catalog: Catalog
    index_dir: str | Path | None = None
    rewrite_demos: list[dspy.Example] | None = None

    def model_ids(self) -> dict[str, str]:
        from tailsynth.paths import minilm_dir

        config = self.config
        encoder = Path(config.encoder) if config.encoder else minilm_dir()
        return {
            "rewriter": config.rewriter.model_id,
            "general": config.general.model_id,
            "rewrite_filter": config.rewrite_filter.model_id,
            "relevance": config.relevance.model_id,
            "encoder": f"{encoder.resolve()}@64",  # Encoder.model_id at its default max_seq_length
            "business": str(_business_dir(config)),
        }

    def rewriter(self) -> Rewriter:
        config = self.config
        rewriter = Rewriter(
            k=config.k,
            lm=make_lm(config.rewriter),
            temperature=config.rewrite_temperature,
            max_tokens=config.rewrite_max_tokens,
            numbered=config.rewriter.api_base is None and numbered_lists(config.rewriter.model),
        )
        if config.rewrite_demo_selection == "nearest" and self.rewrite_demos and config.rewrite_demos:
            from tailsynth.programs.demos import NearestDemos

            rewriter.demo_picker = NearestDemos(self.rewrite_demos, self.encoder().encode, config.rewrite_demos)
        else:
            rewriter.predict.demos = list(self.rewrite_demos or [])[: config.rewrite_demos]
        return rewriter

    def rewrite_filter(self, scorer: Scorer | None = None) -> RewriteFilter:
        scorer = scorer or filter_scorers(self.config)[0]
        return RewriteFilter(scorer, drop_threshold=self.config.rewrite_drop_threshold)

    def general_filter(self, scorer: Scorer | None = None) -> GeneralRelevanceFilter:
        scorer = scorer or filter_scorers(self.config)[1]
        return GeneralRelevanceFilter(scorer, threshold=self.config.general_threshold,
                                      pair_input=pair_input_of(self.config.relevance.model))

    def encoder(self):
        from tailsynth.retrieval.encoder import Encoder

        return Encoder(self.config.encoder)

    def index(self):
        from tailsynth.retrieval.catalog_index import CatalogIndex

        return CatalogIndex.build_or_load(self.catalog.texts, self.catalog.ids, self.encoder(), self._index_dir())

    def index_cache(self) -> Path:
        """The folder of the built catalog index (``catalog_index.cache_path``), built first when
        missing: what index shards load their rows from (``retrieval.sharded_index``)."""
        from tailsynth.retrieval.catalog_index import cache_path, is_built
        from tailsynth.retrieval.encoder import encoder_id

        path = cache_path(self._index_dir(), encoder_id(self.config.encoder), self.catalog.texts, self.catalog.ids)
        if not is_built(path):
            self.index()
        return path

    def _index_dir(self) -> Path:
        return Path(self.index_dir or cache_dir() / "indexes")

    def business(self):
        from tailsynth.retrieval.business_relevance import CrossEncoderRelevance

        return CrossEncoderRelevance.load(_business_dir(self.config))

    def stage(self, name: str):
        """One stage of ``tailsynth.programs.stages`` with only its own models loaded."""
        from tailsynth.programs.stages import STAGES, make_stage

        models = dict(zip(STAGES, (self.rewriter, self.rewrite_filter, self.index, self.business, self.general_filter)))
        if name not in models:
            raise ValueError(f"unknown stage {name!r}; expected one of {STAGES}")
        return make_stage(name, models[name](), self.config, self.catalog)

    def program(self) -> SynthesisProgram:
        rewrite_scorer, relevance_scorer = filter_scorers(self.config)  # one shared scorer where they agree
        model_ids = self.model_ids()
        index = self.index()
        model_ids["encoder"] = index.encoder.model_id
        return SynthesisProgram(
            catalog=self.catalog,
            rewriter=self.rewriter(),
            rewrite_filter=self.rewrite_filter(rewrite_scorer),
            index=index,
            business=self.business(),
            general_filter=self.general_filter(relevance_scorer),
            config=self.config,
            model_ids=model_ids,
        )


def build_program(
    config: SynthesisConfig,
    catalog: Catalog,
    index_dir: str | Path | None = None,
    rewrite_demos: list[dspy.Example] | None = None,
) -> SynthesisProgram:
    """Every model named by ``config``; the FAISS index is built once per (encoder, catalog) and cached.

    ``rewrite_demos`` (``dspy.Example(query=..., rewrites=[...])``) become the rewriter's few-shot
    demos, at most ``config.rewrite_demos`` of them; with ``rewrite_demo_selection = "nearest"`` they
    are the pool each query's nearest demos are picked from.
    """
    spec = ProgramSpec(config, catalog, index_dir, rewrite_demos)
    program = spec.program()
    program.spec = spec  # what an engine ships to workers (tailsynth.engines)
    return program
