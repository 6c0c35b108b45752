"""The trained chain of a run: rewriter SFT → QSR and PDA reward models → RL with PDA (and
without, for Table 3) → rewrite filter → general filter, each feeding the next.

Each component is resolved once per config into a ``Component``: ``train`` (its section is in the
config and the chain's source can feed it: trained into ``work_dir/<stage>-<key>``), ``given`` (a
model of ``[models]``: the stage is skipped), ``fallback`` (its section is there but the source has
no data for it: the documented default of ``teacher.fallback_defaults``, said in one line) or
``off`` (no section: the packaged / configured default, as before the chain existed). A stage's key
is a fingerprint of its section, of the source's data and of the keys of the stages it consumes,
so changing the QSR section retrains QSR, both RL runs and everything downstream of the rewriter.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from tailsynth.runner.config import RunConfig, file_fingerprint, file_key, fingerprint

MODEL_STAGES = ("sft", "qsr", "pda", "rl", "rl_nopda", "rewrite_filter", "general_filter")
DONE_FILE = {"sft": "metrics.json", "qsr": "metrics.json", "pda": "metrics.json", "rl": "metrics.json",
             "rl_nopda": "metrics.json", "rewrite_filter": "classifier.json", "general_filter": "classifier.json"}
"""The file a trainer writes last: the stage is done when it exists."""
FALLBACK_LINE = {"sft": 0, "rl": 0, "rl_nopda": 0, "qsr": 1, "rewrite_filter": 2, "general_filter": 3}
"""Which line of ``teacher.fallback_defaults`` says what a stage falls back to."""


class ChainError(ValueError):
    """The chain cannot be built as configured (a stage needs a model nothing provides)."""


@dataclass(frozen=True)
class Component:
    stage: str
    mode: str  # train | given | fallback | off
    path: str | None = None  # the model dir: trained into, or given
    key: str | None = None  # fingerprint (train: of its config and inputs; given: of the path)
    note: str = ""
    from_run: str | None = None  # given by another run's trained chain ([models] from_run)


# ------------------------------------------------------------------------------------ source
def chain_source(config: RunConfig):
    """The ``Source`` the trained stages learn from (``[chain] source``)."""
    if config.chain.source == "demo":
        return _world_source(config.demo.seed, config.demo.world_products, config.demo.train_queries_per_type)
    from tailsynth.sources.files import FileSource

    return FileSource(config)


@lru_cache(maxsize=2)
def _world_source(seed: int, n_products: int, synthesis_per_type: int):
    """The world without the training queries the run's ``[demo]`` slice synthesizes for
    (``demo_files`` writes the first ``synthesis_per_type`` of each type): the rewriter, QSR and
    the filters never see their annotated rewrites or their labels."""
    from tailsynth.sources.world import WorldSource
    from tailsynth.world import load_world

    world = load_world(seed=seed, n_products=n_products)
    synthesized = frozenset(q["query_id"] for q in world.query_rows("train", limit=synthesis_per_type))
    return WorldSource(world, exclude_queries=synthesized)


def world_query_types(config: RunConfig) -> dict[str, str]:
    """Query id → type of every demo-world query, those the chain leaves out included."""
    source = _world_source(config.demo.seed, config.demo.world_products, 0)
    return {q["query_id"]: q["qtype"] for split in ("train", "dev", "test") for q in source.queries(split)}


def source_key(config: RunConfig) -> str:
    if config.chain.source == "demo":
        return fingerprint("demo-world", config.demo.seed, config.demo.world_products,
                           "without-synthesized", config.demo.train_queries_per_type)
    d = config.data
    files = [f for f in (d.catalog, d.baseline_pairs, d.business_labels, d.train_queries, d.test_queries, d.qrels) if f]
    return fingerprint([(f.path, file_fingerprint(f.path) if Path(f.path).exists() else "missing") for f in files])


def _feeds(config: RunConfig, stage: str) -> bool:
    """Whether the chain's source has the data a stage trains on (decided before any key is made)."""
    if stage == "pda":
        return True
    if config.chain.source == "demo":
        return True  # the demo world has every split, annotation and judgement
    source = chain_source(config)
    if stage == "general_filter":
        try:
            return bool(source.queries("dev")) and source.judgements() is not None
        except ValueError:  # unreadable files: validation reports them
            return False
    return bool(source.rewrite_examples("train")) and bool(source.rewrite_examples("dev"))


# ------------------------------------------------------------------------------------ resolve
def _local_dir(lm) -> str | None:
    return lm.model if lm is not None and lm.model and not lm.api_base else None


def _given(stage: str, config: RunConfig) -> str | None:
    m = config.models
    if stage in ("sft", "rl", "rl_nopda"):
        return m.rewriter.model if (m.rewriter.model or m.rewriter.api_base) else None
    return {"qsr": m.qsr, "pda": m.pda, "rewrite_filter": m.rewrite_filter and m.rewrite_filter.model,
            "general_filter": m.relevance and m.relevance.model}.get(stage)


def _section(config: RunConfig, stage: str):
    return config.rl if stage == "rl_nopda" else getattr(config, stage)


def work_dir(config: RunConfig) -> Path:
    return Path(config.output.work_dir)


def from_run(config: RunConfig) -> dict[str, Component]:
    """The chain of ``[models] from_run``'s config as ``given`` components of this run: its
    rewriter (RL w/ PDA, else SFT), QSR, PDA and both filters. Raises ``ChainError`` when that run
    has not trained them yet (run it first), or trains nothing."""
    from tailsynth.runner.config import load_from_run

    other = load_from_run(config.models.from_run)
    theirs = resolve(other)
    rewriter = final_rewriter(theirs)
    travel = [c for s, c in theirs.items() if s in ("qsr", "pda", "rewrite_filter", "general_filter")
              and c.mode in ("train", "given")] + ([rewriter] if rewriter is not None else [])
    if not travel:
        raise ChainError(f"[models] from_run = {config.models.from_run}: that run trains no chain stage")
    missing = [f"{c.stage} ({c.path})" for c in travel if not done(c)]
    if missing:
        raise ChainError(f"[models] from_run = {config.models.from_run}: its chain is not trained yet "
                         f"({', '.join(missing)}); run `tailsynth run --config {config.models.from_run}` first")
    out = {s: Component(s, "off") for s in MODEL_STAGES}
    for c in travel:
        out[c.stage] = Component(c.stage, "given", c.path, fingerprint("from-run", c.path, c.key),
                                 f"from run {other.name}: {c.path}", from_run=other.source)
    return out


def resolve(config: RunConfig) -> dict[str, Component]:
    """Every chain stage's ``Component``, keys chained; raises ``ChainError`` when RL lacks a reward model."""
    from tailsynth.teacher.fallback import fallback_defaults

    if config.models.from_run:
        return from_run(config)

    lines = fallback_defaults(None)
    src = source_key(config)
    out: dict[str, Component] = {}

    def component(stage: str, *inputs) -> Component:
        given = _given(stage, config)
        section = _section(config, stage)
        if stage == "rl_nopda" and not config.chain.rl_without_pda:
            return Component(stage, "off")
        if given:
            return Component(stage, "given", given, fingerprint("given", given), f"given: {given}")
        if section is None:
            return Component(stage, "off")
        if not _feeds(config, stage):
            return Component(stage, "fallback", note=f"fallback: {lines[FALLBACK_LINE[stage]]}")
        key = fingerprint(stage, section, src, config.models.encoder, *inputs)
        return Component(stage, "train", str(work_dir(config) / f"{stage}-{key}"), key)

    for stage in ("sft", "qsr", "pda"):
        out[stage] = component(stage)
    for stage in ("rl", "rl_nopda"):
        c = component(stage, out["sft"].key, out["qsr"].key, out["pda"].key if stage == "rl" else "no-pda")
        if c.mode == "train":
            needs = [("sft", "a rewriter to start from: add [sft]")] + [("qsr", "a QSR reward model: add [qsr] or give [models] qsr")]
            needs += [("pda", "a PDA LM: add [pda] or give [models] pda")] if stage == "rl" else []
            missing = [why for dep, why in needs if out[dep].mode not in ("train", "given")]
            if out["sft"].mode == "fallback":  # no rewrite examples: RL has no queries to learn on either
                c = Component(stage, "fallback", note=out["sft"].note)
            elif missing:
                raise ChainError(f"[rl] needs {'; '.join(missing)} ({lines[1]})")
        out[stage] = c
    out["rewrite_filter"] = component("rewrite_filter")
    out["general_filter"] = component("general_filter", file_key(config.data.catalog))  # its candidates come from that catalog
    return out


# ------------------------------------------------------------------------------------ what synthesis uses
def final_rewriter(chain: dict[str, Component]) -> Component | None:
    """The rewriter synthesis runs: RL w/ PDA, else SFT, else the given one (None: [models.rewriter] as is)."""
    for stage in ("rl", "sft"):
        if chain[stage].mode in ("train", "given"):
            return chain[stage]
    return None


def synthesis_models(config: RunConfig, chain: dict[str, Component], for_key: bool = False) -> dict:
    """``SynthesisConfig`` fields the chain decides: the rewriter and the two filters' LMs and
    thresholds. ``for_key``: thresholds of trained filters as their operating-point names (the
    numbers exist only once the filters are trained)."""
    from tailsynth.config import LMConfig

    fields: dict = {}
    rewriter = final_rewriter(chain)
    if rewriter is not None and (rewriter.mode == "train" or rewriter.from_run):
        fields["rewriter"] = LMConfig(model=rewriter.path, device=config.models.rewriter.device)
    for stage, lm_field, thr_field, point in (
            ("rewrite_filter", "rewrite_filter_lm", "rewrite_drop_threshold", config.chain.rewrite_operating_point),
            ("general_filter", "relevance_lm", "general_threshold", config.chain.general_operating_point)):
        c = chain[stage]
        if c.mode != "train" and not c.from_run:
            continue
        fields[lm_field] = LMConfig(model=c.path)
        if c.from_run:  # the operating point the other run chose on its dev set
            from tailsynth.runner.config import load_from_run

            chosen = load_from_run(c.from_run).chain
            point = chosen.rewrite_operating_point if stage == "rewrite_filter" else chosen.general_operating_point
        if for_key:
            fields[thr_field] = f"operating point {point or 'stored default'}"
        else:
            from tailsynth.classifiers.finetune import filter_threshold

            fields[thr_field] = filter_threshold(c.path, point)
    return fields


# ------------------------------------------------------------------------------------ training
def done(c: Component) -> bool:
    return c.mode != "train" or (Path(c.path) / DONE_FILE[c.stage]).exists()


def train(config: RunConfig, chain: dict[str, Component], stage: str, store=None, progress: bool = True) -> dict:
    """Train one stage on the chain's source with the existing trainer; returns its summary."""
    c = chain[stage]
    source = chain_source(config)
    section = _section(config, stage)
    own = {"out_dir": c.path}
    if stage in ("sft", "qsr", "pda", "rl", "rl_nopda", "rewrite_filter"):
        own["live"] = progress
    if stage == "sft":
        from tailsynth.training.sft import train_rewriter_sft

        train_rewriter_sft(source, dataclasses.replace(section, **own), store)
    elif stage == "qsr":
        from tailsynth.training.qsr import train_qsr

        train_qsr(source, dataclasses.replace(section, **own), store)
    elif stage == "pda":
        from tailsynth.training.pda import train_pda

        train_pda(source, dataclasses.replace(section, **own), store)
    elif stage in ("rl", "rl_nopda"):
        from tailsynth.training.reinforce import train_rewriter_rl

        cfg = dataclasses.replace(section, **own, policy=chain["sft"].path, qsr_model=chain["qsr"].path,
                                  pda_model=chain["pda"].path if stage == "rl" else None, use_pda=stage == "rl",
                                  run_id=f"{config.name}-{stage}-{c.key}")
        train_rewriter_rl(source, cfg, store)
    elif stage == "rewrite_filter":
        from tailsynth.classifiers.finetune import train_classifier

        train_classifier("rewrite", source, dataclasses.replace(section, **own, run_id=f"{config.name}-rewrite-filter"), store)
    elif stage == "general_filter":
        from tailsynth.classifiers.cross_encoder import train_cross_encoder_classifier

        train_cross_encoder_classifier(source, dataclasses.replace(section, **own), index=judged_catalog_index(config))
    return {"path": c.path, "metrics": summary(c)}


def judged_catalog_index(config: RunConfig):
    """The index of the catalog synthesis retrieves from (the run's ``[data.catalog]``), cached in
    the run's index folder, which synthesis then reuses. The general filter's synthesis-shaped
    candidates come from it: the filter learns on the products it will judge, and a demo-world
    chain does not encode the whole 20k-product world for a 2k-product run (about 300 s of the
    small profile)."""
    from tailsynth.retrieval.catalog_index import CatalogIndex
    from tailsynth.retrieval.encoder import Encoder
    from tailsynth.sources.files import FileSource

    catalog = FileSource(config).catalog()
    return CatalogIndex.build_or_load(catalog.texts, catalog.ids, Encoder(config.models.encoder),
                                      work_dir(config) / "indexes")


def summary(c: Component) -> dict:
    """A trained stage's summary metrics: ``metrics.json`` without its config; a filter's dev
    metrics from ``classifier.json`` (thresholds and operating points included)."""
    import json

    path = Path(c.path)
    if c.stage in ("rewrite_filter", "general_filter"):
        info = json.loads((path / "classifier.json").read_text())
        return {f"dev_{k}": v for k, v in info.get("dev", {}).items()} | {"threshold": info.get("filter_threshold")}
    out = json.loads((path / "metrics.json").read_text()) if (path / "metrics.json").exists() else {}
    return {k: v for k, v in out.items() if k != "config"}
