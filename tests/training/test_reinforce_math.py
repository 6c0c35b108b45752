import torch
import pytest

from tailsynth.training.reinforce import clipped_surrogate, kl_k1, returns_to_go, shape_rewards, whiten


def test_kl_k1_clamps_and_masks():
    logp = torch.tensor([[0.0, -1.0, -30.0]])
    ref = torch.tensor([[-0.5, -1.0, 0.0]])
    mask = torch.tensor([[1.0, 1.0, 0.0]])
    assert kl_k1(logp, ref, mask, clamp=10).tolist() == [[0.5, 0.0, 0.0]]
    assert kl_k1(torch.tensor([[20.0]]), torch.tensor([[0.0]]), torch.ones(1, 1), clamp=10).item() == 10


def test_shape_rewards_puts_scalar_on_last_token_and_returns_sum():
    kl = torch.tensor([[1.0, 2.0, 3.0, 0.0], [1.0, 1.0, 0.0, 0.0]])
    mask = torch.tensor([[1.0, 1.0, 1.0, 0.0], [0.0, 1.0, 1.0, 0.0]])
    r = shape_rewards(kl * mask, torch.tensor([1.0, 2.0]), mask, kl_coef=0.1)
    assert r.flatten().tolist() == pytest.approx([-0.1, -0.2, 0.7, 0.0, 0.0, -0.1, 2.0, 0.0])
    g = returns_to_go(r, mask)
    assert g.flatten().tolist() == pytest.approx([0.4, 0.5, 0.7, 0.0, 0.0, 1.9, 2.0, 0.0])


def test_whiten_over_masked_entries_only():
    x = torch.tensor([[1.0, 3.0, 100.0]])
    mask = torch.tensor([[1.0, 1.0, 0.0]])
    w = whiten(x, mask)
    assert w.flatten().tolist() == pytest.approx([-1.0, 1.0, 0.0], abs=1e-4)


def test_clipped_surrogate():
    adv = torch.tensor([[1.0, -1.0]])
    mask = torch.ones(1, 2)
    old = torch.zeros(1, 2)
    assert clipped_surrogate(old, old, adv, mask, 0.2).item() == pytest.approx(0.0)
    # ratio e^1 on a positive advantage is clipped at 1.2; ratio e^-1 on a negative one at 0.8 ... min picks the worse
    logp = torch.tensor([[1.0, -1.0]])
    loss = clipped_surrogate(logp, old, adv, mask, 0.2).item()
    assert loss == pytest.approx(-(1.2 + -0.8) / 2)
