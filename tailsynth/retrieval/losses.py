"""In-batch negatives InfoNCE: the contrastive loss the dense retriever is trained with.

Use it when the training data is (query, relevant product) pairs and nothing else: every other
positive in the batch serves as a negative for a query, so no negatives need labelling. Hard
negatives (products the pipeline retrieved for the query but its relevance filters rejected) can be
added; they join the candidate pool of *every* query in the batch, exactly as
sentence-transformers' ``MultipleNegativesRankingLoss`` treats its ``negative`` columns, so the two
give the same value on the same embeddings (tested).

    logits[i, j] = cos(q_i, c_j) / temperature,   c = [positives ; hard negatives]
    loss = mean_i  CE(logits[i], target = i)

``temperature = 0.05`` equals sentence-transformers' default ``scale = 20``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class InBatchNegativesLoss(nn.Module):
    """InfoNCE over in-batch positives plus an optional flat pool of hard negatives."""

    def __init__(self, temperature: float = 0.05):
        super().__init__()
        if not temperature > 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        self.temperature = temperature

    def logits(self, queries: Tensor, positives: Tensor, negatives: Tensor | None = None) -> Tensor:
        """``[B, B + M]`` cosine similarities over temperature; column ``i`` is query ``i``'s positive."""
        if queries.shape != positives.shape:
            raise ValueError(f"queries {tuple(queries.shape)} and positives {tuple(positives.shape)} differ")
        candidates = positives if negatives is None or len(negatives) == 0 else torch.cat([positives, negatives])
        q = F.normalize(queries.float(), dim=-1)
        c = F.normalize(candidates.float(), dim=-1)
        return q @ c.T / self.temperature

    def forward(self, queries: Tensor, positives: Tensor, negatives: Tensor | None = None) -> Tensor:
        """Mean cross-entropy of each query against its own positive.

        ``queries``/``positives``: ``[B, d]`` embeddings, row-aligned. ``negatives``: ``[M, d]`` hard
        negatives of any rows of the batch (M may be 0 or differ from B).
        """
        logits = self.logits(queries, positives, negatives)
        target = torch.arange(len(queries), device=logits.device)
        return F.cross_entropy(logits, target)
