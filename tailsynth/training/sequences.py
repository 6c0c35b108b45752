"""Token batches of (prompt, response) pairs and their per-token log-probabilities.

Every trainer here scores responses after chat prompts that share a long head (the system
instructions). ``TokenBatch`` keeps that shared head once (``prefix``) and the differing tails
right-padded; ``token_logprobs`` runs the head once without gradient, repeats its KV cache over
the batch and runs only the tails, and applies the LM head only where a target token is scored.
The loss values are exact; the only approximation is that no gradient flows through the shared
head's keys and values (they are recomputed with the current weights each call).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from tailsynth.serving.hf_model import render_chat
from tailsynth.serving.kv_cache import cache_kwarg, output_cache
from tailsynth.serving.local_scorer import common_prefix_length


@dataclass
class TokenBatch:
    """``prefix`` (shared by all rows) + right-padded ``input_ids`` [B, L]; ``target_mask`` marks the
    tokens that are scored (responses), ``attention_mask`` the real (non-pad) tokens."""

    prefix: list[int]
    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    target_mask: torch.Tensor

    @property
    def scored_mask(self) -> torch.Tensor:
        """[B, L-1] mask aligned with ``token_logprobs`` output (token i+1 predicted at position i)."""
        return self.target_mask[:, 1:]


def encode_chat_pair(tok, messages: list[dict], response: str | None) -> tuple[list[int], list[int]]:
    """(prompt ids, response ids) of a chat; the response ids end with the template's end-of-turn
    token(s), so a model trained on them learns to stop."""
    prompt = render_chat(tok, messages, add_generation_prompt=True)
    prompt_ids = tok.encode(prompt, add_special_tokens=False)
    if response is None:
        return prompt_ids, []
    full = render_chat(tok, messages + [{"role": "assistant", "content": response}], add_generation_prompt=False)
    if not full.startswith(prompt):
        raise ValueError("chat template does not extend the generation prompt with the answer")
    tail = full[len(prompt):].rstrip("\n")
    return prompt_ids, tok.encode(tail, add_special_tokens=False)


def build_batch(
    prompts: list[list[int]], responses: list[list[int]], pad_id: int, max_len: int | None = None, share_prefix: bool = True
) -> TokenBatch:
    """Batch of prompt+response rows; responses are cut so a row is at most ``max_len`` tokens."""
    shared = common_prefix_length(prompts) if share_prefix and len(prompts) > 1 else 0
    shared = min(shared, min(len(p) for p in prompts) - 1) if shared else 0
    rows, targets = [], []
    for p, r in zip(prompts, responses):
        if max_len is not None:
            r = r[: max(0, max_len - len(p))]
        rows.append(p[shared:] + r)
        targets.append([0] * (len(p) - shared) + [1] * len(r))
    width = max(len(r) for r in rows)
    pad = lambda xs, v: [x + [v] * (width - len(x)) for x in xs]  # noqa: E731
    return TokenBatch(
        prefix=prompts[0][:shared],
        input_ids=torch.tensor(pad(rows, pad_id)),
        attention_mask=torch.tensor(pad([[1] * len(r) for r in rows], 0)),
        target_mask=torch.tensor(pad(targets, 0)),
    )


def hidden_states(model, batch: TokenBatch) -> torch.Tensor:
    """Last hidden states [B, L, H] of the rows, after the shared prefix (run once, no grad)."""
    dev = model.device
    ids, mask = batch.input_ids.to(dev), batch.attention_mask.to(dev)
    n, width = ids.shape
    cache, shared = None, len(batch.prefix)
    if shared:
        with torch.no_grad():
            cache = output_cache(model.model(input_ids=torch.tensor([batch.prefix], device=dev), use_cache=True))
        cache.batch_repeat_interleave(n)
        mask = torch.cat([torch.ones(n, shared, dtype=mask.dtype, device=dev), mask], dim=1)
    positions = torch.arange(shared, shared + width, device=dev).expand(n, -1)
    out = model.model(input_ids=ids, attention_mask=mask, position_ids=positions, use_cache=cache is not None,
                      **{cache_kwarg(model.model): cache})
    return out.last_hidden_state


def token_logprobs(model, batch: TokenBatch, temperature: float = 1.0) -> torch.Tensor:
    """log p(token_{i+1} | ...) at every scored position, [B, L-1], zero elsewhere."""
    h = hidden_states(model, batch)
    scored = batch.scored_mask.to(h.device).bool()
    logits = model.lm_head(h[:, :-1][scored]).float() / temperature
    targets = batch.input_ids[:, 1:].to(h.device)[scored]
    lp = torch.log_softmax(logits, dim=-1).gather(-1, targets[:, None]).squeeze(-1)
    out = torch.zeros(scored.shape, dtype=lp.dtype, device=h.device)
    out[scored] = lp
    return out


def last_token_logits(model, batch: TokenBatch) -> torch.Tensor:
    """Next-token logits after each row's last real token, [B, vocab] (classifier heads read these)."""
    h = hidden_states(model, batch)
    last = batch.attention_mask.sum(1).to(h.device) - 1
    return model.lm_head(h[torch.arange(h.shape[0], device=h.device), last]).float()


def masked_mean_nll(logp: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    mask = mask.to(logp.device, logp.dtype)
    return -(logp * mask).sum() / mask.sum().clamp(min=1)


def label_cross_entropy(logits: torch.Tensor, label_ids: list[int], targets: torch.Tensor) -> torch.Tensor:
    """Cross-entropy restricted to the label tokens (softmax over just those logits)."""
    return F.cross_entropy(logits[:, label_ids], targets.to(logits.device))
