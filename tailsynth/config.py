"""Explicit configuration: one dataclass per stage, serialised into ``runs.config``."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from types import UnionType
from typing import Any, Union, get_args, get_origin, get_type_hints

from tailsynth.keep_rule import KeepRule


@dataclass
class LMConfig:
    """Where an LM lives. ``api_base`` set: an OpenAI-compatible server (vLLM) through litellm,
    ``model`` is then e.g. ``hosted_vllm/Qwen2.5-7B-Instruct``. Otherwise ``model`` is a local HF
    directory, or None for the packaged SmolLM2-135M-Instruct. ``timeout_s`` bounds every request
    to an endpoint and ``retries`` is how often a timeout, connection error, 429 or 5xx is retried
    before the call raises ``tailsynth.serving.errors.LMUnavailable``."""

    model: str | None = None
    api_base: str | None = None
    api_key: str = "EMPTY"
    device: str | None = None
    timeout_s: float = 120.0
    retries: int = 3

    def __post_init__(self) -> None:
        if not self.timeout_s > 0:
            raise ValueError(f"timeout_s must be > 0, got {self.timeout_s!r}")
        if self.retries < 0:
            raise ValueError(f"retries must be >= 0, got {self.retries!r}")

    @property
    def model_id(self) -> str:
        return self.model or "smollm2-135m-instruct"


DEMO_SELECTIONS = ("fixed", "nearest")
"""How the rewriter's few-shot demos are picked (``SynthesisConfig.rewrite_demo_selection``, ``programs.demos``)."""


@dataclass
class SynthesisConfig:
    """Every knob of the synthesis program (DESIGN.md pipeline, top to bottom)."""

    # Rewriter
    k: int = 5
    rewriter: LMConfig = field(default_factory=LMConfig)
    rewrite_temperature: float = 0.0
    rewrite_max_tokens: int = 64
    rewrite_demos: int = 4
    """Few-shot (query → rewrites) demos in the rewriter prompt, one per query type where the
    data has them; they teach a small model the output format without training."""
    rewrite_demo_selection: str = "fixed"
    """``fixed``: the same first ``rewrite_demos`` demos for every query. ``nearest``: per query,
    the ``rewrite_demos`` annotated examples nearest to it by ``encoder`` (``programs.demos``), from
    the pool the program is given; their rewrites are the product language of the same need."""
    include_original: bool = True
    # The general LLM: by default it judges both filters (paper: one strong off-the-shelf LLM).
    general: LMConfig = field(default_factory=LMConfig)
    rewrite_filter_lm: LMConfig | None = None
    """The rewrite filter's own LM (e.g. a ``train classifier --task rewrite`` dir); None = ``general``."""
    relevance_lm: LMConfig | None = None
    """The general relevance filter's own LM (e.g. a ``train classifier --task general`` dir, whose
    stored threshold ``classifiers.filter_threshold(dir)`` gives); None = ``general``."""
    # Rewrite filter (3 labels): drop a rewrite when p(irrelevant) exceeds this.
    rewrite_drop_threshold: float = 0.5
    # Dense retrieval
    encoder: str | None = None
    top_k: int = 200
    # Business relevance (cross-encoder), then the general LM filter on the best survivors.
    min_retrieval_score: float | None = None
    """Candidates whose retrieval score (similarity to the rewrite that ranked them best) is below
    this are rejected before the business model (``decided_by = "retrieval"``); None: no floor."""
    min_retrieval_score_by_type: dict[str, float] = field(default_factory=dict)
    """Query type → its own floor, over ``min_retrieval_score`` (queries carry ``qtype``). The run's
    ``[calibration]`` chooses both on dev (``tailsynth.calibration``)."""
    negation_filter: bool = True
    """Reject, before any model scores them, candidates whose text states what the query rules out
    ("drywall anchors that aren't nylon" → a nylon anchor; ``programs.negation``,
    ``decided_by = "negation"``): the retriever and small cross-encoders miss negation."""
    negation_synonyms: list[list[str]] = field(default_factory=lambda: [
        ["cordless", "battery powered", "battery operated"], ["indoor", "interior"], ["outdoor", "exterior"]])
    """Groups of phrases that state the same property: a query ruling out one rules out each
    ("not cordless" → a "battery-powered" product is rejected too). Phrases are compared as the
    rule normalizes them (lower case, "battery-powered" = "battery powered"); add your catalog's."""
    negation_implications: bool = True
    """With ``negation_filter``, also reject a product whose attribute phrases carry what an excluded
    phrase implies in this catalog ("not plant-based" → attribute "natural", because nearly every
    product stating "plant based" carries it; ``programs.implications``). Needs a catalog with
    attribute texts (``[data.catalog] attributes_col``); without them it changes nothing."""
    alternative_filter: bool = True
    """For a query of type "alternative" that names a catalog brand, reject before any model scores
    them the brand's own products and those priced at or above the median of its products among the
    query's candidates (``programs.alternatives``, ``decided_by = "alternative"``). Needs
    ``[data.catalog] brand_col`` (and ``price_col`` for the price); without them it changes nothing."""
    alternative_price_class: float | None = 0.75
    """With ``alternative_filter``, also reject the products of a brand whose median price among the
    query's candidates is at least this share of the named brand's: a brand in its price class is no
    cheaper alternative (None: each product by its own price only)."""
    business_model: str | None = None
    business_threshold: float = 0.5
    max_general_per_query: int = 40
    general_threshold: float = 0.5
    keep_rule: dict | None = None
    """A pair the general filter passes is kept only where this ``KeepRule`` (``tailsynth.keep_rule``:
    ``{weights: {ann_score, business_score, general_p_yes}, bias, threshold}``) keeps it too; None:
    no rule. The run's ``[calibration] rule = "combined"`` fits one per query type on dev."""
    keep_rule_by_type: dict[str, dict] = field(default_factory=dict)
    """Query type → its own rule, over ``keep_rule``."""
    # Execution
    chunk_size: int = 16

    def __post_init__(self) -> None:
        for name, low in (("k", 1), ("top_k", 1), ("chunk_size", 1), ("max_general_per_query", 1),
                          ("rewrite_max_tokens", 1), ("rewrite_demos", 0)):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < low:
                raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
        if self.rewrite_demo_selection not in DEMO_SELECTIONS:
            raise ValueError(f"rewrite_demo_selection must be one of {DEMO_SELECTIONS}, got {self.rewrite_demo_selection!r}")
        for name in ("rewrite_drop_threshold", "business_threshold", "general_threshold", "rewrite_temperature"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                raise ValueError(f"{name} must be a number, got {value!r}")
        for name in ("rewrite_drop_threshold", "business_threshold", "general_threshold"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {getattr(self, name)!r}")
        pc = self.alternative_price_class
        if pc is not None and (isinstance(pc, bool) or not isinstance(pc, (int, float)) or not 0 < pc <= 1):
            raise ValueError(f"alternative_price_class must be a number in (0, 1] or None, got {pc!r}")
        groups = self.negation_synonyms
        if not isinstance(groups, (list, tuple)) or not all(
                isinstance(g, (list, tuple)) and g and all(isinstance(t, str) and t.strip() for t in g) for g in groups):
            raise ValueError(f"negation_synonyms must be a list of non-empty lists of phrases, got {groups!r}")
        for name, rule in {"keep_rule": self.keep_rule,
                           **{f"keep_rule_by_type[{k!r}]": v for k, v in dict(self.keep_rule_by_type).items()}}.items():
            if rule is not None:
                try:
                    KeepRule.from_dict(rule)
                except ValueError as e:
                    raise ValueError(f"{name}: {e}") from None
        floors = {"min_retrieval_score": self.min_retrieval_score,
                  **{f"min_retrieval_score_by_type[{k!r}]": v for k, v in dict(self.min_retrieval_score_by_type).items()}}
        for name, value in floors.items():
            if value is not None and (not isinstance(value, (int, float)) or isinstance(value, bool) or not -1.0 <= value <= 1.0):
                raise ValueError(f"{name} must be a similarity in [-1, 1] or unset, got {value!r}")

    @property
    def rewrite_filter(self) -> LMConfig:
        """The LM the rewrite filter scores with."""
        return self.rewrite_filter_lm or self.general

    @property
    def relevance(self) -> LMConfig:
        """The LM the general relevance filter scores with."""
        return self.relevance_lm or self.general

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def fingerprint(self) -> str:
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()[:12]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "SynthesisConfig":
        return from_dict(cls, data)


def from_dict(cls: type, data: dict[str, Any], where: str = "", sections: dict | None = None) -> Any:
    """Build a (nested) dataclass from a plain dict (a parsed TOML/JSON config).

    Unknown keys and bad values are refused with the section they are in (``[data.catalog]: ...``).
    ``sections`` maps ``(cls, field)`` to the dataclass of a section whose default is None.
    """
    if not isinstance(data, dict):
        raise ValueError(f"[{where or cls.__name__}] must be a table, got {type(data).__name__}")
    sections = sections or {}
    known = {f.name: f for f in fields(cls)}
    hints = _hints(cls)
    unknown = set(data) - set(known)
    if unknown:
        raise ValueError(f"[{where or cls.__name__}]: unknown keys {sorted(unknown)}; known: {sorted(known)}")
    kwargs = {}
    for name, value in data.items():
        sub, default = sections.get((cls, name)), None
        if sub is None:
            factory = known[name].default_factory
            default = factory() if callable(factory) else None
            sub = type(default) if is_dataclass(default) else _optional_dataclass(hints.get(name))
        here = f"{where}.{name}" if where else name
        if sub is None or value is None or isinstance(value, sub):  # None: an optional section left out
            if sub is None:
                value = _typed(value, hints.get(name), where or cls.__name__, name)
            kwargs[name] = value
        else:  # a partial section keeps the field's own default for what it does not set
            base = {f.name: getattr(default, f.name) for f in fields(default)} if isinstance(default, sub) else {}
            kwargs[name] = from_dict(sub, {**base, **value} if isinstance(value, dict) else value, here, sections)
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as err:
        raise ValueError(f"[{where or cls.__name__}]: {err}") from None


_TYPE_NAMES = {int: "an integer", float: "a number", str: "a string", bool: "true or false"}


def _matches(value: Any, hint: Any) -> bool | None:
    """Whether ``value`` fits ``hint``; None when the hint is not one we check (Any, Literal, ...)."""
    if hint in _TYPE_NAMES:
        if hint is float:
            return isinstance(value, (int, float)) and not isinstance(value, bool)
        if hint is int:
            return isinstance(value, int) and not isinstance(value, bool)
        return isinstance(value, hint)
    origin, args = get_origin(hint), get_args(hint)
    if origin in (Union, UnionType):
        results = [value is None if a is type(None) else _matches(value, a) for a in args]
        return None if None in results else any(results)
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            return False
        inner = args[0] if args else None
        return all(_matches(v, inner) is not False for v in value) if inner is not None else True
    if origin is dict:
        return isinstance(value, dict)
    return None


def _describe(hint: Any) -> str:
    if hint in _TYPE_NAMES:
        return _TYPE_NAMES[hint]
    args = [a for a in get_args(hint) if a is not type(None)]
    if get_origin(hint) in (Union, UnionType):
        return " or ".join(_describe(a) for a in args) + (" (or none)" if type(None) in get_args(hint) else "")
    if get_origin(hint) in (list, tuple):
        if not args:
            return "a list"
        inner = _describe(args[0]).removeprefix("an ").removeprefix("a ")
        return f"a list of {inner}" + ("" if inner.endswith("s") else "s")
    return str(hint)


def _typed(value: Any, hint: Any, where: str, name: str) -> Any:
    """``value`` checked against the field's annotation: ``k = "five"`` fails here, naming the key,
    not later as ``'<' not supported between 'str' and 'int'``. An int where a float belongs is fine."""
    if hint is None or _matches(value, hint) is not False:
        return float(value) if hint is float and isinstance(value, int) else value
    raise ValueError(f"[{where}]: {name} must be {_describe(hint)}, got {value!r}")


def _hints(cls: type) -> dict[str, Any]:
    try:
        return get_type_hints(cls)
    except Exception:  # unresolvable annotations: fall back to explicit ``sections``
        return {}


def _optional_dataclass(hint: Any) -> type | None:
    """``X | None`` where X is a dataclass → X (so a section whose default is None still parses)."""
    args = [a for a in get_args(hint) if a is not type(None)]
    return args[0] if len(args) == 1 and is_dataclass(args[0]) else None


def parse_overrides(items: list[str] | None) -> dict[str, Any]:
    """``KEY=VALUE`` strings (the CLI's ``--set``) → a dict for ``from_dict``.

    Each value is read as a TOML value (``1e-4``, ``12``, ``true``, ``"a b"``), so ``--set`` and a
    config file agree on types; ``none`` means None and any other bare word stays a string. A
    dotted key (``model.lr=5e-5``) sets a field of a section.
    """
    import tomllib

    out: dict[str, Any] = {}
    for item in items or []:
        key, sep, raw = item.partition("=")
        key, raw = key.strip(), raw.strip()
        if not sep or not key:
            raise ValueError(f"--set wants KEY=VALUE, got {item!r}")
        if raw.lower() in ("none", "null"):
            value = None
        else:
            try:
                value = tomllib.loads(f"v = {raw}")["v"]
            except tomllib.TOMLDecodeError:
                value = raw
        *parents, leaf = key.split(".")  # "model.lr=5e-5" sets lr in the model section
        table = out
        for part in parents:
            table = table.setdefault(part, {})
            if not isinstance(table, dict):
                raise ValueError(f"--set {item!r}: {part!r} is a value, not a section")
        table[leaf] = value
    return out
