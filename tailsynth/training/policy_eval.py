"""The RL reward of a rewriter policy on fixed held-out queries.

Each RL step draws other training queries, so the per-step reward curve mixes learning with
query difficulty. Scoring the policy before and after training on the same dev queries, with the
same reward model and sampling settings, is the comparison that says whether RL helped:
``heldout_reward(source, policy_dir, RLConfig(), queries=32)``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from tailsynth.serving.local_scorer import LocalScorer
from tailsynth.sources import as_source
from tailsynth.training.models import default_out_dir, load_for_training, read_summary
from tailsynth.training.rewards import RewardModel, RewardWeights
from tailsynth.training.rollout import rollout

FIELDS = {"reward": "total", "qsr": "qsr", "pda": "pda", "diversity": "diversity", "format_valid": "valid"}
"""metric name → ``Reward`` field."""


def dev_queries(source, n: int, split: str = "dev") -> list[str]:
    """The first ``n`` annotated queries of the split: the same set for every policy compared."""
    return [r["query"] for r in as_source(source).rewrite_examples(split) or []][:n]


def build_reward_model(config) -> RewardModel:
    """The reward model an ``RLConfig`` names: QSR, and PDA unless ``use_pda`` is off."""
    qsr = LocalScorer(config.qsr_model or str(default_out_dir("qsr")))
    pda_dir = config.pda_model or str(default_out_dir("pda"))
    pda = LocalScorer(pda_dir) if config.use_pda else None
    ref_ppl = read_summary(Path(pda_dir)).get("ref_ppl") if config.use_pda else None
    weights = RewardWeights(config.alpha, config.beta if config.use_pda else 0.0, config.gamma)
    return RewardModel(qsr, pda, weights, config.pda_mode, ref_ppl)


def fork_rng(device: torch.device | str):
    """``torch.random.fork_rng`` over the CPU and, on CUDA, ``device``'s generator (HF ``generate``
    samples from the global generators, so a local ``torch.Generator`` cannot be passed down)."""
    device = torch.device(device)
    cuda = [device] if device.type == "cuda" else []
    return torch.random.fork_rng(devices=cuda)


@torch.no_grad()
def heldout_reward(source, policy, config, queries: int = 32, reward_model: RewardModel | None = None,
                   split: str = "dev", seed: int = 0, batch_queries: int = 8) -> dict[str, float]:
    """Mean reward components over ``config.samples_per_query`` samples (at ``config.temperature``)
    for each of the first ``queries`` queries of ``split``. ``policy`` is a model dir or a loaded
    ``(model, tokenizer)``; the seed fixes the samples, so two policies see the same randomness, and
    the global torch RNG is restored afterwards, so a training run's ``seed`` alone decides its
    samples whether or not it evaluates held-out."""
    model, tok = load_for_training(str(policy), 0) if isinstance(policy, (str, Path)) else policy
    reward_model = reward_model or build_reward_model(config)
    texts = dev_queries(source, queries, split)
    if not texts:
        raise ValueError(f"no annotated rewrite queries in split {split!r}")
    rewards = []
    with fork_rng(model.device):  # seeded samples here; the caller's RNG stream (training) untouched
        torch.manual_seed(seed)
        for i in range(0, len(texts), batch_queries):
            ro = rollout(model, tok, texts[i : i + batch_queries], config.k, config.samples_per_query,
                         config.temperature, config.max_new_tokens)
            rewards += reward_model.score(ro.queries, ro.texts, config.k)
    out = {metric: float(np.mean([getattr(r, field) for r in rewards])) for metric, field in FIELDS.items()}
    return {**out, "samples": len(rewards), "queries": len(texts)}
