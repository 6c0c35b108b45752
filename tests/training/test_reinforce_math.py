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


def test_group_baseline_centres_each_querys_samples():
    from tailsynth.training.reinforce import group_baseline

    r = torch.tensor([1.0, 0.0, 0.0, 0.0, 0.5, 0.5, 0.5, 0.5])  # 2 queries x 4 samples, query-major
    out = group_baseline(r, 4)
    assert torch.allclose(out, torch.tensor([0.75, -0.25, -0.25, -0.25, 0.0, 0.0, 0.0, 0.0]))
    # a query whose samples all score the same teaches nothing, whatever its level
    assert torch.equal(group_baseline(torch.full((4,), 0.9), 4), torch.zeros(4))


def test_moving_average_is_trailing():
    from tailsynth.training.train_log import moving_average

    assert moving_average([1.0, 3.0, 5.0, 7.0], 2) == [1.0, 2.0, 4.0, 6.0]


def test_unknown_baseline_is_refused_when_configured():
    from tailsynth.training.reinforce import RLConfig

    with pytest.raises(ValueError, match="baseline must be one of"):
        RLConfig(baseline="per-token")
