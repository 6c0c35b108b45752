"""What both LM filters share: a signature judged from label logits, or generated and parsed."""

from __future__ import annotations

import dspy

from tailsynth.adapters import CompactAdapter
from tailsynth.programs.lm_calls import predict_all
from tailsynth.serving.errors import LMOutputError, one_line
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

    def generate(self, inputs: list[dict]) -> list[dspy.Prediction]:
        """One generated answer per input, batched. An answer that does not parse raises
        ``LMOutputError`` (an LM outage ``LMUnavailable``): a judge that cannot say yes or no
        must not keep the pair, nor drop it, so the chunk is left for a resume to redo."""
        lm = self.lm or dspy.settings.lm
        outs = predict_all(self.predict, inputs, lm, CompactAdapter())
        bad = [i for i, o in enumerate(outs) if isinstance(o, Exception)]
        if bad:
            raise LMOutputError(
                f"{getattr(lm, 'model', 'the LM')}: {len(bad)} of {len(outs)} {self.signature.__name__} answers did not "
                f"parse (first: {one_line(outs[bad[0]], 160)}); use mode='logits' or a model that answers with a label")
        return outs
