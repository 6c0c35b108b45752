"""Decision thresholds (keep when score >= threshold) chosen on labelled dev scores.

- ``threshold_at_recall``: the conservative, high-recall point of a filter that must not lose
  good items (the rewrite filter): the highest threshold keeping ``target_recall`` of them.
- ``threshold_at_precision``: the point of a last filter whose output is the product (the general
  relevance filter decides which pairs train the retriever): the lowest threshold whose kept set
  is at least ``target_precision`` precise, i.e. the most recall that precision allows.
- ``operating_points``: several of both, by name (``recall=0.95``, ``precision=0.9``), stored with
  a classifier so a user picks one by name instead of re-deriving a number.
- ``for_type``: which of a per-query-type setting applies to a query (its type's, else the default).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import TypeVar

import numpy as np

T = TypeVar("T")


def for_type(by_type: Mapping[str, T], default: T, qtype: str | None) -> T:
    """The value of a per-type setting (a retrieval floor, a keep rule) for a query of ``qtype``: its
    type's own, else ``default``; an untyped query (``None`` or "") always gets ``default``, so a
    value set for some type never applies to a query no one typed."""
    return by_type.get(qtype, default) if qtype else default


@dataclass
class ThresholdResult:
    threshold: float
    precision: float
    recall: float
    kept_fraction: float
    positives: int
    total: int

    def to_dict(self) -> dict:
        return asdict(self)


def _checked(scores, truth) -> tuple[np.ndarray, np.ndarray]:
    scores = np.asarray(scores, dtype=np.float64)
    truth = np.asarray(truth, dtype=bool)
    if scores.shape != truth.shape:
        raise ValueError("scores and truth must have the same length")
    return scores, truth


def _at(scores: np.ndarray, truth: np.ndarray, threshold: float) -> ThresholdResult:
    kept = scores >= threshold
    n_pos, tp = int(truth.sum()), int((kept & truth).sum())
    return ThresholdResult(float(threshold), tp / max(1, int(kept.sum())), tp / n_pos, float(kept.mean()), n_pos, int(len(scores)))


def threshold_at_recall(scores, truth, target_recall: float = 0.95) -> ThresholdResult:
    """``scores``: higher = more relevant; ``truth``: bool per item. The returned threshold is the
    score of the ceil(target_recall * positives)-th best positive, so recall >= target and no
    higher threshold reaches it. Precision/recall are measured at that threshold (ties kept)."""
    if not 0.0 < target_recall <= 1.0:
        raise ValueError("target_recall must be in (0, 1]")
    scores, truth = _checked(scores, truth)
    n_pos = int(truth.sum())
    if n_pos == 0:
        return ThresholdResult(float("nan"), float("nan"), float("nan"), float("nan"), 0, int(len(scores)))
    need = max(1, math.ceil(target_recall * n_pos - 1e-9))
    return _at(scores, truth, float(np.sort(scores[truth])[::-1][need - 1]))


def threshold_at_precision(scores, truth, target_precision: float = 0.9) -> ThresholdResult:
    """The lowest candidate threshold (a distinct score) whose kept set (ties kept) has precision
    >= ``target_precision``; when no threshold reaches it, the most precise one (its precision,
    below the target, says so)."""
    if not 0.0 < target_precision <= 1.0:
        raise ValueError("target_precision must be in (0, 1]")
    scores, truth = _checked(scores, truth)
    if not truth.any():
        return ThresholdResult(float("nan"), float("nan"), float("nan"), float("nan"), 0, int(len(scores)))
    values = np.unique(scores)[::-1]  # distinct scores, best first
    order = np.argsort(-scores, kind="stable")
    kept_n = np.searchsorted(-scores[order], -values, side="right")  # items with score >= value
    tp = np.cumsum(truth[order])[kept_n - 1]
    precision = tp / kept_n
    ok = np.flatnonzero(precision >= target_precision - 1e-12)
    best = ok[-1] if len(ok) else int(np.argmax(precision))
    return _at(scores, truth, float(values[best]))


def operating_points(scores, truth, recalls: tuple[float, ...] = (0.95, 0.9, 0.8),
                     precisions: tuple[float, ...] = (0.8, 0.85, 0.9, 0.95)) -> dict[str, dict]:
    """``{"recall=0.95": {...}, "precision=0.9": {...}}``: ``ThresholdResult`` dicts by name."""
    out = {f"recall={r:g}": threshold_at_recall(scores, truth, r).to_dict() for r in recalls}
    out |= {f"precision={p:g}": threshold_at_precision(scores, truth, p).to_dict() for p in precisions}
    return out


def parse_point(name: str) -> tuple[str, float]:
    """``"precision=0.9"`` -> ("precision", 0.9); a clear error for anything else."""
    kind, sep, value = name.partition("=")
    try:
        target = float(value)
    except ValueError:
        target = float("nan")
    if not sep or kind not in ("recall", "precision") or not 0.0 < target <= 1.0:
        raise ValueError(f"operating point {name!r}: expected recall=R or precision=P with 0 < R, P <= 1")
    return kind, target
