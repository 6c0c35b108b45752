"""Batched sampling from the model being trained (token ids in, token ids out)."""

from __future__ import annotations

import torch


@torch.no_grad()
def generate_ids(
    model, tok, prompts: list[list[int]], n: int = 1, temperature: float = 0.0, max_new_tokens: int = 64
) -> list[list[int]]:
    """``n`` responses per prompt (prompt-major order), each cut after its first end-of-turn token.

    Greedy when ``temperature`` is 0; otherwise plain sampling at that temperature (no top-p/k, so
    the sampled distribution is exactly softmax(logits / T), the one RL scores).
    """
    was_training = model.training
    model.eval()
    width = max(len(p) for p in prompts)
    pad = tok.pad_token_id
    ids = torch.tensor([[pad] * (width - len(p)) + p for p in prompts], device=model.device)
    mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompts], device=model.device)
    sample = temperature > 0
    out = model.generate(
        input_ids=ids, attention_mask=mask, max_new_tokens=max_new_tokens, do_sample=sample,
        temperature=temperature if sample else None, top_p=1.0 if sample else None, top_k=0 if sample else None,
        num_return_sequences=n, pad_token_id=pad, eos_token_id=tok.eos_token_id,
    )
    if was_training:
        model.train()
    responses = []
    for row in out[:, width:].tolist():
        if tok.eos_token_id in row:
            row = row[: row.index(tok.eos_token_id) + 1]
        responses.append(row)
    return responses


def decode(tok, ids: list[int]) -> str:
    return tok.decode(ids, skip_special_tokens=True).strip()
