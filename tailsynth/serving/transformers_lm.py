"""In-process transformers backend for DSPy: the embedded default LM, no server, no network."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import dspy
import torch

from tailsynth.serving.hf_model import DEFAULT_LM, load_lm, render_chat
from tailsynth.serving.micro_batcher import MicroBatcher


@dataclass(frozen=True)
class _Request:
    prompt: str
    n: int
    temperature: float
    max_tokens: int


class TransformersLM(dspy.BaseLM):
    """A ``dspy.BaseLM`` over a local Hugging Face causal LM (default: SmolLM2-135M-Instruct).

    Concurrent calls (``Predict.batch``, ``dspy.Parallel``) are merged into one batched
    ``generate``; temperature 0 is greedy, so a query's output does not depend on its batch.
    """

    def __init__(
        self,
        model: str | None = None,
        device: str | None = None,
        temperature: float = 0.0,
        max_tokens: int = 96,
        batch_size: int = 16,
        **kwargs: Any,
    ):
        super().__init__(
            model=f"transformers/{model or DEFAULT_LM}",
            model_type="chat",
            temperature=temperature,
            max_tokens=max_tokens,
            cache=False,
            **kwargs,
        )
        self.path = model
        self.device = device
        self._batcher = MicroBatcher(
            self._generate_requests, max_batch=batch_size, key=lambda r: (r.n, r.temperature, r.max_tokens)
        )

    @property
    def hf(self):
        """(model, tokenizer), loaded on first use and shared with the scorers in this process."""
        return load_lm(self.path, self.device)

    def dump_state(self) -> dict[str, Any]:
        state = super().dump_state()
        state.update(model=self.path, device=self.device)
        return state

    def forward(self, prompt: str | None = None, messages: list[dict] | None = None, **kwargs: Any) -> dict:
        merged = {**self.kwargs, **kwargs}
        messages = messages or [{"role": "user", "content": prompt or ""}]
        _, tok = self.hf
        request = _Request(
            prompt=render_chat(tok, messages),
            n=int(merged.get("n") or 1),
            temperature=float(merged.get("temperature") or 0.0),
            max_tokens=int(merged.get("max_tokens") or 96),
        )
        texts, prompt_tokens, completion_tokens = self._batcher(request)
        return {
            "id": f"tailsynth-{time.time_ns()}",
            "object": "chat.completion",
            "model": self.model,
            "choices": [
                {"index": i, "message": {"role": "assistant", "content": t}, "finish_reason": "stop"}
                for i, t in enumerate(texts)
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }

    def generate_texts(
        self, prompts: list[str], n: int = 1, temperature: float = 0.0, max_tokens: int = 96
    ) -> list[list[str]]:
        """Batched generation for already-rendered prompts: ``n`` completions per prompt."""
        requests = [_Request(p, n, temperature, max_tokens) for p in prompts]
        return [texts for texts, _, _ in self._generate_requests(requests)]

    @torch.no_grad()
    def _generate_requests(self, requests: list[_Request]) -> list[tuple[list[str], int, int]]:
        model, tok = self.hf
        first = requests[0]
        tok.padding_side = "left"
        enc = tok([r.prompt for r in requests], return_tensors="pt", padding=True, add_special_tokens=False)
        enc = enc.to(model.device)
        sample = first.temperature > 0
        out = model.generate(
            **enc,
            max_new_tokens=first.max_tokens,
            do_sample=sample,
            temperature=first.temperature if sample else None,
            top_p=0.95 if sample else None,
            top_k=None,
            num_return_sequences=first.n,
            pad_token_id=tok.pad_token_id,
        )
        width = enc["input_ids"].shape[1]
        results = []
        for i in range(len(requests)):
            rows = out[i * first.n : (i + 1) * first.n, width:]
            texts = [tok.decode(row, skip_special_tokens=True).strip() for row in rows]
            prompt_tokens = int(enc["attention_mask"][i].sum())
            completion_tokens = int(sum((row != tok.pad_token_id).sum() for row in rows))
            results.append((texts, prompt_tokens, completion_tokens))
        return results
