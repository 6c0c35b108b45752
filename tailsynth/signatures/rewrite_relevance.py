"""Rewrite relevance: does a rewrite keep the original query's intent? Three labels (paper §2.2)."""

from typing import Literal

import dspy

REWRITE_LABELS: tuple[str, ...] = ("relevant", "partial", "irrelevant")
"""Label strings as the model writes them; ``partial`` stands for *partially relevant*.

Each label starts with a different token, so one forward pass scores all three from the logits.
"""


class RewriteRelevance(dspy.Signature):
    """Does the rewrite search for products that satisfy the shopping query? Be conservative: answer irrelevant only when the rewrite clearly changes the product or breaks a constraint."""

    query: str = dspy.InputField(desc="original shopping query")
    rewrite: str = dspy.InputField(desc="candidate rewrite")
    label: Literal["relevant", "partial", "irrelevant"] = dspy.OutputField()
