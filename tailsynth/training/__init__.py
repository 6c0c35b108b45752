"""Rewriter training: SFT, the QSR and PDA reward models, and REINFORCE++ with the multi-reward.

Each step is ``train_x(world, config, store=None) -> Path`` (an HF model directory holding
``metrics.json``, ``train_log.jsonl`` and ``curves.png``)::

    from tailsynth.world import load_world
    from tailsynth.training import *
    world = load_world()
    sft = train_rewriter_sft(world, SFTConfig())
    qsr, pda = train_qsr(world, QSRConfig()), train_pda(world, PDAConfig())
    rl = train_rewriter_rl(world, RLConfig(policy=str(sft), qsr_model=str(qsr), pda_model=str(pda)))
    heldout_reward(world, rl, RLConfig(qsr_model=str(qsr), pda_model=str(pda)))  # vs heldout_reward(world, sft, ...)
"""

from tailsynth.training.pda import PDAConfig, train_pda
from tailsynth.training.policy_eval import heldout_reward
from tailsynth.training.qsr import QSRConfig, train_qsr
from tailsynth.training.reinforce import RLConfig, train_rewriter_rl
from tailsynth.training.rewards import Reward, RewardModel, RewardWeights, diversity, format_valid, parse_rewrites, pda_reward
from tailsynth.training.sft import SFTConfig, train_rewriter_sft

__all__ = [
    "PDAConfig", "QSRConfig", "RLConfig", "SFTConfig", "Reward", "RewardModel", "RewardWeights",
    "diversity", "format_valid", "heldout_reward", "parse_rewrites", "pda_reward",
    "train_pda", "train_qsr", "train_rewriter_rl", "train_rewriter_sft",
]
