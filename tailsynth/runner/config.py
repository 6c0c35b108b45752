"""``RunConfig``: the whole method on your own catalog, from one TOML file.

Sections: ``[data.*]`` (one table per input file, with its column mapping), ``[models]``,
``[business]`` (BusinessRelevanceConfig), ``[synthesis]`` (SynthesisConfig), ``[engine]``
(``engines.EngineConfig``: which engine runs synthesis; no part of any key), ``[retriever]``
(RetrieverTrainConfig), ``[eval]``, ``[output]`` and optionally ``[demo]`` (write the demo world's
tables to the data paths first). Relative paths are relative to the TOML file. Unknown keys are
rejected with the list of known ones.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from dataclasses import asdict, dataclass, field, is_dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from tailsynth.calibration import RULES as CALIBRATION_RULES
from tailsynth.config import LMConfig, SynthesisConfig, from_dict
from tailsynth.engines.config import EngineConfig
from tailsynth.retrieval.business_relevance import BusinessRelevanceConfig
from tailsynth.retrieval.trainer import RetrieverTrainConfig


@dataclass
class CatalogFile:
    path: str = ""
    id_col: str = "id"
    title_col: str = "title"
    description_col: str | None = None
    attributes_col: str | None = None
    brand_col: str | None = None  # with price_col: the alternative filter (SynthesisConfig.alternative_filter)
    price_col: str | None = None


@dataclass
class PairsFile:
    """Baseline retriever data: (query text, product id) rows, e.g. head-query click logs.
    With ``grade_col`` a row is a positive when its grade is >= ``min_grade``."""

    path: str = ""
    query_col: str = "query"
    product_col: str = "product_id"
    grade_col: str | None = None
    min_grade: float = 1
    grade_range: list[float] = field(default_factory=lambda: [0, 3])
    limit: int | None = None


@dataclass
class LabelsFile:
    """Business relevance training data: (query text, product id, graded label); binary label =
    ``label >= positive_min``."""

    path: str = ""
    query_col: str = "query"
    product_col: str = "product_id"
    label_col: str = "label"
    positive_min: float = 1
    label_range: list[float] = field(default_factory=lambda: [0, 1])
    limit: int | None = None


@dataclass
class QueriesFile:
    """Queries: id, text and an optional type column (missing/blank types are classified)."""

    path: str = ""
    id_col: str = "query_id"
    text_col: str = "text"
    qtype_col: str | None = "qtype"
    limit: int | None = None


@dataclass
class QrelsFile:
    """Eval judgements: (query id, product id, grade); relevant when grade >= ``min_grade``."""

    path: str = ""
    query_col: str = "query_id"
    product_col: str = "product_id"
    grade_col: str | None = "grade"
    min_grade: int = 1
    grade_range: list[int] = field(default_factory=lambda: [0, 3])


@dataclass
class DataConfig:
    catalog: CatalogFile = field(default_factory=CatalogFile)
    baseline_pairs: PairsFile = field(default_factory=PairsFile)
    business_labels: LabelsFile = field(default_factory=LabelsFile)
    train_queries: QueriesFile = field(default_factory=QueriesFile)
    test_queries: QueriesFile = field(default_factory=QueriesFile)
    qrels: QrelsFile | None = None  # None: the general relevance LM judges (reported as such)


@dataclass
class ModelsConfig:
    rewriter: LMConfig = field(default_factory=LMConfig)
    general: LMConfig = field(default_factory=LMConfig)
    rewrite_filter: LMConfig | None = None  # None: `general` judges rewrites
    relevance: LMConfig | None = None  # None: `general` judges (query, product) pairs
    encoder: str | None = None  # dense retrieval in synthesis, the untrained row, the retrievers' base
    # The chain's other components, given instead of trained (see ChainConfig): a stage whose model
    # is given here is skipped and recorded as "given".
    qsr: str | None = None  # QSR reward model dir (`train qsr` output)
    pda: str | None = None  # PDA LM dir (`train pda` output)
    business: str | None = None  # business relevance cross-encoder dir (`train relevance` output)
    # Models that travel: another run config (e.g. examples/paper.toml) whose trained chain gives this
    # run its rewriter, QSR, PDA and both filters (at that run's [chain] operating points); the
    # business model is still trained on this run's own head judgements (runner.chain.from_run).
    from_run: str | None = None

    @property
    def judge(self) -> LMConfig:
        """The LM that judges (query, product) pairs: the relevance filter's, and the eval judge without qrels."""
        return self.relevance or self.general

    def lms(self) -> list[LMConfig]:
        return [lm for lm in (self.rewriter, self.general, self.rewrite_filter, self.relevance) if lm is not None]


@dataclass
class EvalConfig:
    k: int = 200
    judge_threshold: float = 0.5  # LM judge (no qrels): relevant when p_yes >= this
    qtype_method: str = "learned"  # evals.query_type.classify method for missing types
    sbs_top: int = 10


@dataclass
class OutputConfig:
    store: str = "store.duckdb"
    report_dir: str = "report"
    work_dir: str = "tailsynth-work"  # trained models, indexes, stage markers


@dataclass
class DemoConfig:
    """Write the demo world's tables into ``dir`` before the run (skipped when they exist)."""

    dir: str = ".cache/tailsynth/demo_run"
    seed: int = 0
    world_products: int = 3000
    products: int | None = 300
    train_queries_per_type: int = 2
    test_queries_per_type: int = 2
    baseline_pairs: int | None = 400
    business_labels: int | None = 400


@dataclass
class RunConfig:
    name: str = "run"
    data: DataConfig = field(default_factory=DataConfig)
    models: ModelsConfig = field(default_factory=ModelsConfig)
    business: BusinessRelevanceConfig = field(default_factory=BusinessRelevanceConfig)
    synthesis: SynthesisConfig = field(default_factory=SynthesisConfig)
    engine: EngineConfig = field(default_factory=EngineConfig)
    """Where synthesis runs (``kind = "local"`` / ``"ray"``, ``address``, ``num_workers``,
    ``index_shards``, ...). Left out of every fingerprint: both engines write the same pairs by
    design, so a run keeps its keys whichever engine runs it (``engines.config``)."""
    retriever: RetrieverTrainConfig = field(default_factory=RetrieverTrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    output: OutputConfig = field(default_factory=OutputConfig)
    demo: DemoConfig | None = None
    # The trained chain (runner.chain); see the block "The paper's chain" below.
    chain: "ChainConfig" = field(default_factory=lambda: ChainConfig())
    sft: "SFTConfig | None" = None
    qsr: "QSRConfig | None" = None
    pda: "PDAConfig | None" = None
    rl: "RLConfig | None" = None
    rewrite_filter: "ClassifierConfig | None" = None
    general_filter: "CrossEncoderClassifierConfig | None" = None
    calibration: "CalibrationConfig | None" = None
    guards: "GuardConfig" = field(default_factory=lambda: GuardConfig())
    source: str | None = None  # the TOML file it came from (not part of any fingerprint)

    def synthesis_config(self, business_dir: str | Path) -> SynthesisConfig:
        """``[synthesis]`` with the models of ``[models]`` and the trained business model."""
        import dataclasses

        m = self.models
        return dataclasses.replace(self.synthesis, rewriter=m.rewriter, general=m.general, rewrite_filter_lm=m.rewrite_filter,
                                   relevance_lm=m.relevance, encoder=m.encoder, business_model=str(business_dir))


_OPTIONAL_SECTIONS = {(DataConfig, "qrels"): QrelsFile, (RunConfig, "demo"): DemoConfig}
# (the chain's optional sections are added to _OPTIONAL_SECTIONS in the block below)
_MODEL_KEYS = {"rewriter", "general", "rewrite_filter_lm", "relevance_lm", "encoder", "business_model"}


def _build(cls: type, data: dict[str, Any], where: str) -> Any:
    return from_dict(cls, data, where, _OPTIONAL_SECTIONS)


def run_config_from_dict(data: dict[str, Any], base_dir: str | Path = ".") -> RunConfig:
    """Build and resolve a ``RunConfig``: relative paths become absolute against ``base_dir``."""
    synthesis = data.get("synthesis", {})
    clash = _MODEL_KEYS & set(synthesis)
    if clash:
        raise ValueError(f"[synthesis]: {sorted(clash)} come from [models] (and the trained business model); "
                         "set them there")
    _check_chain_sections(data)
    config = _build(RunConfig, data, "")
    _resolve_paths(config, Path(base_dir))
    _resolve_chain(config, Path(base_dir))
    for name in ("train_queries", "test_queries"):
        if not getattr(config.data, name).path:
            raise ValueError(f"[data.{name}]: path is required")
    for name in ("catalog", "baseline_pairs", "business_labels"):
        if not getattr(config.data, name).path:
            raise ValueError(f"[data.{name}]: path is required")
    return config


def load_run_config(path: str | Path) -> RunConfig:
    """A run config from its TOML file (and the files it ``extends``)."""
    path = Path(path)
    data = read_toml(path)
    try:
        config = run_config_from_dict(data, path.parent)
    except ValueError as err:
        raise ValueError(f"{path}: {err}") from None
    config.source = str(path.resolve())
    return config


def read_toml(path: Path) -> dict[str, Any]:
    """The TOML's tables, over those of the config it names in ``extends`` (deep-merged: a table
    merges key by key, any other value replaces). A profile of a run is then only what differs
    (``examples/paper_gpu.toml`` extends ``paper.toml``). The base sits in the same directory, so
    every relative path in either file means the same thing."""
    merged: dict[str, Any] = {}
    for _, data in reversed(_extends_chain(path)):
        merged = _merged(merged, data)
    return merged


def _extends_chain(path: Path) -> list[tuple[Path, dict[str, Any]]]:
    """``(file, its tables without extends)`` of the config and each base it extends, in that order."""
    chain: list[tuple[Path, dict[str, Any]]] = []
    while True:
        if not path.exists():
            raise FileNotFoundError(f"config {path} does not exist")
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as err:
            raise ValueError(f"{path}: invalid TOML ({err})") from None
        base = data.pop("extends", None)
        chain.append((path, data))
        if base is None:
            return chain
        if not isinstance(base, str) or Path(base).name != base:
            raise ValueError(f"{path}: extends must name a config file in the same directory, got {base!r}")
        if (path.parent / base).resolve() in {p.resolve() for p, _ in chain}:
            raise ValueError(f"{path}: extends {base} goes round in a circle")
        path = path.parent / base


def _merged(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        out[key] = _merged(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def load_from_run(path: str | Path) -> RunConfig:
    """``[models] from_run``'s config, parsed once per version of its files (it and the ones it
    ``extends``): planning one run reads it for the chain, the synthesis models and the rewriter's home."""
    resolved = Path(path).resolve()
    versions = tuple(p.stat().st_mtime_ns for p, _ in _extends_chain(resolved))  # raises on a missing or bad file
    return _load_cached(str(resolved), versions)


@lru_cache(maxsize=8)
def _load_cached(path: str, versions: tuple[int, ...]) -> RunConfig:
    return load_run_config(path)


def _abs(base: Path, p: str | None) -> str | None:
    if not p:
        return p
    q = Path(p).expanduser()
    return str(q if q.is_absolute() else (base / q).resolve())


def _resolve_paths(config: RunConfig, base: Path) -> None:
    d = config.data
    for f in (d.catalog, d.baseline_pairs, d.business_labels, d.train_queries, d.test_queries, d.qrels):
        if f is not None:
            f.path = _abs(base, f.path)
    o = config.output
    o.store, o.report_dir, o.work_dir = _abs(base, o.store), _abs(base, o.report_dir), _abs(base, o.work_dir)
    if config.demo is not None:
        config.demo.dir = _abs(base, config.demo.dir)
    for lm in config.models.lms():
        if lm.model and not lm.api_base and (lm.model.startswith(".") or "/" in lm.model):
            lm.model = _abs(base, lm.model)
        lm.model = lm.model or None
    config.models.encoder = _abs(base, config.models.encoder) or None  # "" means the packaged default


def fingerprint(*parts: Any) -> str:
    """A short stable hash of JSON-able parts (dataclasses allowed)."""
    norm = [asdict(p) if is_dataclass(p) else p for p in parts]
    return hashlib.sha256(json.dumps(norm, sort_keys=True, default=str).encode()).hexdigest()[:12]


def file_fingerprint(path: str | Path) -> str:
    """The file's content hash; a directory or other non-file gets a marker (validation names the
    problem; a key must not crash before it can)."""
    if not Path(path).is_file():
        return "not-a-file"
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


def file_key(section) -> str | None:
    """Key of a ``[data.*]`` section: its settings and its file's content ("missing" before it exists)."""
    if section is None:
        return None
    path = Path(section.path)
    return fingerprint(section, file_fingerprint(path) if path.exists() else "missing")


# ------------------------------------------------------------------------------------ the paper's chain
# Stage sections of the trained chain (runner.chain). A section present trains that component on
# the chain's source; absent, the component is the given one of [models] (recorded "given") or the
# packaged default. The chain sets what connects the stages (output dirs, the policy RL starts
# from, the reward models it uses, the filters' thresholds), so those keys are refused here.
from tailsynth.classifiers.cross_encoder import CrossEncoderClassifierConfig  # noqa: E402
from tailsynth.classifiers.finetune import ClassifierConfig  # noqa: E402
from tailsynth.guards.checks import GuardConfig  # noqa: E402
from tailsynth.training.pda import PDAConfig  # noqa: E402
from tailsynth.training.qsr import QSRConfig  # noqa: E402
from tailsynth.training.reinforce import RLConfig  # noqa: E402
from tailsynth.training.sft import SFTConfig  # noqa: E402


@dataclass
class ChainConfig:
    """What connects the chain's stages, and the tables after them.

    ``source``: what the trained stages learn from. ``"data"``: the run's own files (a FileSource;
    it has no annotated rewrites, so SFT / QSR / RL / the rewrite filter fall back, one line each,
    to ``teacher.fallback_defaults``); ``"demo"``: the demo world of the ``[demo]`` section (the
    data files are a slice of it, so its ground truth also judges the training queries' pairs).
    """

    source: str = "data"
    rl_without_pda: bool = True  # also train RL w/o PDA (Table 3's ablation row)
    general_operating_point: str | None = "precision=0.9"  # a stored dev operating point of the general filter
    rewrite_operating_point: str | None = None  # None: the rewrite filter's stored default (target recall on dev)
    # A held-out operating point of the trained business model ("recall=0.9", "precision=0.9"), chosen on
    # the rows of [data.business_labels] it did not train on; None: [synthesis] business_threshold as given.
    business_operating_point: str | None = None
    table3_per_type: int = 10  # test queries per type for Table 3 (needs a source with a rewrite labeler); 0: no Table 3
    audit_pairs: int = 200  # kept pairs audited (by the judge) or exported for review (without one)
    # Judgements of the training queries' products (reviewed audit labels, or a held-out truth such
    # as the shifted world's audit/train_qrels.parquet): they judge the audit, Table 2 and the true-pair
    # funnel, and nothing trains on them. Columns query_id, product_id, grade (relevant at grade >= 1).
    audit_qrels: str | None = None

    def __post_init__(self) -> None:
        if self.source not in CHAIN_SOURCES:
            raise ValueError(f"source must be one of {CHAIN_SOURCES}, got {self.source!r}")
        if self.table3_per_type < 0:
            raise ValueError(f"table3_per_type must be >= 0 (0: no Table 3), got {self.table3_per_type}")
        if self.business_operating_point is not None:
            from tailsynth.thresholds import parse_point

            parse_point(self.business_operating_point)


CALIBRATION_REWRITERS = ("chain", "configured")


@dataclass
class CalibrationConfig:
    """``[calibration]``: choose the synthesis program's operating point (a keep rule per query type
    over the three scores, or business and general thresholds with retrieval-score floors per
    query type) on its own output for judged dev queries
    (``tailsynth.calibration``, ``runner.calibrate``), instead of each filter's own dev rows. With
    it, the thresholds have this one home: ``[chain] business_operating_point`` /
    ``general_operating_point`` and ``[synthesis]`` thresholds and floors are refused."""

    queries_per_type: int = 5
    """Dev queries of each type the program runs on (the chain source's ``dev`` split)."""
    target_precision: float = 0.85
    rule: str = "floors"
    """``floors``: the two models' thresholds at a recall (``business_recalls`` /
    ``general_recalls``), then a retrieval floor per type; ``combined``: per query type, the
    retrieval, business and general scores weighed together by a logistic regression on the dev
    candidates, thresholded at the target (``tailsynth.calibration``). On the training queries the
    floors do as well on the demo, the rule better on the paper run (results/calibration_rules*)."""
    per_type: bool = True
    """A rule or floor per query type (queries carry their type); else one for all."""
    min_pairs: int = 5
    """Dev pairs a floor must keep to count."""
    rewriters: tuple[str, ...] = ("chain",)
    """The rewriters tried, each in its own dev run; the one whose calibrated dev pairs reach the
    target on the most types, then are the most, writes the synthesis rewrites. ``chain``: the
    rewriter the chain trained (RL w/ PDA, else SFT); ``configured``: ``[models.rewriter]`` as
    given, without the chain (the packaged SmolLM2 by default), with the same demos."""
    business_recalls: tuple[float, ...] = (1.0, 0.95, 0.9)
    general_recalls: tuple[float, ...] = (1.0, 0.95, 0.9, 0.8, 0.7, 0.6, 0.5)
    """Recall levels (of the true dev candidates) the two models' thresholds are tried at; 1.0 passes all.
    The general filter's go down to 0.5: one that reads the retrieving rewrite (``pair_input``) is the
    sharpest signal of the program (dev AUC 0.849 against the retrieval score's 0.816,
    results/candidate_signals), so giving up recall there can keep more pairs at the target than
    any retrieval floor does."""

    def __post_init__(self) -> None:
        if self.queries_per_type < 1 or self.min_pairs < 1:
            raise ValueError("queries_per_type and min_pairs must be >= 1")
        if not 0.0 < self.target_precision <= 1.0:
            raise ValueError(f"target_precision must be in (0, 1], got {self.target_precision!r}")
        if self.rule not in CALIBRATION_RULES:
            raise ValueError(f"rule must be one of {CALIBRATION_RULES}, got {self.rule!r}")
        self.rewriters = tuple(self.rewriters)
        unknown = [r for r in self.rewriters if r not in CALIBRATION_REWRITERS]
        if not self.rewriters or unknown or len(set(self.rewriters)) != len(self.rewriters):
            raise ValueError(f"rewriters must be distinct names of {CALIBRATION_REWRITERS}, got {self.rewriters!r}")
        for name in ("business_recalls", "general_recalls"):
            values = tuple(getattr(self, name))
            if not values or not all(0.0 < v <= 1.0 for v in values):
                raise ValueError(f"{name} must be recalls in (0, 1], got {values!r}")
            setattr(self, name, values)


CHAIN_SOURCES = ("data", "demo")
CHAIN_SECTIONS = {"sft": SFTConfig, "qsr": QSRConfig, "pda": PDAConfig, "rl": RLConfig,
                  "rewrite_filter": ClassifierConfig, "general_filter": CrossEncoderClassifierConfig}
_CHAIN_OWNED = {
    "sft": {"out_dir", "run_id", "live"},
    "qsr": {"out_dir", "run_id", "live"},
    "pda": {"out_dir", "run_id", "live"},
    "rl": {"policy", "qsr_model", "pda_model", "use_pda", "out_dir", "run_id", "live"},
    "rewrite_filter": {"out_dir", "run_id", "live"},
    "general_filter": {"out_dir"},
}
_OPTIONAL_SECTIONS.update({(RunConfig, name): cls for name, cls in CHAIN_SECTIONS.items()})
_OPTIONAL_SECTIONS[(RunConfig, "calibration")] = CalibrationConfig
CALIBRATED = {"chain": ("business_operating_point", "general_operating_point"),
              "synthesis": ("business_threshold", "general_threshold", "min_retrieval_score", "min_retrieval_score_by_type",
                            "keep_rule", "keep_rule_by_type")}
"""Settings ``[calibration]`` chooses, refused beside it (one home for each threshold); the
``synthesis`` ones are also left out of the synthesis key, which names the calibration instead."""


TRAVEL_WITH_REWRITER = ("k", "rewrite_demo_selection", "rewrite_demos")
"""``[synthesis]`` settings of how the rewriter is prompted: beside ``[models] from_run`` they are
the other run's (its rewriter was trained and chosen with them), refused in this one."""


def _check_chain_sections(data: dict[str, Any]) -> None:
    """Refuse keys the chain sets itself, and thresholds a trained filter's operating point sets;
    ``[models] rewriter = "DIR"`` is short for ``[models.rewriter] model = "DIR"``."""
    for name, owned in _CHAIN_OWNED.items():
        clash = owned & set(data.get(name) or {})
        if clash:
            raise ValueError(f"[{name}]: {sorted(clash)} are set by the chain (runner.chain); leave them out")
    synthesis = data.get("synthesis", {})
    for section, key, point in (("general_filter", "general_threshold", "general_operating_point"),
                                ("rewrite_filter", "rewrite_drop_threshold", "rewrite_operating_point")):
        if section in data and key in synthesis:
            raise ValueError(f"[synthesis] {key}: with a trained [{section}] the threshold is its dev operating "
                             f"point; set [chain] {point} instead")
    if (data.get("chain") or {}).get("business_operating_point") and "business_threshold" in synthesis:
        raise ValueError("[synthesis] business_threshold: [chain] business_operating_point sets it (a held-out "
                         "operating point of the business model); keep one of the two")
    if "calibration" in data:
        for section, keys in CALIBRATED.items():
            clash = sorted(set(keys) & set(data.get(section) or {}))
            if clash:
                raise ValueError(f"[{section}] {clash}: [calibration] chooses them on the dev run; leave them out")
    models = data.get("models") or {}
    if models.get("from_run"):
        clash = sorted(set(TRAVEL_WITH_REWRITER + ("general_threshold", "keep_rule", "keep_rule_by_type")) & set(synthesis))
        if clash:
            raise ValueError(f"[synthesis] {clash}: [models] from_run brings them with its rewriter and general "
                             "filter (runner.pipeline.rewriter_home); leave them out")
    for name in ("rewriter", "general", "rewrite_filter", "relevance"):
        if isinstance(models.get(name), str):
            models[name] = {"model": models[name]}


def _resolve_chain(config: RunConfig, base: Path) -> None:
    m = config.models
    m.qsr, m.pda, m.business, m.from_run = (_abs(base, p) or None for p in (m.qsr, m.pda, m.business, m.from_run))
    config.chain.audit_qrels = _abs(base, config.chain.audit_qrels) or None
    if config.chain.source == "demo" and config.demo is None:
        raise ValueError("[chain] source = \"demo\" trains on the demo world of the [demo] section; add one")
