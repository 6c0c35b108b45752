"""Bootstrap confidence intervals over queries, for the gains the paper's tables report.

A table cell is a mean over queries, and queries differ far more from each other than two
systems differ on one query; a gain of a few points means something only with its interval.
Resampling *queries* (not items) is the unit the paper's claims are about. For a gain of system B
over system A, resample the per-query *differences* (a paired bootstrap): the query-to-query
spread cancels, so the interval is much tighter than two separate intervals suggest.

    from tailsynth.evals.bootstrap import bootstrap_mean, bootstrap_paired_difference
    bootstrap_mean(goodrate_per_query)                       # Interval(estimate, low, high, n)
    bootstrap_paired_difference(baseline_per_query, synthetic_per_query)   # gain of B over A
    bootstrap_ratio(correct_per_query, kept_per_query)       # pooled pair accuracy, by query

Percentile intervals from ``n_resamples`` resamples drawn by ``numpy.random.default_rng(seed)``:
the same inputs and seed give the same interval. Vectorised numpy in chunks, so memory stays
bounded (about ``chunk`` × n values at a time) for any number of queries.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np

N_RESAMPLES = 10_000
"""Enough that the interval's ends move by well under a tenth of its width between seeds."""
CONFIDENCE = 0.95


@dataclass(frozen=True)
class Interval:
    """``estimate`` (the statistic on all n queries) with its bootstrap ``[low, high]``."""

    estimate: float
    low: float
    high: float
    n: int
    confidence: float = CONFIDENCE

    def excludes_zero(self) -> bool:
        """Whether the interval says the sign (a gain or a loss, not noise)."""
        return self.low > 0 or self.high < 0

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)

    def format(self, scale: float = 1.0, digits: int = 1, signed: bool = False) -> str:
        """``"+5.3 [+2.1, +8.4]"`` (scale=100 for points from fractions)."""
        f = f"{{:{'+' if signed else ''}.{digits}f}}"
        return f"{f.format(self.estimate * scale)} [{f.format(self.low * scale)}, {f.format(self.high * scale)}]"


def _values(x: Sequence[float] | np.ndarray, name: str) -> np.ndarray:
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"{name}: one value per query expected, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name}: no queries")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name}: NaN or infinite values; drop or fill those queries first")
    return arr


def _bootstrap(columns: tuple[np.ndarray, ...], statistic: Callable[..., np.ndarray], confidence: float,
               n_resamples: int, seed: int, chunk: int) -> Interval:
    """Percentile interval of ``statistic`` (vectorised over resample rows) over query resamples;
    every column is resampled with the same query indices."""
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be >= 1, got {n_resamples}")
    n = columns[0].size
    rng = np.random.default_rng(seed)
    stats = np.empty(n_resamples)
    for start in range(0, n_resamples, chunk):
        rows = min(chunk, n_resamples - start)
        idx = rng.integers(0, n, size=(rows, n))
        stats[start : start + rows] = statistic(*(c[idx] for c in columns))
    estimate = float(statistic(*(c[None, :] for c in columns))[0])
    tail = (1 - confidence) / 2 * 100
    low, high = np.nanpercentile(stats, [tail, 100 - tail])  # NaN: a ratio resample with no denominator
    return Interval(estimate, float(low), float(high), int(n), confidence)


def _chunk(n: int) -> int:
    return max(1, 4_000_000 // max(n, 1))  # ~32 MB of float64 per chunk


def bootstrap_mean(values: Sequence[float] | np.ndarray, confidence: float = CONFIDENCE,
                   n_resamples: int = N_RESAMPLES, seed: int = 0) -> Interval:
    """Mean of a per-query metric (one value per query) with its bootstrap interval."""
    x = _values(values, "values")
    return _bootstrap((x,), lambda v: v.mean(axis=1), confidence, n_resamples, seed, _chunk(x.size))


def bootstrap_paired_difference(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray,
                                confidence: float = CONFIDENCE, n_resamples: int = N_RESAMPLES,
                                seed: int = 0) -> Interval:
    """Gain of system B over system A, mean over queries of ``b[i] - a[i]``: ``a`` and ``b`` are the
    same metric on the same queries, in the same order."""
    x, y = _values(a, "a"), _values(b, "b")
    if x.shape != y.shape:
        raise ValueError(f"paired values need the same queries: {x.size} vs {y.size}")
    d = y - x
    return _bootstrap((d,), lambda v: v.mean(axis=1), confidence, n_resamples, seed, _chunk(d.size))


def bootstrap_ratio(numerators: Sequence[float] | np.ndarray, denominators: Sequence[float] | np.ndarray,
                    confidence: float = CONFIDENCE, n_resamples: int = N_RESAMPLES, seed: int = 0) -> Interval:
    """A pooled ratio Σnum / Σden (e.g. correct pairs / kept pairs) with queries resampled whole,
    so a query's pairs stay together (they are not independent draws). A resample whose
    denominators are all 0 has no ratio and is left out of the percentiles."""
    num, den = _values(numerators, "numerators"), _values(denominators, "denominators")
    if num.shape != den.shape:
        raise ValueError(f"one numerator and one denominator per query: {num.size} vs {den.size}")
    if den.sum() <= 0:
        raise ValueError("denominators sum to 0")

    def ratio(nu: np.ndarray, de: np.ndarray) -> np.ndarray:
        total = de.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(total > 0, nu.sum(axis=1) / np.where(total > 0, total, 1), np.nan)

    return _bootstrap((num, den), ratio, confidence, n_resamples, seed, _chunk(num.size))
