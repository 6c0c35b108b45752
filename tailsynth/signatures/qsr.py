"""QSR: query semantic relevance of a rewrite, a binary judgement used as the RL reward (Equation 1)."""

from typing import Literal

import dspy


class QuerySemanticRelevance(dspy.Signature):
    """Does the rewrite keep the meaning and every constraint of the shopping query?"""

    query: str = dspy.InputField(desc="original shopping query")
    rewrite: str = dspy.InputField(desc="candidate rewrite")
    answer: Literal["yes", "no"] = dspy.OutputField()
