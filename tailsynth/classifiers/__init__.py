"""The two filter classifiers of paper §2.2 (rewrite relevance, general query-product relevance):
labelled data from the demo world, decision thresholds at a target recall, a logit-scored
few-shot prompt optimiser, a supervised fine-tune of the small LM, and their comparison.

- ``datasets``: ``TASKS``, ``examples(world, task, split)``
- ``thresholds``: ``threshold_at_recall(scores, truth, target_recall)``,
  ``threshold_at_precision(scores, truth, target_precision)``, named ``operating_points``
- ``finetune``: ``train_classifier(task, world, ClassifierConfig())`` → HF dir + ``classifier.json``
- ``optimize``: ``optimize_prompt(task, world, OptimizeConfig())`` → optimized-program JSON
- ``compare``: ``compare_classifiers(world, store, ...)`` → zero-shot vs optimized vs fine-tuned
"""

from tailsynth.classifiers.datasets import TASKS, ClassifierTask, examples, get_task
from tailsynth.classifiers.thresholds import ThresholdResult, operating_points, threshold_at_precision, threshold_at_recall

__all__ = ["TASKS", "ClassifierTask", "examples", "get_task", "ThresholdResult", "operating_points",
           "threshold_at_precision", "threshold_at_recall"]
