"""Dev accuracy of the filters' three variants: zero-shot prompt, optimized few-shot prompt and
fine-tuned LM, on the same dev sample per task; rows go to ``eval_results`` (suite
``classifiers``, system ``zero_shot|optimized|finetuned``, qtype = the task name)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.table import Table

from tailsynth.classifiers.datasets import examples, get_task
from tailsynth.classifiers.evaluate import evaluate
from tailsynth.classifiers.finetune import ClassifierConfig, train_classifier
from tailsynth.classifiers.optimize import OptimizeConfig, load_optimized, optimize_prompt
from tailsynth.serving.local_scorer import LocalScorer

SUITE = "classifiers"
SYSTEMS = ("zero_shot", "optimized", "finetuned")


@dataclass
class CompareConfig:
    tasks: tuple[str, ...] = ("rewrite", "general")
    base_model: str | None = None
    dev_examples: int = 64
    target_recall: float = 0.95
    seed: int = 0
    optimize: OptimizeConfig = field(default_factory=OptimizeConfig)
    finetune: ClassifierConfig = field(default_factory=lambda: ClassifierConfig(live=False))
    optimized_paths: dict[str, str] = field(default_factory=dict)
    """task → existing optimized-program JSON (skips the search)."""
    finetuned_paths: dict[str, str] = field(default_factory=dict)
    """task → existing fine-tuned classifier dir (skips training)."""


def compare_classifiers(source, store=None, config: CompareConfig = CompareConfig(), run_id: str = "classifiers",
                        console: Console | None = None, index=None) -> dict[str, dict[str, dict[str, float]]]:
    """{task: {system: metrics}}; metrics include accuracy, threshold, precision_at_recall, seconds.
    ``index`` adds retrieved hard negatives to the general task's data (see ``classifiers.datasets``)."""
    results: dict[str, dict[str, dict[str, float]]] = {}
    base = LocalScorer(config.base_model)
    for task in config.tasks:
        t = get_task(task)
        dev = examples(source, t, "dev", limit=config.dev_examples, seed=config.seed + 1, index=index)
        res: dict[str, dict[str, float]] = {}
        start = time.time()
        res["zero_shot"] = evaluate(base, t, dev, (), config.target_recall)
        res["zero_shot"]["seconds"] = time.time() - start

        start = time.time()
        opt_path = config.optimized_paths.get(task) or optimize_prompt(
            task, source, _with(config.optimize, model=config.base_model, target_recall=config.target_recall), index=index)
        demos = load_optimized(opt_path)["demos"]
        res["optimized"] = evaluate(base, t, dev, demos, config.target_recall)
        res["optimized"].update(seconds=time.time() - start, demos=float(len(demos)))

        start = time.time()
        ft_path = config.finetuned_paths.get(task) or train_classifier(
            task, source, _with(config.finetune, base_model=config.base_model, target_recall=config.target_recall),
            index=index)
        res["finetuned"] = evaluate(LocalScorer(str(ft_path)), t, dev, (), config.target_recall)
        res["finetuned"]["seconds"] = time.time() - start
        results[task] = res
    if store is not None:
        store.insert("eval_results", [
            (run_id, SUITE, system, task, metric, float(value))
            for task, by_system in results.items() for system, metrics in by_system.items()
            for metric, value in _flat(metrics).items()
        ])
    (console or Console()).print(render(results))
    return results


def _flat(metrics: dict) -> dict[str, float]:
    """``{"accuracy_by_source": {"head": .9}}`` → ``{"accuracy_by_source.head": .9}``."""
    out: dict[str, float] = {}
    for k, v in metrics.items():
        if isinstance(v, dict):
            out.update({f"{k}.{g}": float(x) for g, x in v.items()})
        else:
            out[k] = float(v)
    return out


def _with(cfg, **changes):
    from dataclasses import replace

    return replace(cfg, **{k: v for k, v in changes.items() if hasattr(cfg, k)})


def render(results: dict[str, dict[str, dict[str, float]]]) -> Table:
    table = Table(title="Filter classifiers on dev: zero-shot vs optimized prompt vs fine-tuned")
    for col in ("task", "system", "n", "label acc", "keep/drop acc", "thr @ recall", "precision", "recall", "s"):
        table.add_column(col, justify="right")
    for task, by_system in results.items():
        for system, m in by_system.items():
            table.add_row(task, system, f"{m['examples']:.0f}", f"{m['accuracy']:.1%}", f"{m['binary_accuracy']:.1%}",
                          f"{m['threshold']:.3f}", f"{m['precision_at_recall']:.1%}", f"{m['recall']:.1%}",
                          f"{m.get('seconds', float('nan')):.0f}")
    return table


def stored_results(store, run_id: str = "classifiers") -> list[tuple]:
    return store.fetch("SELECT system, qtype, metric, value FROM eval_results WHERE run_id = ? AND suite = ? "
                       "ORDER BY qtype, system, metric", [run_id, SUITE])


__all__ = ["CompareConfig", "compare_classifiers", "render", "stored_results", "SYSTEMS", "SUITE", "Path"]
