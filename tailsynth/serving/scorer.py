"""Scores from logits, never from parsed text: label distributions, p_yes and perplexity.

A ``Scorer`` renders a DSPy signature's prompt with the same adapter the LM uses for
generation, then reads the next-token distribution restricted to the label tokens. Whatever
the untrusted inputs say, the output is a probability over the signature's labels and nothing
else. Backends subclass ``Scorer`` (local transformers here, OpenAI-compatible endpoints in
``endpoint_scorer``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

import dspy
import numpy as np

from tailsynth.adapters import CompactAdapter


class Scorer(ABC):
    """One interface for every backend that can return label probabilities and perplexities."""

    def __init__(self, adapter: dspy.Adapter | None = None):
        self.adapter = adapter or CompactAdapter()

    def messages(self, signature: type[dspy.Signature], inputs: dict[str, Any], demos: Sequence[dict] = ()) -> list[dict]:
        return self.adapter.format(signature, list(demos), inputs)

    def label_probs(
        self,
        signature: type[dspy.Signature],
        inputs: list[dict[str, Any]],
        labels: Sequence[str],
        demos: Sequence[dict] = (),
    ) -> np.ndarray:
        """``[len(inputs), len(labels)]`` probabilities, each row summing to 1 over ``labels``."""
        if not inputs:
            return np.zeros((0, len(labels)), dtype=np.float64)
        prompts = [self.messages(signature, x, demos) for x in inputs]
        logits = np.asarray(self._label_logits(prompts, tuple(labels)), dtype=np.float64)
        return softmax(logits)

    def p_yes(self, signature: type[dspy.Signature], inputs: list[dict[str, Any]], demos: Sequence[dict] = ()) -> np.ndarray:
        """Equation 1: exp(z_yes) / (exp(z_yes) + exp(z_no))."""
        return self.label_probs(signature, inputs, ("yes", "no"), demos)[:, 0]

    @abstractmethod
    def _label_logits(self, prompts: list[list[dict]], labels: tuple[str, ...]) -> np.ndarray:
        """Unnormalised log-scores of each label as the first answer token, ``[n, len(labels)]``."""

    @abstractmethod
    def perplexity(self, texts: list[str]) -> np.ndarray:
        """Per-text perplexity under the LM (Equation 2 uses 1/PPL)."""


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)
