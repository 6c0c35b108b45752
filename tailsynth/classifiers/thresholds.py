"""Decision threshold for a high-recall filter: the highest threshold that keeps at least
``target_recall`` of the truly relevant items (keep when score >= threshold)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np


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


def threshold_at_recall(scores, truth, target_recall: float = 0.95) -> ThresholdResult:
    """``scores``: higher = more relevant; ``truth``: bool per item. The returned threshold is the
    score of the ceil(target_recall * positives)-th best positive, so recall >= target and no
    higher threshold reaches it. Precision/recall are measured at that threshold (ties kept)."""
    if not 0.0 < target_recall <= 1.0:
        raise ValueError("target_recall must be in (0, 1]")
    scores = np.asarray(scores, dtype=np.float64)
    truth = np.asarray(truth, dtype=bool)
    if scores.shape != truth.shape:
        raise ValueError("scores and truth must have the same length")
    n_pos = int(truth.sum())
    if n_pos == 0:
        return ThresholdResult(float("nan"), float("nan"), float("nan"), float("nan"), 0, int(len(scores)))
    need = max(1, math.ceil(target_recall * n_pos - 1e-9))
    threshold = float(np.sort(scores[truth])[::-1][need - 1])
    kept = scores >= threshold
    tp = int((kept & truth).sum())
    return ThresholdResult(threshold, tp / int(kept.sum()), tp / n_pos, float(kept.mean()), n_pos, int(len(scores)))
