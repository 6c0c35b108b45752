"""The RL trainer's numerics, on a tiny randomly initialised model built from a config (no weights
loaded): reward shaping on the policy's device, ρ = 1 at the first PPO epoch under the training
autocast, the learning-rate schedule, and held-out evaluation leaving the run's randomness alone."""

import contextlib
import json

import pytest
import torch
from safetensors.torch import load_file
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten
from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

from tailsynth.serving.hf_model import resolve_lm_dir
from tailsynth.training import reinforce
from tailsynth.training.models import load_for_training, trainable_parameters
from tailsynth.training.reinforce import (RLConfig, lr_scheduler, policy_logprobs, rollout, rollout_batch,
                                          step_advantages, train_rewriter_rl, update_policy)
from tailsynth.training.rewards import Reward
from tailsynth.training.sequences import token_logprobs

CUDA = pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device"))
"""Where a CUDA device exists, the same checks also run on it (real bf16 autocast)."""


@pytest.fixture(scope="module")
def tiny_policy(tmp_path_factory):
    """A 2-layer, 32-wide Llama with the default LM's tokenizer and chat template, random weights."""
    tok = AutoTokenizer.from_pretrained(resolve_lm_dir(None))
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
                         tie_word_embeddings=True, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id)
    out = tmp_path_factory.mktemp("tiny-policy")
    LlamaForCausalLM(config).save_pretrained(out)
    tok.save_pretrained(out)
    return out


class DeviceLog(TorchDispatchMode):
    """Records every aten op (other than an explicit move) whose tensor arguments/results span more
    than one device, and the devices of all results."""

    MOVES = (torch.ops.aten._to_copy.default, torch.ops.aten.copy_.default, torch.ops.aten.lift_fresh.default)

    def __init__(self):
        super().__init__()
        self.mixed, self.result_devices = [], set()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        inputs = [t for t in tree_flatten((args, kwargs))[0] if isinstance(t, torch.Tensor)]
        results = [t for t in tree_flatten(out)[0] if isinstance(t, torch.Tensor)]
        if func not in self.MOVES and len({t.device for t in inputs + results}) > 1:
            self.mixed.append(str(func))
        if func is not torch.ops.aten.lift_fresh.default:  # torch.tensor(list) is born on the CPU, then moved
            self.result_devices |= {t.device for t in results}
        return out


@pytest.mark.parametrize("device", ["meta", CUDA])
@pytest.mark.parametrize("baseline", ["global", "group"])
def test_reward_shaping_runs_on_the_policy_device(baseline, device):
    # on CUDA a CPU rewards tensor added into CUDA token rewards fails; 'meta' stands in for it without one
    dev = torch.device(device)
    old, ref = torch.zeros(4, 6, device=dev), torch.zeros(4, 6, device=dev)
    mask = torch.ones(4, 6)  # built on the CPU like TokenBatch masks
    rewards = [Reward(float(i), 0.0, 0.0, 0.0, True) for i in range(4)]
    cfg = RLConfig(baseline=baseline, samples_per_query=2)
    with DeviceLog() as log:
        adv, kl = step_advantages(rewards, old, ref, mask, cfg)
    assert log.mixed == [] and {d.type for d in log.result_devices} == {dev.type}
    assert adv.device.type == kl.device.type == dev.type


def test_reward_shaping_on_cpu_matches_the_hand_computed_returns():
    old = torch.zeros(2, 3)
    mask = torch.tensor([[1.0, 1.0, 0.0], [1.0, 1.0, 1.0]])
    rewards = [Reward(1.0, 0, 0, 0, True), Reward(3.0, 0, 0, 0, True)]
    adv, kl = step_advantages(rewards, old, old, mask, RLConfig(kl_coef=0.0))
    returns = torch.tensor([1.0, 1.0, 3.0, 3.0, 3.0])  # KL 0: every token's return is its sequence's reward
    expected = (returns - returns.mean()) / returns.std(unbiased=False)
    assert adv[mask.bool()].tolist() == pytest.approx(expected.tolist(), abs=1e-4)
    assert adv[0, 2] == 0 and float(kl.abs().sum()) == 0


def _bf16_cpu_autocast(device):
    """What ``throughput.autocast`` does on CUDA, on the CPU: the numerics the GPU path trains under."""
    return torch.autocast("cpu", dtype=torch.bfloat16) if torch.device(device).type == "cpu" else contextlib.nullcontext()


@pytest.mark.parametrize("device", ["cpu", CUDA])
def test_ppo_ratio_is_exactly_one_at_the_first_epoch_under_autocast(tiny_policy, monkeypatch, device):
    if device == "cpu":  # on CUDA the real bf16 autocast applies
        monkeypatch.setattr(reinforce, "autocast", _bf16_cpu_autocast)
    torch.manual_seed(0)
    model, tok = load_for_training(str(tiny_policy), trainable_layers=1, device=device)
    ro = rollout(model, tok, ["LED bulbs that are not dimmable", "cheaper alternative to a Dyson"], k=5,
                 samples_per_query=2, temperature=1.0, max_new_tokens=8)
    batch = rollout_batch(tok, ro)
    cfg = RLConfig(lr=1e-3, ppo_epochs=2)
    with torch.no_grad():
        old = policy_logprobs(model, batch, cfg.temperature)
        fp32 = token_logprobs(model, batch, cfg.temperature)  # outside the autocast: the old bug
    mask = batch.scored_mask.float().to(old.device)
    assert float(((fp32 - old).abs() * mask).max()) > 1e-4  # the two numerics do differ: the check has teeth
    adv, kl = step_advantages([Reward(float(i % 2), 0, 0, 0, True) for i in range(4)], old, old, mask, cfg)
    assert adv.device == kl.device == old.device == model.device
    before = [p.detach().clone() for p in trainable_parameters(model)]
    update = update_policy(model, opt := torch.optim.AdamW(trainable_parameters(model), lr=cfg.lr), batch, old, adv, cfg)
    assert update["ratio_dev"] == 0.0
    assert any(not torch.equal(a, b) for a, b in zip(before, trainable_parameters(model)))
    assert opt.state  # the optimizer stepped


def _lrs(cfg: RLConfig, start_step: int = 0) -> list[float]:
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=cfg.lr)
    sched = lr_scheduler(opt, cfg, start_step)
    lrs = []
    for _ in range(start_step + 1, cfg.steps + 1):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return lrs


def test_lr_warms_up_then_decays_along_a_cosine_to_the_floor():
    lrs = _lrs(RLConfig(lr=1.0, steps=6, warmup_steps=2, min_lr_ratio=0.1))
    # warmup: s/2; then 0.1 + 0.9 * (1 + cos(pi * (s - 2) / 4)) / 2 for s = 2..6
    assert lrs == pytest.approx([0.5, 1.0, 0.1 + 0.9 * (1 + 2 ** -0.5) / 2, 0.55, 0.1 + 0.9 * (1 - 2 ** -0.5) / 2, 0.1])
    assert _lrs(RLConfig(lr=2.0, steps=3, warmup_steps=0, lr_schedule="constant_with_warmup")) == [2.0, 2.0, 2.0]


def test_a_resumed_schedule_continues_the_same_curve():
    cfg = RLConfig(lr=1e-4, steps=10, warmup_steps=3)
    assert _lrs(cfg, start_step=4) == pytest.approx(_lrs(cfg)[4:])


def test_unknown_schedule_is_refused_when_configured():
    with pytest.raises(ValueError, match="lr_schedule must be one of"):
        RLConfig(lr_schedule="exponential")


class _LengthReward:
    """A reward that varies with the sampled text, so every step has non-zero advantages."""

    def score(self, queries, texts, k):
        return [Reward(len(t) % 7 / 7, 0.0, 0.0, 0.0, True) for t in texts]


def test_heldout_eval_does_not_change_the_run(tiny_policy, world, tmp_path):
    def run(eval_queries: int, name: str):
        cfg = RLConfig(policy=str(tiny_policy), steps=2, queries_per_step=2, samples_per_query=2, max_new_tokens=8,
                       trainable_layers=1, lr=1e-3, seed=3, eval_queries=eval_queries, out_dir=str(tmp_path / name),
                       live=False, resume=False)
        out = train_rewriter_rl(world, cfg, reward_model=_LengthReward())
        log = [json.loads(line) for line in (out / "train_log.jsonl").read_text().splitlines()]
        return load_file(out / "model.safetensors"), log

    weights_off, log_off = run(0, "off")
    weights_on, log_on = run(2, "on")
    assert [h["loss"] for h in log_on] == [h["loss"] for h in log_off]
    assert [h["response_len"] for h in log_on] == [h["response_len"] for h in log_off]
    assert weights_on.keys() == weights_off.keys()
    assert all(torch.equal(weights_on[n], weights_off[n]) for n in weights_off)
    initial = load_file(tiny_policy / "model.safetensors")  # and the run did move the policy
    assert any(not torch.equal(weights_off[n], w) for n, w in initial.items() if n in weights_off)
    assert torch.load(tmp_path / "off" / "checkpoint.pt", weights_only=False)["step"] == 2
