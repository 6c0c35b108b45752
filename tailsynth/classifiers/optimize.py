"""Prompt optimisation for the filters: few-shot demo selection by random search, scored by the
LOGIT scorer's label accuracy.

Candidate demo sets are drawn with DSPy's ``LabeledFewShot`` teleprompter from label-balanced
reshufflings of the train split (one candidate per seed; candidate 0 is zero-shot), the same
structure as ``BootstrapFewShotWithRandomSearch`` but without bootstrapping through generation:
a filter's decision comes from label-token logits, so each candidate is scored by
``Scorer.label_probs`` with the demos in the prompt on a small *selection* sample drawn from the
train split (disjoint from the demo pool). The winner is then measured on a dev sample, its
threshold at the target recall taken there, and everything written to an optimized-program JSON:

    {"task", "signature", "labels", "demos": [...], "threshold", "filter_threshold", "dev", "candidates": [...]}

``apply_optimized(filter, path)`` puts the demos into ``filter.demos`` and sets its threshold.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import dspy

from tailsynth.classifiers.datasets import ClassifierTask, examples, get_task, sample
from tailsynth.classifiers.evaluate import evaluate
from tailsynth.classifiers.finetune import _filter_threshold
from tailsynth.paths import cache_dir
from tailsynth.serving.local_scorer import LocalScorer
from tailsynth.serving.scorer import Scorer


@dataclass
class OptimizeConfig:
    model: str | None = None
    """LM whose logits score (HF dir; None = packaged SmolLM2)."""
    k: int = 3
    """Demos per candidate set (label-balanced)."""
    candidates: int = 4
    """Candidate demo sets besides zero-shot."""
    select_examples: int = 24
    dev_examples: int = 96
    target_recall: float = 0.95
    seed: int = 0
    out_path: str | None = None
    """Default: cache_dir()/programs/<task>-optimized.json."""


class _DemoHolder(dspy.Module):
    """The filter's single predictor, as a DSPy module a teleprompter can fill with demos."""

    def __init__(self, signature):
        super().__init__()
        self.predict = dspy.Predict(signature)

    def forward(self, **kwargs):
        return self.predict(**kwargs)


def candidate_demo_sets(task: ClassifierTask, pool: list[dict], k: int, n: int, seed: int = 0) -> list[list[dict]]:
    """``n`` label-balanced demo sets of size ``k``, each chosen by ``dspy.LabeledFewShot``."""
    sets = []
    for i in range(n):
        ordered = sample(pool, k, seed=seed * 1000 + i, balanced=True, labels=task.labels)
        trainset = [dspy.Example(**task.demo(r)).with_inputs(*task.inputs) for r in ordered]
        compiled = dspy.LabeledFewShot(k=k).compile(_DemoHolder(task.signature), trainset=trainset, sample=False)
        sets.append([dict(d.toDict()) for d in compiled.predict.demos])
    return sets


def optimize_prompt(task: str, source, config: OptimizeConfig = OptimizeConfig(), scorer: Scorer | None = None,
                    index=None) -> Path:
    t = get_task(task)
    scorer = scorer or LocalScorer(config.model)
    train = examples(source, t, "train", seed=config.seed, index=index)
    select = sample(train[: len(train) // 2], config.select_examples, seed=config.seed, balanced=False)
    pool = train[len(train) // 2:]
    dev = examples(source, t, "dev", limit=config.dev_examples, seed=config.seed + 1, index=index)
    start = time.time()
    cands = [[]] + candidate_demo_sets(t, pool, config.k, config.candidates, config.seed)
    scored = []
    for i, demos in enumerate(cands):
        m = evaluate(scorer, t, select, demos, config.target_recall)
        scored.append({"candidate": i, "demos": demos, "select_accuracy": m["accuracy"],
                       "select_precision_at_recall": m["precision_at_recall"]})
    # best label accuracy; ties broken by precision at the target recall, then fewer demos
    best = max(scored, key=lambda s: (s["select_accuracy"], s["select_precision_at_recall"], -len(s["demos"])))
    search_s = time.time() - start
    dev_metrics = evaluate(scorer, t, dev, best["demos"], config.target_recall)
    out = Path(config.out_path) if config.out_path else cache_dir() / "programs" / f"{t.name}-optimized.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    info = {
        "task": t.name, "signature": t.signature.__name__, "labels": list(t.labels), "model": config.model,
        "demos": best["demos"], "chosen_candidate": best["candidate"], "threshold": dev_metrics["threshold"],
        "filter_threshold": _filter_threshold(t, dev_metrics["threshold"]), "target_recall": config.target_recall,
        "dev": dev_metrics, "candidates": [{k: v for k, v in s.items()} for s in scored],
        "search_s": round(search_s, 1), "config": asdict(config),
    }
    out.write_text(json.dumps(info, indent=2) + "\n")
    return out


def load_optimized(path: str | Path) -> dict:
    return json.loads(Path(path).read_text())


def apply_optimized(filt, path: str | Path, set_threshold: bool = True):
    """Put the optimized demos into ``filt.demos`` (and its threshold); returns the filter."""
    info = load_optimized(path)
    filt.demos = list(info["demos"])
    if set_threshold:
        if info["task"] == "rewrite":
            filt.drop_threshold = float(info["filter_threshold"])
        else:
            filt.threshold = float(info["filter_threshold"])
    return filt
