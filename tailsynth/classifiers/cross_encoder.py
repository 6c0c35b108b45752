"""The general relevance filter as a cross-encoder fine-tuned on the same labelled examples as the
LM fine-tune (``classifiers.datasets``: head pairs, long-tail pairs, retrieved hard negatives).

Why it exists: on 2 CPU cores a few hundred steps of the 135M LM fine-tune stay near chance on the
long-tail pairs, while a MiniLM cross-encoder (22M, bidirectional attention between query and
product) sees thousands of examples a minute. The output directory is a ``BusinessRelevance``
model plus the same ``classifier.json`` the LM fine-tune writes (threshold at the target recall on
dev), so ``--relevance-model DIR`` / ``LMConfig(model=DIR)`` picks it up through
``make_scorer`` → ``CrossEncoderScorer``. It is a backend choice for the yes/no filter only; the
rewrite filter's three labels need an LM.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tailsynth.classifiers.datasets import GENERAL_SOURCES, examples, get_task
from tailsynth.classifiers.evaluate import evaluate
from tailsynth.classifiers.finetune import write_classifier_info
from tailsynth.retrieval.business_relevance import BusinessRelevance, BusinessRelevanceConfig
from tailsynth.serving.cross_encoder_scorer import CrossEncoderScorer
from tailsynth.training.models import default_out_dir


@dataclass
class CrossEncoderClassifierConfig:
    train_examples: int | None = 8000
    """Label- and source-balanced sample of the train split; None = all."""
    dev_examples: int = 240
    target_recall: float = 0.95
    sources: tuple[str, ...] = GENERAL_SOURCES
    seed: int = 0
    model: BusinessRelevanceConfig = field(default_factory=lambda: BusinessRelevanceConfig(epochs=2, eval_fraction=0.0))
    out_dir: str | None = None
    """Default: cache_dir()/models/classifier-general-ce."""


def train_cross_encoder_classifier(world, config: CrossEncoderClassifierConfig = CrossEncoderClassifierConfig(),
                                   index=None) -> Path:
    """Train, pick the dev threshold at the target recall, write ``classifier.json``; returns the dir."""
    task = get_task("general")
    out_dir = Path(config.out_dir) if config.out_dir else default_out_dir("classifier-general-ce")
    train = examples(world, task, "train", limit=config.train_examples, seed=config.seed, balanced=True, index=index,
                     sources=config.sources)
    dev = examples(world, task, "dev", limit=config.dev_examples, seed=config.seed + 1, index=index, sources=config.sources)
    start = time.time()
    BusinessRelevance.train([r["query"] for r in train], [r["product"] for r in train], [r["label"] == "yes" for r in train],
                            config.model, out_dir=out_dir)
    train_s = time.time() - start
    start = time.time()
    dev_metrics = evaluate(CrossEncoderScorer(out_dir), task, dev, target_recall=config.target_recall)
    write_classifier_info(out_dir, task, dev_metrics, config.target_recall, backend="cross-encoder",
                          train_examples=len(train), train_s=round(train_s, 1), eval_s=round(time.time() - start, 1),
                          config=asdict(config))
    return out_dir
