"""Rollouts: rewrite lists sampled from a policy, as token ids and text (RL steps and the
held-out reward both sample this way)."""

from __future__ import annotations

from dataclasses import dataclass

from tailsynth.training.generation import decode, generate_ids
from tailsynth.training.sequences import TokenBatch, build_batch, encode_chat_pair
from tailsynth.training.sft import rewrite_messages
from tailsynth.training.throughput import autocast


@dataclass
class Rollout:
    queries: list[str]  # one per response
    prompts: list[list[int]]
    responses: list[list[int]]
    texts: list[str]


def rollout(model, tok, queries: list[str], k: int, samples_per_query: int, temperature: float, max_new_tokens: int) -> Rollout:
    """Sample ``samples_per_query`` rewrite lists per query from the current policy (under the
    autocast it is scored with)."""
    prompts = [encode_chat_pair(tok, rewrite_messages(q, k), None)[0] for q in queries]
    with autocast(model.device):
        responses = generate_ids(model, tok, prompts, samples_per_query, temperature, max_new_tokens)
    rep = lambda xs: [x for x in xs for _ in range(samples_per_query)]  # noqa: E731
    responses = [r if r else [tok.eos_token_id] for r in responses]  # an empty response still has a last token
    return Rollout(rep(queries), rep(prompts), responses, [decode(tok, r) for r in responses])


def rollout_batch(tok, ro: Rollout) -> TokenBatch:
    return build_batch(ro.prompts, ro.responses, tok.pad_token_id)
