"""What both LM filters share: a signature judged from label logits, or generated and parsed."""

from __future__ import annotations

import dspy

from tailsynth.adapters import CompactAdapter
from tailsynth.serving.scorer import Scorer

MODES = ("logits", "generate")


class LabelJudge(dspy.Module):
    """``mode="logits"``: probabilities from a ``Scorer`` (the default; never parsed text).
    ``mode="generate"``: ``dspy.Predict`` answers, for LMs without logits and for comparison."""

    signature: type[dspy.Signature]

    def __init__(self, scorer: Scorer | None, mode: str, lm: dspy.BaseLM | None):
        super().__init__()
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        if mode == "logits" and scorer is None:
            raise ValueError("mode='logits' needs a scorer")
        self.scorer, self.mode, self.lm = scorer, mode, lm
        self.predict = dspy.Predict(self.signature)
        self.demos: list[dict] = []

    def generate(self, inputs: list[dict]) -> list[dspy.Prediction | None]:
        """One generated answer per input, batched; None where the output did not parse."""
        names = list(self.signature.input_fields)
        examples = [dspy.Example(**x).with_inputs(*names) for x in inputs]
        with dspy.context(lm=self.lm or dspy.settings.lm, adapter=CompactAdapter()):
            return self.predict.batch(examples, max_errors=len(examples) + 1, disable_progress_bar=True, timeout=0)
