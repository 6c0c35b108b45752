"""The two filter classifiers of paper §2.2 (rewrite relevance, general query-product relevance):
labelled data from a data source (``tailsynth.sources``), decision thresholds at a target recall, a logit-scored
few-shot prompt optimiser, a supervised fine-tune of the small LM, and their comparison.

- ``datasets``: ``TASKS``, ``examples(source, task, split)``
- ``thresholds``: ``threshold_at_recall(scores, truth, target_recall)``,
  ``threshold_at_precision(scores, truth, target_precision)``, named ``operating_points``
- ``finetune``: ``train_classifier(task, source, ClassifierConfig())`` → HF dir + ``classifier.json``
- ``optimize``: ``optimize_prompt(task, source, OptimizeConfig())`` → optimized-program JSON
- ``compare``: ``compare_classifiers(source, store, ...)`` → zero-shot vs optimized vs fine-tuned
"""

from tailsynth.classifiers.datasets import TASKS, ClassifierTask, examples, get_task
from tailsynth.thresholds import ThresholdResult, operating_points, threshold_at_precision, threshold_at_recall

__all__ = ["TASKS", "ClassifierTask", "examples", "get_task", "ThresholdResult", "operating_points",
           "threshold_at_precision", "threshold_at_recall"]
