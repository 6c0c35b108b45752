"""Label accuracy and the threshold at target recall of any ``Scorer`` on labelled examples."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tailsynth.classifiers.datasets import ClassifierTask, get_task
from tailsynth.classifiers.thresholds import threshold_at_recall
from tailsynth.serving.scorer import Scorer


def label_probs(scorer: Scorer, task: str | ClassifierTask, rows: Sequence[dict], demos: Sequence[dict] = ()) -> np.ndarray:
    """``[n, len(labels)]`` from the label-token logits (the scorer renders demos into the prompt).
    Rows are scored grouped by query so the shared prompt prefix is reused."""
    t = get_task(task)
    order = sorted(range(len(rows)), key=lambda i: rows[i]["query"])
    probs = scorer.label_probs(t.signature, [t.prompt_inputs(rows[i]) for i in order], t.labels, list(demos))
    out = np.empty_like(probs)
    out[order] = probs
    return out


def metrics_from_probs(task: str | ClassifierTask, rows: Sequence[dict], probs: np.ndarray, target_recall: float = 0.95) -> dict:
    t = get_task(task)
    truth = [r["label"] for r in rows]
    pred = [t.labels[i] for i in np.asarray(probs).argmax(1)]
    positive = t.is_positive(truth)
    score = t.positive_score(probs)
    thr = threshold_at_recall(score, positive, target_recall)
    argmax_keep = t.is_positive(pred)
    tp = int((argmax_keep & positive).sum())
    return {
        "accuracy": float(np.mean([p == y for p, y in zip(pred, truth)])) if rows else float("nan"),
        "binary_accuracy": float((argmax_keep == positive).mean()) if rows else float("nan"),
        "argmax_recall": tp / max(1, int(positive.sum())),
        "threshold": thr.threshold,
        "precision_at_recall": thr.precision,
        "recall": thr.recall,
        "kept_fraction": thr.kept_fraction,
        "target_recall": target_recall,
        "examples": float(len(rows)),
        "positive_rate": float(positive.mean()) if rows else float("nan"),
    }


def accuracy_by(task: str | ClassifierTask, rows: Sequence[dict], probs: np.ndarray, field: str) -> dict[str, float]:
    """Label accuracy per value of ``field`` (e.g. ``source``: head / longtail / retrieved)."""
    t = get_task(task)
    pred = [t.labels[i] for i in np.asarray(probs).argmax(1)]
    groups: dict[str, list[bool]] = {}
    for row, p in zip(rows, pred):
        groups.setdefault(str(row.get(field)), []).append(p == row["label"])
    return {g: float(np.mean(v)) for g, v in sorted(groups.items())}


def evaluate(scorer: Scorer, task: str | ClassifierTask, rows: Sequence[dict], demos: Sequence[dict] = (),
             target_recall: float = 0.95) -> dict:
    """Metrics of ``metrics_from_probs`` plus ``accuracy_by_source``."""
    probs = label_probs(scorer, task, rows, demos)
    return {**metrics_from_probs(task, rows, probs, target_recall),
            "accuracy_by_source": accuracy_by(task, rows, probs, "source")}
