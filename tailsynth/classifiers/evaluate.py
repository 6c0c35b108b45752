"""Label accuracy and the threshold at target recall of any ``Scorer`` on labelled examples."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tailsynth.classifiers.datasets import ClassifierTask, get_task
from tailsynth.thresholds import operating_points, threshold_at_recall
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


def auc(scores, truth) -> float:
    """ROC AUC of ``scores`` for ``truth``; nan when one class is missing."""
    from sklearn.metrics import roc_auc_score

    truth = np.asarray(truth, dtype=bool)
    return float(roc_auc_score(truth, scores)) if 0 < truth.sum() < len(truth) else float("nan")


def metrics_from_probs(task: str | ClassifierTask, rows: Sequence[dict], probs: np.ndarray, target_recall: float = 0.95,
                       calibration: Sequence[bool] | None = None) -> dict:
    """Accuracy, the threshold at ``target_recall`` and the named ``operating_points`` of the
    positive score. ``calibration`` (a mask over ``rows``) picks the rows thresholds are chosen
    on, e.g. only the examples shaped like what the filter judges at synthesis time."""
    t = get_task(task)
    truth = [r["label"] for r in rows]
    pred = [t.labels[i] for i in np.asarray(probs).argmax(1)]
    positive = t.is_positive(truth)
    score = t.positive_score(probs)
    cal = np.ones(len(rows), bool) if calibration is None else np.asarray(calibration, dtype=bool)
    thr = threshold_at_recall(score[cal], positive[cal], target_recall)
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
        "auc": auc(score, positive),
        "calibration_examples": int(cal.sum()),
        "operating_points": operating_points(score[cal], positive[cal]),
    }


def accuracy_by(task: str | ClassifierTask, rows: Sequence[dict], probs: np.ndarray, field: str) -> dict[str, float]:
    """Label accuracy per value of ``field`` (e.g. ``source``: head / longtail / retrieved)."""
    t = get_task(task)
    pred = [t.labels[i] for i in np.asarray(probs).argmax(1)]
    groups: dict[str, list[bool]] = {}
    for row, p in zip(rows, pred):
        groups.setdefault(str(row.get(field)), []).append(p == row["label"])
    return {g: float(np.mean(v)) for g, v in sorted(groups.items())}


def auc_by(task: str | ClassifierTask, rows: Sequence[dict], probs: np.ndarray, field: str) -> dict[str, float]:
    """AUC of the positive score per value of ``field`` (nan where a group has one class); rows
    without the field (e.g. head pairs have no query type) are left out."""
    t = get_task(task)
    score, positive = t.positive_score(probs), t.is_positive([r["label"] for r in rows])
    keys = np.array([str(r.get(field) or "") for r in rows])
    return {g: auc(score[keys == g], positive[keys == g]) for g in sorted(set(keys) - {""})}


def evaluate(scorer: Scorer, task: str | ClassifierTask, rows: Sequence[dict], demos: Sequence[dict] = (),
             target_recall: float = 0.95, calibration_sources: Sequence[str] | None = None) -> dict:
    """Metrics of ``metrics_from_probs`` plus accuracy per source and AUC per source and query
    type. ``calibration_sources``: choose thresholds on the rows of these sources only (those
    present; all rows when none is)."""
    probs = label_probs(scorer, task, rows, demos)
    cal = None
    if calibration_sources:
        cal = [r.get("source") in calibration_sources for r in rows]
        cal = cal if any(cal) else None
    return {**metrics_from_probs(task, rows, probs, target_recall, cal),
            "accuracy_by_source": accuracy_by(task, rows, probs, "source"),
            "auc_by_source": auc_by(task, rows, probs, "source"),
            "auc_by_qtype": auc_by(task, rows, probs, "qtype")}
