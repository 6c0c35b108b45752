"""Query-product relevance: is this product what the ORIGINAL query asks for? yes/no (paper §2.2).

Used as the general relevance filter after the business relevance model; it is a
false-positive filter, so its policy is high recall: only clear mismatches get "no".
"""

from typing import Literal

import dspy

YES_NO: tuple[str, ...] = ("yes", "no")


class ProductRelevance(dspy.Signature):
    """Is the product a good result for the shopping query? Answer no only if it is clearly the wrong product or violates a stated constraint; otherwise yes."""

    query: str = dspy.InputField(desc="original shopping query")
    product: str = dspy.InputField(desc="product title and attributes")
    answer: Literal["yes", "no"] = dspy.OutputField()
