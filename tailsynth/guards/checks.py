"""Checks over a finished synthesis run that catch the failure modes of issue 16's real-catalog run.

There, the zero-shot general filter kept 96 % of what it scored, nearly every kept pair had a
business score of 0.50-0.55 over a 0.5 threshold, and the rewrite filter dropped 79 % of the
rewrites, so retrieval ran on the original query and the "verified" pairs were about a third
relevant. None of this shows in the funnel's counts alone; each check below turns one of them into
a number, a limit and a verdict. What to do with a verdict (``warn`` or ``stop``) is configured.

Reads the store only through parameterized SQL over ``runs``, ``rewrites`` and ``pairs``.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass

from tailsynth.store import reads


class GuardWarning(UserWarning):
    """A fired guard rail under ``action = "warn"``: its own category, so a caller can filter it,
    turn it into an error (``warnings.simplefilter("error", GuardWarning)``) or, as the CLI does,
    print it as one console line instead of a warning with its source line."""


@dataclass
class GuardConfig:
    """Limits of the checks; a check with fewer than ``min_scored`` items is not judged."""

    rewrite_keep_max: float = 0.95  # the rewrite filter keeps at least this share: it is not filtering
    rewrite_drop_max: float = 0.6  # the rewrite filter drops at least this share: retrieval runs on the query alone
    general_keep_max: float = 0.9  # the general filter keeps at least this share of the pairs it scores
    business_margin: float = 0.05  # "at the threshold": a passing score below threshold + margin
    business_near_max: float = 0.5  # at least this share of the passing scores are at the threshold
    min_scored: int = 20
    action: str = "warn"  # "warn": a GuardWarning for each fired check; "stop": raise GuardError

    def __post_init__(self):
        if self.action not in ("warn", "stop"):
            raise ValueError(f"GuardConfig.action must be 'warn' or 'stop', got {self.action!r}")


@dataclass
class Finding:
    """One check's outcome: ``value`` against ``limit`` over ``n`` items; ``judged`` when ``n`` is
    large enough to judge, ``fired`` when it trips."""

    check: str
    value: float | None
    limit: float
    n: int
    judged: bool
    fired: bool
    message: str

    def to_dict(self) -> dict:
        return asdict(self)


class GuardError(RuntimeError):
    """A guard rail configured to stop has fired; ``findings`` holds every check's outcome."""

    def __init__(self, findings: list[Finding]):
        fired = [f for f in findings if f.fired]
        super().__init__("synthetic data guard rails fired: " + "; ".join(f.message for f in fired))
        self.findings = findings


def _finished(store, run_id: str) -> None:
    rows = store.fetch("SELECT finished_at FROM runs WHERE run_id = ?", [run_id])
    if not rows:
        raise ValueError(f"no run {run_id!r} in the store")
    if rows[0][0] is None:
        raise ValueError(f"run {run_id!r} has not finished; the guard rails judge a finished run")


def _share(n: int, k: int) -> float | None:
    return k / n if n else None


def _finding(check: str, value: float | None, limit: float, n: int, config: GuardConfig, what: str) -> Finding:
    judged = value is not None and n >= config.min_scored
    fired = bool(judged and value >= limit)
    if not judged:
        message = f"{check}: not judged ({n} items < min_scored {config.min_scored})"
    else:
        message = f"{check}: {what} {value:.1%} of {n} (limit {limit:.0%})"
    return Finding(check, value, limit, n, judged, fired, message)


def check_run(store, run_id: str, config: GuardConfig | None = None, business_threshold: float | None = None) -> list[Finding]:
    """Every check's finding for a finished synthesis run (none raises; see ``enforce``).

    Checks: ``rewrite_filter_keeps_all``, ``rewrites_mostly_dropped``, ``general_filter_keeps_all``,
    ``business_at_threshold``. ``business_threshold`` defaults to the run's stored config.
    """
    config = config or GuardConfig()
    _finished(store, run_id)
    threshold = reads.business_threshold(store, run_id) if business_threshold is None else business_threshold
    ((scored, kept),) = store.fetch(
        "SELECT count(*), count(*) FILTER (WHERE kept) FROM rewrites WHERE run_id = ? AND rank > 0 AND label IS NOT NULL",
        [run_id])
    keep = _share(scored, kept)
    drop = None if keep is None else 1 - keep
    ((g_scored, g_kept),) = store.fetch(
        "SELECT count(*), count(*) FILTER (WHERE kept) FROM pairs WHERE run_id = ? AND general_p_yes IS NOT NULL", [run_id])
    ((passing, near),) = store.fetch(
        "SELECT count(*), count(*) FILTER (WHERE business_score < ?) FROM pairs WHERE run_id = ? AND business_score >= ?",
        [threshold + config.business_margin, run_id, threshold])
    return [
        _finding("rewrite_filter_keeps_all", keep, config.rewrite_keep_max, scored, config, "rewrite filter kept"),
        _finding("rewrites_mostly_dropped", drop, config.rewrite_drop_max, scored, config, "rewrite filter dropped"),
        _finding("general_filter_keeps_all", _share(g_scored, g_kept), config.general_keep_max, g_scored, config,
                 "general filter kept"),
        _finding("business_at_threshold", _share(passing, near), config.business_near_max, passing, config,
                 f"business scores in [{threshold:g}, {threshold + config.business_margin:g}):"),
    ]


def enforce(findings: list[Finding], config: GuardConfig | None = None) -> list[Finding]:
    """Act on the fired findings as configured: warn (returns them) or stop (raises ``GuardError``)."""
    config = config or GuardConfig()
    fired = [f for f in findings if f.fired]
    if fired and config.action == "stop":
        raise GuardError(findings)
    for f in fired:
        warnings.warn(f"guard rail: {f.message}", GuardWarning, stacklevel=2)
    return fired


def findings_markdown(findings: list[Finding]) -> str:
    """A small markdown table of the checks, for the run report next to Table 1."""
    lines = ["| guard rail | value | limit | n | verdict |", "| --- | --- | --- | --- | --- |"]
    for f in findings:
        value = "n/a" if f.value is None else f"{f.value:.1%}"
        verdict = "FIRED" if f.fired else ("ok" if f.judged else "not judged")
        lines.append(f"| {f.check} | {value} | {f.limit:.0%} | {f.n} | {verdict} |")
    return "\n".join(lines)
