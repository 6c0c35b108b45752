"""Rewriter training: SFT, the QSR and PDA reward models, and REINFORCE++ with the multi-reward.

Each step is ``train_x(source, config, store=None) -> Path`` (an HF model directory holding
``metrics.json``, ``train_log.jsonl`` and ``curves.png``); ``source`` is a ``tailsynth.sources.Source``
(SFT, QSR and RL need its annotated rewrite examples; PDA only its catalog)::

    from tailsynth.sources import load_source
    from tailsynth.training import *
    source = load_source("world")
    sft = train_rewriter_sft(source, SFTConfig())
    qsr, pda = train_qsr(source, QSRConfig()), train_pda(source, PDAConfig())
    rl = train_rewriter_rl(source, RLConfig(policy=str(sft), qsr_model=str(qsr), pda_model=str(pda)))
    heldout_reward(source, rl, RLConfig(qsr_model=str(qsr), pda_model=str(pda)))  # vs heldout_reward(source, sft, ...)
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
