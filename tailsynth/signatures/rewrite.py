"""Multi-candidate rewrite: one long-tail query in, k product-language rewrites out (paper §2.1)."""

import dspy


class MultiRewrite(dspy.Signature):
    """Rewrite a shopping query into short product search queries in catalog language: name the product type, keep every constraint (negations, budget, use). Each rewrite covers one plausible sub-intent; never change the meaning."""

    query: str = dspy.InputField(desc="the user's long-tail shopping query")
    rewrites: list[str] = dspy.OutputField(desc="k distinct product search queries, one per line")
