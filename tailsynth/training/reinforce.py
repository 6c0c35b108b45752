"""REINFORCE++ for the multi-candidate rewriter (arXiv 2501.03262, OpenRLHF semantics), one file of
small functions: rollout → reward → KL-shaped token rewards → returns → whitened advantages →
PPO-clip surrogate.

Per step: ``queries_per_step`` training queries, ``samples_per_query`` sampled rewrite lists each
(temperature T, no top-p, so the sampled policy is softmax(logits/T), which is what we score).
For every response token t (end-of-turn token included):
    KL_t  = clamp(log π_old(t) − log π_ref(t), ±kl_clamp)          (k1 estimator)
    r_t   = −kl_coef · KL_t  (+ R at the last token),  R = α·QSR + β·PDA + γ·Div (zero if invalid)
    G_t   = Σ_{s≥t} r_s                                             (γ_discount = 1)
    A_t   = (G_t − mean) / std   over every response token of the global batch
    loss  = −mean_t min(ρ_t A_t, clip(ρ_t, 1±ε) A_t),  ρ_t = π_θ(t)/π_old(t)
``train_rewriter_rl(source, RLConfig())`` → HF directory; resumes from ``checkpoint.pt`` in it.

Every log-prob (old, reference, and the one being optimised) is computed by ``policy_logprobs``
under the same autocast, so ρ_t is exactly 1 at the first PPO epoch (logged as ``ratio_dev``); every
tensor of the reward shaping lives on the policy's device. The learning rate warms up linearly and
then follows ``lr_schedule`` (a transformers scheduler), stepped once per RL step.
"""

from __future__ import annotations

import json
import random
import time
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from transformers import get_scheduler

from tailsynth.optim import adamw
from tailsynth.programs.rewriter import numbered_lists, write_rewriter_info
from tailsynth.sources import as_source
from tailsynth.training.models import (keeps_threads, set_threads, default_out_dir, load_for_training, save_model, set_seed,
                                       trainable_parameters, write_summary)
from tailsynth.training.policy_eval import build_reward_model, heldout_reward  # noqa: F401 - build_reward_model re-exported
from tailsynth.training.rewards import Reward, RewardModel
from tailsynth.training.rollout import Rollout, rollout, rollout_batch  # noqa: F401 - re-exported
from tailsynth.training.sequences import TokenBatch, token_logprobs
from tailsynth.training.throughput import autocast, throughput
from tailsynth.training.train_log import TrainLogger

CHECKPOINT = "checkpoint.pt"


@dataclass
class RLConfig:
    policy: str | None = None
    """Starting policy and KL reference: default cache_dir()/models/rewriter-sft."""
    qsr_model: str | None = None
    """Default cache_dir()/models/qsr."""
    pda_model: str | None = None
    """Default cache_dir()/models/pda."""
    use_pda: bool = True
    """False = the paper's "RL w/o PDA" variant (β term dropped)."""
    pda_mode: str = "inverse"
    """'inverse' = the paper's 1/PPL; 'normalized' = min(1, ref_ppl/PPL), ref_ppl from the PDA dir."""
    alpha: float = 1.0
    beta: float = 0.5
    gamma: float = 0.1
    k: int = 5
    kl_coef: float = 0.01
    kl_clamp: float = 10.0
    queries_per_step: int = 4
    samples_per_query: int = 4
    temperature: float = 1.0
    baseline: str = "global"
    """'global': REINFORCE++ (rewards whitened over the global batch only). 'group': OpenRLHF's
    REINFORCE++-baseline: first subtract each query's mean reward over its samples, so a sample is
    judged against its siblings (far less variance when a few queries dominate a small batch)."""
    max_new_tokens: int = 64
    query_pool: int | None = None
    """Draw each step's queries from the first n training queries only (None = all). A small pool
    revisits queries, so a short CPU run shows whether the loop learns at all."""
    steps: int = 8
    lr: float = 1e-5
    """Peak learning rate, reached after the warmup."""
    warmup_steps: int = 2
    """RL step s ≤ warmup_steps runs at lr·s/warmup_steps (a fresh policy's first advantages are the
    noisiest: whitened over one small batch); 0 = no warmup."""
    lr_schedule: str = "cosine_with_min_lr"
    """After the warmup, a ``transformers.SchedulerType`` over ``steps`` RL steps: the default decays
    along a cosine to ``min_lr_ratio``·lr at the last step; 'constant_with_warmup' keeps lr;
    'linear' / 'cosine' reach 0 at the last step (so that step does not move the policy)."""
    min_lr_ratio: float = 0.1
    """Floor of 'cosine_with_min_lr' as a fraction of lr (OpenRLHF's default); unused otherwise."""
    clip: float = 0.2
    max_grad_norm: float = 1.0
    ppo_epochs: int = 1
    trainable_layers: int | None = 4
    seed: int = 0
    num_threads: int | None = None
    """torch CPU threads (see ``models.set_threads``); None = torch's default."""
    eval_queries: int = 0
    """> 0: score the starting and the final policy on this many fixed dev queries (see
    ``policy_eval``) into metrics.json as ``heldout_start`` / ``heldout_end``; 0 skips it (it costs
    two extra rollouts)."""
    save_every: int = 4
    resume: bool = True
    out_dir: str | None = None
    """Default: cache_dir()/models/rewriter-rl (or rewriter-rl-nopda)."""
    run_id: str | None = None
    live: bool = True

    def __post_init__(self) -> None:
        if self.baseline not in BASELINES:
            raise ValueError(f"baseline must be one of {BASELINES}, got {self.baseline!r}")
        if self.lr_schedule not in LR_SCHEDULES:
            raise ValueError(f"lr_schedule must be one of {LR_SCHEDULES}, got {self.lr_schedule!r}")
        if self.warmup_steps < 0:
            raise ValueError(f"warmup_steps must be >= 0, got {self.warmup_steps}")


BASELINES = ("global", "group")
LR_SCHEDULES = ("cosine_with_min_lr", "constant_with_warmup", "linear", "cosine")
"""The transformers schedules that need nothing but warmup and length (see ``RLConfig.lr_schedule``)."""


# ---------------------------------------------------------------------------------- log-probs
def policy_logprobs(model, batch: TokenBatch, temperature: float) -> torch.Tensor:
    """``token_logprobs`` under the model's training autocast: the one way old, reference and
    current log-probs are computed, so they differ only by the weights."""
    with autocast(model.device):
        return token_logprobs(model, batch, temperature)


# ---------------------------------------------------------------------------------- advantage
def kl_k1(logp: torch.Tensor, ref_logp: torch.Tensor, mask: torch.Tensor, clamp: float = 10.0) -> torch.Tensor:
    """k1 estimator per token, log π − log π_ref, clamped, zero outside the mask."""
    return (logp - ref_logp).clamp(-clamp, clamp) * mask


def shape_rewards(kl: torch.Tensor, rewards: torch.Tensor, mask: torch.Tensor, kl_coef: float) -> torch.Tensor:
    """r_t = −kl_coef·KL_t, with each sequence's scalar reward added at its last masked token."""
    r = -kl_coef * kl * mask
    last = mask.shape[1] - 1 - torch.flip(mask, dims=[1]).float().argmax(1)
    r[torch.arange(mask.shape[0], device=r.device), last] += rewards.to(r.device, r.dtype)
    return r


def returns_to_go(r: torch.Tensor, mask: torch.Tensor, gamma: float = 1.0) -> torch.Tensor:
    """G_t = Σ_{s≥t} γ^{s−t} r_s over masked tokens."""
    out = torch.zeros_like(r)
    running = torch.zeros(r.shape[0], dtype=r.dtype, device=r.device)
    for t in range(r.shape[1] - 1, -1, -1):
        running = r[:, t] + gamma * running * mask[:, t]
        out[:, t] = running
    return out * mask


def whiten(x: torch.Tensor, mask: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """(x − mean) / std over the masked entries of the whole batch (REINFORCE++ global normalisation)."""
    m = mask.to(x.dtype)
    n = m.sum().clamp(min=1)
    mean = (x * m).sum() / n
    var = (((x - mean) * m) ** 2).sum() / n
    return (x - mean) * torch.rsqrt(var + eps) * m


def clipped_surrogate(logp: torch.Tensor, old_logp: torch.Tensor, adv: torch.Tensor, mask: torch.Tensor, clip: float) -> torch.Tensor:
    """PPO-clip policy loss, mean over the batch's masked tokens."""
    ratio = torch.exp(logp - old_logp)
    loss = -torch.minimum(ratio * adv, ratio.clamp(1 - clip, 1 + clip) * adv)
    m = mask.to(loss.dtype)
    return (loss * m).sum() / m.sum().clamp(min=1)


def reward_tensor(rewards: list[Reward], device: torch.device | str, baseline: str = "global",
                  samples_per_query: int = 1) -> torch.Tensor:
    """The sequences' scalar rewards on ``device`` (the policy's), group-centred for 'group'."""
    scalar = torch.tensor([r.total for r in rewards], dtype=torch.float32, device=device)
    return group_baseline(scalar, samples_per_query) if baseline == "group" else scalar


def group_baseline(rewards: torch.Tensor, samples_per_query: int) -> torch.Tensor:
    """Rewards minus the mean reward of the same query's samples (rows are query-major)."""
    grouped = rewards.view(-1, samples_per_query)
    return (grouped - grouped.mean(dim=1, keepdim=True)).reshape(-1)


def advantages(logp_old: torch.Tensor, ref_logp: torch.Tensor, rewards: torch.Tensor, mask: torch.Tensor,
               kl_coef: float, kl_clamp: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(whitened advantages, per-token KL)."""
    kl = kl_k1(logp_old, ref_logp, mask, kl_clamp)
    return whiten(returns_to_go(shape_rewards(kl, rewards, mask, kl_coef), mask), mask), kl


def update_policy(model, opt, batch: TokenBatch, old_logp, adv, config: RLConfig) -> dict[str, float]:
    """``ppo_epochs`` gradient steps on the surrogate. Returns the last epoch's ``loss`` and
    ``ratio_dev``, max |ρ_t − 1| over the scored tokens at the first epoch: 0 when the old log-probs
    were computed like the current ones (``policy_logprobs``); anything else is a numerics bug."""
    mask = batch.scored_mask.to(old_logp.device).float()
    ratio_dev = 0.0
    for epoch in range(config.ppo_epochs):
        logp = policy_logprobs(model, batch, config.temperature)
        if epoch == 0:
            with torch.no_grad():
                ratio_dev = float(((torch.exp(logp - old_logp) - 1).abs() * mask).max()) if mask.any() else 0.0
        loss = clipped_surrogate(logp, old_logp, adv, mask, config.clip)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trainable_parameters(model), config.max_grad_norm)
        opt.step(), opt.zero_grad(set_to_none=True)
    return {"loss": loss.item(), "ratio_dev": ratio_dev}


def lr_scheduler(opt: torch.optim.Optimizer, config: RLConfig, start_step: int = 0):
    """The transformers scheduler of ``config`` over ``config.steps`` RL steps, already at RL step
    ``start_step + 1`` (so a resumed run continues the same curve). Step s runs at lr·λ(s), so
    neither a warmup's first step nor cosine_with_min_lr's last runs at lr 0; call ``.step()``
    after each RL step's update."""
    for group in opt.param_groups:  # the peak is this config's lr, whatever a checkpoint's groups hold
        group["initial_lr"] = config.lr
    kwargs = {"min_lr_rate": config.min_lr_ratio} if config.lr_schedule == "cosine_with_min_lr" else None
    sched = get_scheduler(config.lr_schedule, opt, num_warmup_steps=config.warmup_steps,
                          num_training_steps=config.steps, scheduler_specific_kwargs=kwargs)
    with warnings.catch_warnings():  # fast-forwarding before any optimizer.step() is intended
        warnings.filterwarnings("ignore", message=r"Detected call of `lr_scheduler.step\(\)`")
        for _ in range(start_step + 1):
            sched.step()
    return sched


def step_advantages(rewards: list[Reward], old_logp: torch.Tensor, ref_logp: torch.Tensor, mask: torch.Tensor,
                    config: RLConfig) -> tuple[torch.Tensor, torch.Tensor]:
    """One RL step's (advantages, KL), every tensor on the policy's device (that of ``old_logp``)."""
    scalar = reward_tensor(rewards, old_logp.device, config.baseline, config.samples_per_query)
    return advantages(old_logp, ref_logp, scalar, mask.to(old_logp.device), config.kl_coef, config.kl_clamp)


# ---------------------------------------------------------------------------------- checkpoints
def save_checkpoint(path: Path, model, opt, step: int) -> None:
    state = {"step": step, "optimizer": opt.state_dict(),
             "trainable": {n: p.detach().cpu() for n, p in model.named_parameters() if p.requires_grad},
             "rng": random.getstate(), "torch_rng": torch.get_rng_state()}
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    tmp.replace(path)


def load_checkpoint(path: Path, model, opt) -> int:
    state = torch.load(path, weights_only=True)  # tensors, numbers, tuples: no pickled code
    params = dict(model.named_parameters())
    with torch.no_grad():
        for name, value in state["trainable"].items():
            params[name].copy_(value)
    opt.load_state_dict(state["optimizer"])
    random.setstate(state["rng"])
    torch.set_rng_state(state["torch_rng"])
    return int(state["step"])


# ---------------------------------------------------------------------------------- driver
def step_metrics(rewards: list[Reward], kl: torch.Tensor, mask: torch.Tensor, seconds: float) -> dict[str, float]:
    m = mask.float()
    return {
        "reward": float(np.mean([r.total for r in rewards])),
        "qsr": float(np.mean([r.qsr for r in rewards])),
        "pda": float(np.mean([r.pda for r in rewards])),
        "diversity": float(np.mean([r.diversity for r in rewards])),
        "format_valid": float(np.mean([r.valid for r in rewards])),
        "kl": float((kl * m).sum() / m.sum().clamp(min=1)),
        "response_len": float(m.sum(1).mean()),
        "samples_per_s": len(rewards) / seconds,
    }


@keeps_threads
def train_rewriter_rl(source, config: RLConfig = RLConfig(), store=None, reward_model: RewardModel | None = None) -> Path:
    set_seed(config.seed)
    set_threads(config.num_threads)
    name = "rewriter-rl" if config.use_pda else "rewriter-rl-nopda"
    out_dir = Path(config.out_dir) if config.out_dir else default_out_dir(name)
    out_dir.mkdir(parents=True, exist_ok=True)
    policy_path = config.policy or str(default_out_dir("rewriter-sft"))
    model, tok = load_for_training(policy_path, config.trainable_layers)
    ref, _ = load_for_training(policy_path, 0)
    ref.eval().requires_grad_(False)
    opt = adamw(trainable_parameters(model), lr=config.lr, weight_decay=0.0)
    ckpt = out_dir / CHECKPOINT
    start_step = load_checkpoint(ckpt, model, opt) if config.resume and ckpt.exists() else 0
    sched = lr_scheduler(opt, config, start_step)
    reward_model = reward_model or build_reward_model(config)
    queries = [r["query"] for r in as_source(source).require("rewrite_examples", "train")][: config.query_pool]
    logger = TrainLogger(config.run_id or name, out_dir, store, live=config.live, title=f"REINFORCE++ {config.run_id or name}",
                         start_step=start_step)
    started = time.time()
    start_file = out_dir / "heldout_start.json"  # kept on disk so a resumed run still reports it
    if config.eval_queries and start_step == 0:
        start_file.write_text(json.dumps(heldout_reward(source, (model, tok), config, config.eval_queries, reward_model)))
    for step in range(start_step + 1, config.steps + 1):
        rng_step = random.Random(config.seed * 100_003 + step)  # the same queries after a resume
        t = time.time()
        ro = rollout(model, tok, rng_step.sample(queries, config.queries_per_step), config.k,
                     config.samples_per_query, config.temperature, config.max_new_tokens)
        t_rollout = time.time()
        rewards = reward_model.score(ro.queries, ro.texts, config.k)
        t_reward = time.time()
        batch = rollout_batch(tok, ro)
        with torch.no_grad():
            old_logp = policy_logprobs(model, batch, config.temperature)
            ref_logp = policy_logprobs(ref, batch, config.temperature)
        mask = batch.scored_mask.to(old_logp.device).float()
        adv, kl = step_advantages(rewards, old_logp, ref_logp, mask, config)
        lr = opt.param_groups[0]["lr"]
        update = update_policy(model, opt, batch, old_logp, adv, config)
        sched.step()
        elapsed = time.time() - t
        tokens = int(batch.attention_mask.sum()) + len(batch.prefix) * batch.input_ids.shape[0]
        phases = {"rollout_s": t_rollout - t, "reward_s": t_reward - t_rollout, "update_s": time.time() - t_reward}
        logger.log(step, {**step_metrics(rewards, kl, mask, elapsed), **update, "lr": lr, **phases,
                          **throughput(model, tokens * config.ppo_epochs, elapsed)})
        if step % config.save_every == 0 or step == config.steps:
            save_checkpoint(ckpt, model, opt, step)
    logger.close()
    model.eval()
    save_model(model, tok, out_dir)
    write_rewriter_info(out_dir, numbered_lists(policy_path))  # the policy keeps its list format
    hist = logger.history
    summary: dict = {"steps": config.steps, "train_s": round(time.time() - started, 1)}
    if config.eval_queries:
        if start_file.exists():
            summary["heldout_start"] = json.loads(start_file.read_text())
        summary["heldout_end"] = heldout_reward(source, (model, tok), config, config.eval_queries, reward_model)
    if hist:  # per-step values are noisy (each step draws other queries): compare quarter means
        n = max(1, len(hist) // 4)
        summary["quarter_steps"] = n
        for key in ("reward", "qsr", "pda", "diversity", "format_valid", "kl"):
            summary[f"{key}_first_quarter"] = float(np.mean([h[key] for h in hist[:n]]))
            summary[f"{key}_last_quarter"] = float(np.mean([h[key] for h in hist[-n:]]))
        summary["samples_per_s"] = float(np.mean([h["samples_per_s"] for h in hist]))
    write_summary(out_dir, {"config": asdict(config), **summary})
    return out_dir
