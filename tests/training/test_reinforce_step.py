import json

import numpy as np
import pytest
import torch

from tailsynth.serving.hf_model import DEFAULT_LM
from tailsynth.store import Store
from tailsynth.training.models import load_for_training, trainable_parameters
from tailsynth.training.reinforce import (RLConfig, advantages, clipped_surrogate, rollout, rollout_batch,
                                          train_rewriter_rl, update_policy)
from tailsynth.training.rewards import RewardModel, RewardWeights
from tailsynth.training.sequences import token_logprobs


@pytest.mark.integration
def test_one_rl_step_changes_weights_and_lowers_the_surrogate():
    torch.manual_seed(0)
    model, tok = load_for_training(None, trainable_layers=2)
    ro = rollout(model, tok, ["LED bulbs that are not dimmable", "cheaper alternative to a Dyson"], k=5,
                 samples_per_query=2, temperature=1.0, max_new_tokens=12)
    batch = rollout_batch(tok, ro)
    cfg = RLConfig(lr=1e-4, temperature=1.0)
    with torch.no_grad():
        old = token_logprobs(model, batch)
    mask = batch.scored_mask.float()
    adv, kl = advantages(old, old, torch.tensor([1.0, 0.0, 0.5, 0.0]), mask, cfg.kl_coef, cfg.kl_clamp)
    assert float(kl.abs().sum()) == 0.0
    before = [p.detach().clone() for p in trainable_parameters(model)]
    opt = torch.optim.AdamW(trainable_parameters(model), lr=cfg.lr)
    loss_before = update_policy(model, opt, batch, old, adv, cfg)["loss"]
    assert any(not torch.equal(a, b) for a, b in zip(before, trainable_parameters(model)))
    with torch.no_grad():
        loss_after = clipped_surrogate(token_logprobs(model, batch), old, adv, mask, cfg.clip).item()
    assert loss_after < loss_before


class _ConstScorer:
    def p_yes(self, signature, inputs, demos=()):
        return np.full(len(inputs), 0.7)

    def perplexity(self, texts):
        return np.full(len(texts), 20.0)


@pytest.mark.integration
def test_rl_driver_logs_checkpoints_and_resumes(world, tmp_path):
    store = Store(":memory:")
    rm = RewardModel(_ConstScorer(), _ConstScorer(), RewardWeights())
    cfg = RLConfig(policy=DEFAULT_LM, steps=1, queries_per_step=1, samples_per_query=2, max_new_tokens=8,
                   trainable_layers=1, save_every=1, out_dir=str(tmp_path / "rl"), live=False, eval_queries=1)
    train_rewriter_rl(world, cfg, store, reward_model=rm)
    cfg.steps = 2
    out = train_rewriter_rl(world, cfg, store, reward_model=rm)
    steps = [json.loads(line)["step"] for line in (out / "train_log.jsonl").read_text().splitlines()]
    assert steps == [1, 2]
    assert torch.load(out / "checkpoint.pt", weights_only=False)["step"] == 2
    assert (out / "curves.png").exists() and (out / "model.safetensors").exists()
    metrics = {r[0] for r in store.fetch("select metric from train_log where run_id = 'rewriter-rl'")}
    assert {"reward", "qsr", "pda", "diversity", "kl", "format_valid", "response_len", "lr", "ratio_dev"} <= metrics
    summary = json.loads((out / "metrics.json").read_text())  # held-out score of the start survives the resume
    assert summary["heldout_start"]["samples"] == 2 and summary["heldout_end"]["queries"] == 1


@pytest.mark.integration
def test_heldout_reward_scores_a_policy_on_fixed_dev_queries_reproducibly(world):
    from tailsynth.training.policy_eval import dev_queries, heldout_reward

    policy = load_for_training(None, trainable_layers=0)
    rm = RewardModel(_ConstScorer(), _ConstScorer(), RewardWeights())
    cfg = RLConfig(samples_per_query=2, max_new_tokens=16)
    first = heldout_reward(world, policy, cfg, queries=2, reward_model=rm)
    assert first == heldout_reward(world, policy, cfg, queries=2, reward_model=rm)  # same samples
    assert first["samples"] == 4 and first["queries"] == 2 and 0.0 <= first["format_valid"] <= 1.0
    # a valid list earns 0.7 QSR, PDA 1/20 and some diversity; an invalid one earns nothing
    assert first["qsr"] == pytest.approx(0.7 * first["format_valid"])
    assert dev_queries(world, 2) == dev_queries(world, 2) and len(dev_queries(world, 2)) == 2
    with pytest.raises(ValueError, match="no annotated rewrite queries"):
        heldout_reward(world, policy, cfg, queries=2, reward_model=rm, split="nope")
