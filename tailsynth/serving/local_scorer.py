"""Logit scoring on an in-process transformers model, with the shared prompt prefix computed once.

All candidates of one query share the instructions and the query; only the product (or
rewrite) differs. We run that common prefix once, repeat its KV cache across the batch and
feed only the differing suffixes: the forward cost is the suffix tokens, not the whole prompt.
"""

from __future__ import annotations

import copy

import numpy as np
import torch

from tailsynth.serving.hf_model import load_lm, render_chat
from tailsynth.serving.kv_cache import cache_kwarg, output_cache
from tailsynth.serving.scorer import Scorer

MIN_SHARED_PREFIX = 8
"""Below this many common tokens a plain padded batch is cheaper than the cache bookkeeping."""


def label_token_ids(tokenizer, labels: tuple[str, ...]) -> list[int]:
    """First token of each label as the assistant would start its answer; they must differ."""
    ids = [tokenizer.encode(label, add_special_tokens=False)[0] for label in labels]
    if len(set(ids)) != len(ids):
        raise ValueError(f"labels {labels} do not start with distinct tokens; choose distinct first words")
    return ids


def common_prefix_length(sequences: list[list[int]]) -> int:
    """Length of the longest token prefix shared by all sequences, leaving each >= 1 own token."""
    limit = min(len(s) for s in sequences) - 1
    n = 0
    while n < limit and all(s[n] == sequences[0][n] for s in sequences):
        n += 1
    return n


class LocalScorer(Scorer):
    """``Scorer`` on a local HF causal LM (default: the packaged SmolLM2)."""

    def __init__(self, model: str | None = None, device: str | None = None, batch_size: int = 64, adapter=None):
        super().__init__(adapter)
        self.path, self.device, self.batch_size = model, device, batch_size

    @property
    def hf(self):
        return load_lm(self.path, self.device)

    def _label_logits(self, prompts: list[list[dict]], labels: tuple[str, ...]) -> np.ndarray:
        model, tok = self.hf
        label_ids = label_token_ids(tok, labels)
        ids = [tok.encode(render_chat(tok, m), add_special_tokens=False) for m in prompts]
        rows = []
        for start in range(0, len(ids), self.batch_size):
            last = self.next_token_logits(ids[start : start + self.batch_size])
            rows.append(last[:, label_ids].float().cpu().numpy())
        return np.concatenate(rows)

    @torch.no_grad()
    def next_token_logits(self, ids: list[list[int]]) -> torch.Tensor:
        """Logits after the last token of each sequence, ``[n, vocab]``, one batched forward."""
        model, tok = self.hf
        shared = common_prefix_length(ids) if len(ids) > 1 else 0
        dev = model.device
        cache = None
        if shared >= MIN_SHARED_PREFIX:
            prefix = torch.tensor([ids[0][:shared]], device=dev)
            cache = output_cache(model(input_ids=prefix, use_cache=True))
            cache = copy.deepcopy(cache)
            cache.batch_repeat_interleave(len(ids))
        else:
            shared = 0
        suffixes = [s[shared:] for s in ids]
        width = max(len(s) for s in suffixes)
        pad = tok.pad_token_id
        input_ids = torch.tensor([s + [pad] * (width - len(s)) for s in suffixes], device=dev)
        mask = torch.tensor([[1] * (shared + len(s)) + [0] * (width - len(s)) for s in suffixes], device=dev)
        positions = torch.arange(shared, shared + width, device=dev).expand(len(ids), -1)
        out = model(
            input_ids=input_ids, attention_mask=mask, position_ids=positions, use_cache=cache is not None,
            **{cache_kwarg(model): cache},
        )
        last = torch.tensor([len(s) - 1 for s in suffixes], device=dev)
        return out.logits[torch.arange(len(ids), device=dev), last]

    @torch.no_grad()
    def perplexity(self, texts: list[str]) -> np.ndarray:
        model, tok = self.hf
        start = tok.bos_token_id if tok.bos_token_id is not None else tok.eos_token_id
        result = []
        for i in range(0, len(texts), self.batch_size):
            seqs = [[start] + tok.encode(t, add_special_tokens=False) for t in texts[i : i + self.batch_size]]
            width = max(len(s) for s in seqs)
            input_ids = torch.tensor([s + [tok.pad_token_id] * (width - len(s)) for s in seqs], device=model.device)
            mask = torch.tensor([[1] * len(s) + [0] * (width - len(s)) for s in seqs], device=model.device)
            logp = torch.log_softmax(model(input_ids=input_ids, attention_mask=mask).logits[:, :-1].float(), -1)
            token_logp = logp.gather(-1, input_ids[:, 1:, None]).squeeze(-1) * mask[:, 1:]
            counts = mask[:, 1:].sum(-1).clamp(min=1)
            result.extend(torch.exp(-token_logp.sum(-1) / counts).cpu().tolist())
        return np.asarray(result)
