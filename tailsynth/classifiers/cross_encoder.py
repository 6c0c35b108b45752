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
from tailsynth.programs.general_relevance import check_pair_input
from tailsynth.retrieval.business_relevance import BusinessRelevance, BusinessRelevanceConfig
from tailsynth.serving.cross_encoder_scorer import CrossEncoderScorer
from tailsynth.training.models import default_out_dir


@dataclass
class CrossEncoderClassifierConfig:
    train_examples: int | None = 8000
    """Label- and source-balanced sample of the train split; None = all."""
    dev_examples: int = 1200
    target_recall: float = 0.95
    calibration_sources: tuple[str, ...] | None = ("candidates",)
    """Dev sources the thresholds are chosen on: the synthesis-shaped candidates, because that is
    what the filter judges in the program (all dev rows when none of these is present)."""
    sources: tuple[str, ...] = GENERAL_SOURCES
    train_candidates_per_query: int = 8
    """Synthesis-shaped candidates per judged training query (half relevant when it has them). More
    per query means more of the same-type look-alikes synthesis judges for the same number of
    examples. The dev rows keep 8 a query, so recipes compare on the same rows
    (``benchmarks/general_filter_recipes.py``)."""
    pair_input: str = "query"
    """What the filter reads next to the product: ``"query"``, or ``"rewrite"``, the text that
    retrieved it (the synthesis-shaped candidates are then paired with their rewrite, on train and
    dev alike). Written into ``classifier.json``, which the program reads
    (``programs.general_relevance.pair_input_of``), so it sends the filter what it learned on."""
    seed: int = 0
    """Seeds the training sample and the training run."""
    dev_seed: int = 1
    """Seeds the dev sample, apart from ``seed``: rounds trained with different seeds are
    calibrated and compared on the same dev rows."""
    model: BusinessRelevanceConfig = field(default_factory=lambda: BusinessRelevanceConfig(epochs=2, eval_fraction=0.0))
    out_dir: str | None = None
    """Default: cache_dir()/models/classifier-general-ce."""

    def __post_init__(self) -> None:
        check_pair_input(self.pair_input)  # a bad [general_filter] fails when the run config loads


def train_cross_encoder_classifier(source, config: CrossEncoderClassifierConfig = CrossEncoderClassifierConfig(),
                                   index=None) -> Path:
    """Train, pick the dev thresholds (``calibrate_cross_encoder``), write ``classifier.json``;
    returns the dir. ``config.model.base_model`` may be an earlier output dir, to train on."""
    out_dir = Path(config.out_dir) if config.out_dir else default_out_dir("classifier-general-ce")
    train = examples(source, "general", "train", limit=config.train_examples, seed=config.seed, balanced=True,
                     index=index, sources=config.sources, candidates_per_query=config.train_candidates_per_query,
                     pair_input=config.pair_input)
    start = time.time()
    BusinessRelevance.train([r["query"] for r in train], [r["product"] for r in train], [r["label"] == "yes" for r in train],
                            config.model, out_dir=out_dir)
    calibrate_cross_encoder(source, out_dir, config, index, train_examples=len(train), train_s=round(time.time() - start, 1))
    return out_dir


def calibrate_cross_encoder(source, out_dir: str | Path, config: CrossEncoderClassifierConfig = CrossEncoderClassifierConfig(),
                            index=None, **extra) -> dict:
    """Score the dev split with the cross-encoder in ``out_dir`` and (re)write its ``classifier.json``:
    the threshold at ``config.target_recall`` and the named operating points, chosen on the
    ``calibration_sources`` rows; AUC per source and query type. Cheap (seconds), so a model
    trained elsewhere or further can be calibrated again without retraining."""
    task = get_task("general")
    dev = examples(source, task, "dev", limit=config.dev_examples, seed=config.dev_seed, index=index, sources=config.sources,
                   pair_input=config.pair_input)
    start = time.time()
    dev_metrics = evaluate(CrossEncoderScorer(out_dir), task, dev, target_recall=config.target_recall,
                           calibration_sources=config.calibration_sources)
    return write_classifier_info(Path(out_dir), task, dev_metrics, config.target_recall, backend="cross-encoder",
                                 pair_input=config.pair_input, eval_s=round(time.time() - start, 1), config=asdict(config),
                                 **extra)
