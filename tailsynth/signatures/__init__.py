"""DSPy signatures of every LM judgement in the pipeline."""

from tailsynth.signatures.product_relevance import YES_NO, ProductRelevance
from tailsynth.signatures.qsr import QuerySemanticRelevance
from tailsynth.signatures.rewrite import MultiRewrite
from tailsynth.signatures.rewrite_relevance import REWRITE_LABELS, RewriteRelevance

__all__ = [
    "MultiRewrite",
    "RewriteRelevance",
    "ProductRelevance",
    "QuerySemanticRelevance",
    "REWRITE_LABELS",
    "YES_NO",
]
