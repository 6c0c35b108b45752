"""Supervised fine-tune of the small LM as a label-set classifier (rewrite: 3 labels, general: yes/no).

The same recipe as ``tailsynth.training.qsr`` and built from its pieces: the zero-shot
``CompactAdapter`` prompt of the task's signature, the next-token logits after the prompt, and
cross-entropy restricted to the labels' first tokens (``label_cross_entropy``). The saved HF
directory is therefore scored by ``LocalScorer(path)`` exactly as the filters score
(``RewriteFilter(LocalScorer(path))`` / ``GeneralRelevanceFilter(LocalScorer(path))``, no demos);
``classifier.json`` next to the weights holds the task, labels, the threshold at the target recall
on dev and the dev metrics. ``filter_threshold(path)`` converts the threshold into the filter's
own knob (``drop_threshold`` for rewrites, ``threshold`` for general relevance).
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from tailsynth.adapters import CompactAdapter
from tailsynth.classifiers.datasets import GENERAL_SOURCES, ClassifierTask, examples, get_task
from tailsynth.classifiers.evaluate import evaluate
from tailsynth.optim import adamw
from tailsynth.paths import CLASSIFIER_FILE
from tailsynth.thresholds import parse_point
from tailsynth.serving.local_scorer import LocalScorer, label_token_ids
from tailsynth.training.models import (default_out_dir, load_for_training, save_model, set_seed, keeps_threads, set_threads,
                                       trainable_parameters, write_summary)
from tailsynth.training.sequences import build_batch, encode_chat_pair, label_cross_entropy, last_token_logits
from tailsynth.training.train_log import TrainLogger


@dataclass
class ClassifierConfig:
    base_model: str | None = None
    """HF dir of the LM to fine-tune; None = the packaged SmolLM2-135M-Instruct."""
    steps: int = 30
    batch_size: int = 8
    lr: float = 2e-4
    trainable_layers: int | None = 4
    seed: int = 0
    num_threads: int | None = None
    train_examples: int | None = 4000
    """Pool the batches are drawn from (label-balanced sample of the train split); None = all."""
    dev_examples: int = 96
    sources: tuple[str, ...] = GENERAL_SOURCES
    """General task: which kinds of example to train and evaluate on (head / longtail / retrieved)."""
    target_recall: float = 0.95
    eval_baseline: bool = False
    """Also score the untouched base model on the same dev sample (zero-shot) into classifier.json."""
    out_dir: str | None = None
    """Default: cache_dir()/models/classifier-<task>."""
    run_id: str | None = None
    live: bool = True


def prompt_ids(tok, task: ClassifierTask, rows: list[dict]) -> list[list[int]]:
    adapter = CompactAdapter()
    return [encode_chat_pair(tok, adapter.format(task.signature, [], task.prompt_inputs(r)), None)[0] for r in rows]


def label_loss(model, tok, task: ClassifierTask, rows: list[dict], label_ids: list[int]) -> tuple[torch.Tensor, float]:
    """(label-token cross-entropy, batch accuracy) of one batch."""
    batch = build_batch(prompt_ids(tok, task, rows), [[] for _ in rows], tok.pad_token_id)
    logits = last_token_logits(model, batch)
    targets = torch.tensor([task.labels.index(r["label"]) for r in rows])
    loss = label_cross_entropy(logits, label_ids, targets)
    acc = float((logits[:, label_ids].argmax(-1).cpu() == targets).float().mean())
    return loss, acc


@keeps_threads
def train_classifier(task: str, source, config: ClassifierConfig = ClassifierConfig(), store=None, index=None) -> Path:
    """Fine-tune, save the HF dir + ``classifier.json`` + ``metrics.json``; returns the directory.

    ``index`` (a ``CatalogIndex`` of the source's catalog) adds retrieved hard negatives to the
    general task's train and dev examples (see ``classifiers.datasets``)."""
    t = get_task(task)
    set_seed(config.seed)
    set_threads(config.num_threads)
    out_dir = Path(config.out_dir) if config.out_dir else default_out_dir(f"classifier-{t.name}")
    run_id = config.run_id or f"classifier-{t.name}"
    train = examples(source, t, "train", limit=config.train_examples, seed=config.seed, balanced=True, index=index,
                     sources=config.sources)
    dev = examples(source, t, "dev", limit=config.dev_examples, seed=config.seed + 1, index=index, sources=config.sources)
    summary: dict = {"task": t.name, "train_pool": len(train)}
    if config.eval_baseline:
        summary["baseline"] = evaluate(LocalScorer(config.base_model), t, dev, target_recall=config.target_recall)
    model, tok = load_for_training(config.base_model, config.trainable_layers)
    label_ids = label_token_ids(tok, t.labels)
    opt = adamw(trainable_parameters(model), lr=config.lr, weight_decay=0.0)
    logger = TrainLogger(run_id, out_dir, store, live=config.live, title=f"{t.name} relevance classifier")
    rng, start = random.Random(config.seed), time.time()
    for step in range(1, config.steps + 1):
        loss, acc = label_loss(model, tok, t, rng.sample(train, min(config.batch_size, len(train))), label_ids)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trainable_parameters(model), 1.0)
        opt.step(), opt.zero_grad(set_to_none=True)
        logger.log(step, {"loss": loss.item(), "batch_accuracy": acc})
    logger.close()
    train_s = time.time() - start
    model.eval()
    save_model(model, tok, out_dir)
    del model
    start = time.time()
    dev_metrics = evaluate(LocalScorer(str(out_dir)), t, dev, target_recall=config.target_recall)
    info = write_classifier_info(out_dir, t, dev_metrics, config.target_recall, backend="lm", train_s=round(train_s, 1),
                                 eval_s=round(time.time() - start, 1), config=asdict(config),
                                 **({"baseline": summary["baseline"]} if "baseline" in summary else {}))
    write_summary(out_dir, {"config": asdict(config), **summary, **{f"dev_{k}": v for k, v in dev_metrics.items()},
                            "train_s": info["train_s"]})
    return out_dir


def write_classifier_info(out_dir: Path, task: ClassifierTask, dev_metrics: dict, target_recall: float, **extra) -> dict:
    """``classifier.json``: task, labels, the dev threshold at the target recall (and in the filter's
    own convention), dev metrics, plus ``extra`` (backend, timings, config)."""
    info = {
        "task": task.name, "labels": list(task.labels), "positive_labels": list(task.positive),
        "signature": task.signature.__name__, "threshold": dev_metrics["threshold"],
        "target_recall": target_recall, "dev": dev_metrics,
        "filter_threshold": _filter_threshold(task, dev_metrics["threshold"]), **extra,
    }
    (Path(out_dir) / CLASSIFIER_FILE).write_text(json.dumps(info, indent=2, sort_keys=True) + "\n")
    return info


def _filter_threshold(task: ClassifierTask, threshold: float) -> float:
    """The positive-score threshold in the filter's convention: ``RewriteFilter`` drops when
    p(irrelevant) > drop_threshold, i.e. keeps when 1 - p(irrelevant) >= 1 - drop_threshold;
    ``GeneralRelevanceFilter`` keeps when p_yes >= threshold."""
    if threshold != threshold:  # nan: no positives on dev
        return 0.5
    return 1.0 - threshold if task.name == "rewrite" else threshold


def load_classifier_info(path: str | Path) -> dict:
    return json.loads((Path(path) / CLASSIFIER_FILE).read_text())


def filter_threshold(path: str | Path, point: str | None = None) -> float:
    """Stored threshold of a fine-tuned classifier (or optimized program JSON / its dir) in the
    filter's convention: ``RewriteFilter(drop_threshold=...)`` or ``GeneralRelevanceFilter(threshold=...)``.
    ``point`` names one of the stored dev operating points (``"precision=0.9"``, ``"recall=0.8"``;
    see ``thresholds.operating_points``) instead of the default target-recall one."""
    p = Path(path)
    info = load_classifier_info(p) if p.is_dir() else json.loads(p.read_text())
    if point is None:
        return float(info["filter_threshold"])
    parse_point(point)
    points = info.get("dev", {}).get("operating_points", {})
    if point not in points:
        raise ValueError(f"{path}: no stored operating point {point!r}; stored: {sorted(points) or 'none (retrain to store them)'}")
    return _filter_threshold(get_task(info["task"]), float(points[point]["threshold"]))


def load_filter(path: str | Path, device: str | None = None):
    """A ready filter on a fine-tuned classifier directory, with its stored threshold."""
    from tailsynth.programs.general_relevance import GeneralRelevanceFilter
    from tailsynth.programs.rewrite_filter import RewriteFilter

    from tailsynth.config import LMConfig
    from tailsynth.serving import make_scorer

    info = load_classifier_info(path)
    scorer = make_scorer(LMConfig(model=str(path), device=device))
    if info["task"] == "rewrite":
        return RewriteFilter(scorer, drop_threshold=info["filter_threshold"])
    return GeneralRelevanceFilter(scorer, threshold=info["filter_threshold"])
