"""In-batch negatives InfoNCE against hand-computed values and sentence-transformers' own loss."""

import math

import pytest
import torch

from tailsynth.retrieval.losses import InBatchNegativesLoss


def test_loss_matches_hand_computation():
    q = torch.tensor([[1.0, 0.0], [0.0, 2.0]])  # norms differ: the loss uses cosine
    p = torch.tensor([[3.0, 0.0], [1.0, 1.0]])
    loss = InBatchNegativesLoss(temperature=0.5)(q, p)
    s = 1 / math.sqrt(2)
    # row 0: cos to p0 = 1, to p1 = s; row 1: cos to p0 = 0, to p1 = s; logits = cos / 0.5
    row0 = -math.log(math.exp(2) / (math.exp(2) + math.exp(2 * s)))
    row1 = -math.log(math.exp(2 * s) / (math.exp(0) + math.exp(2 * s)))
    assert loss.item() == pytest.approx((row0 + row1) / 2, rel=1e-6)


def test_hard_negatives_join_every_querys_candidates():
    q = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    p = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    n = torch.tensor([[1.0, 0.0]])  # identical to query 0's positive: hurts row 0, mildly row 1
    loss_fn = InBatchNegativesLoss(temperature=1.0)
    e = math.e
    row0 = -math.log(e / (e + 1 + e))
    row1 = -math.log(e / (1 + e + 1))
    assert loss_fn(q, p, n).item() == pytest.approx((row0 + row1) / 2, rel=1e-6)
    assert loss_fn(q, p, torch.zeros(0, 2)).item() == pytest.approx(loss_fn(q, p).item())


def test_equals_sentence_transformers_mnrl():
    from sentence_transformers.sentence_transformer.losses.multiple_negatives_ranking import (
        MultipleNegativesRankingLoss,
    )

    g = torch.Generator().manual_seed(0)
    q, p, n = (torch.randn(5, 8, generator=g) for _ in range(3))
    ours = InBatchNegativesLoss(temperature=0.05)(q, p, n)
    theirs = MultipleNegativesRankingLoss(model=None, scale=20.0).compute_loss_from_embeddings([q, p, n], None)
    assert ours.item() == pytest.approx(theirs.item(), rel=1e-5)


def test_rejects_bad_input():
    with pytest.raises(ValueError):
        InBatchNegativesLoss(temperature=0)
    with pytest.raises(ValueError):
        InBatchNegativesLoss()(torch.zeros(2, 3), torch.zeros(3, 3))
