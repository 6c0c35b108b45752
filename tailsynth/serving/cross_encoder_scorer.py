"""A cross-encoder as a yes/no ``Scorer``: the general relevance filter on a CPU-sized backend.

The paper's general filter is a strong LLM scored by its label-token logits (``LocalScorer`` /
``EndpointScorer``). On 2 CPU cores the packaged 135M LM does not learn the long-tail relevance
task within minutes of fine-tuning, while a MiniLM cross-encoder trained on the same labelled
examples does (``tailsynth.classifiers.cross_encoder``). This scorer lets ``GeneralRelevanceFilter``
use one unchanged: p(yes) is the cross-encoder's sigmoid over (first input field, second input
field) of the signature, p(no) = 1 - p(yes). Demos are ignored (a cross-encoder has no prompt) and
label sets other than a positive/negative pair are refused, so it can never judge rewrites by
accident. A model dir is recognised by its ``business_relevance.json``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import dspy
import numpy as np

from tailsynth.retrieval.business_relevance import CONFIG_FILE, is_model_dir
from tailsynth.serving.scorer import Scorer


class CrossEncoderScorer(Scorer):
    def __init__(self, path: str | Path, device: str | None = None, batch_size: int = 64):
        super().__init__()
        if not is_model_dir(path):
            raise FileNotFoundError(f"{path} is not a cross-encoder directory (no {CONFIG_FILE})")
        self.path, self.device, self.batch_size = str(path), device, batch_size
        self._model = None

    @property
    def model(self):
        if self._model is None:
            from tailsynth.retrieval.business_relevance import BusinessRelevance

            self._model = BusinessRelevance.load(self.path, device=self.device)
        return self._model

    def label_probs(
        self,
        signature: type[dspy.Signature],
        inputs: list[dict[str, Any]],
        labels: Sequence[str],
        demos: Sequence[dict] = (),
    ) -> np.ndarray:
        """``[n, 2]``: (p(first label), p(second label)) with the first label the positive one."""
        labels = tuple(labels)
        if len(labels) != 2:
            raise ValueError(f"a cross-encoder scores a yes/no decision, not the labels {labels}; "
                             "use an LM (LocalScorer / EndpointScorer) for this filter")
        if not inputs:
            return np.zeros((0, 2), dtype=np.float64)
        first, second = list(signature.input_fields)[:2]
        p = self.model.score_pairs([str(x[first]) for x in inputs], [str(x[second]) for x in inputs], self.batch_size)
        p = np.asarray(p, dtype=np.float64)
        return np.stack([p, 1.0 - p], axis=1)

    def _label_logits(self, prompts: list[list[dict]], labels: tuple[str, ...]) -> np.ndarray:
        raise NotImplementedError("CrossEncoderScorer scores fields, not prompts; call label_probs")

    def perplexity(self, texts: list[str]) -> np.ndarray:
        raise TypeError("a cross-encoder has no perplexity; use an LM for PDA")
