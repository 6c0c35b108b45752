"""Logit scoring through an OpenAI-compatible endpoint (vLLM in production), via litellm.

Label probabilities come from the chat endpoint's ``top_logprobs`` of the first answer token;
perplexity from the completions endpoint with ``echo`` + ``logprobs`` (the prompt's own token
log-probabilities). Requests run concurrently; connection errors and 5xx are retried with
backoff, and a batch either scores completely or raises ``EndpointError`` (nothing partial).
"""

from __future__ import annotations

import asyncio
import math
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import litellm
import numpy as np

from tailsynth.serving.scorer import Scorer

T = TypeVar("T")
TOP_LOGPROBS = 20
MISSING_LABEL_GAP = 5.0
"""A label absent from the top-20 gets (lowest returned logprob - this gap): below everything seen."""


class EndpointError(RuntimeError):
    """The endpoint could not be reached or kept failing after every retry."""


def _retryable(exc: BaseException) -> bool:
    status = getattr(exc, "status_code", None)
    if status is not None:
        return int(status) >= 500 or int(status) == 429
    return isinstance(exc, (litellm.APIConnectionError, litellm.Timeout, ConnectionError, OSError))


def run_sync(coro_fn: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine from sync code, also when the caller already has an event loop (notebooks)."""
    result: dict[str, Any] = {}

    def target() -> None:
        try:
            result["value"] = asyncio.run(coro_fn())
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            result["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if "error" in result:
        raise result["error"]
    return result["value"]


class EndpointScorer(Scorer):
    """``Scorer`` on an OpenAI-compatible server: ``EndpointScorer("hosted_vllm/Qwen2.5-7B", api_base=...)``."""

    def __init__(
        self,
        model: str,
        api_base: str,
        api_key: str = "EMPTY",
        concurrency: int = 16,
        retries: int = 4,
        backoff_s: float = 0.5,
        timeout_s: float = 60.0,
        adapter=None,
    ):
        super().__init__(adapter)
        self.model, self.api_base, self.api_key = model, api_base, api_key
        self.concurrency, self.retries, self.backoff_s, self.timeout_s = concurrency, retries, backoff_s, timeout_s

    async def _with_retries(self, call: Callable[[], Awaitable[T]]) -> T:
        for attempt in range(self.retries + 1):
            try:
                return await call()
            except Exception as exc:  # noqa: BLE001 - classified below
                if not _retryable(exc) or attempt == self.retries:
                    raise EndpointError(
                        f"{self.model} at {self.api_base} failed after {attempt + 1} attempt(s): {exc}"
                    ) from exc
                await asyncio.sleep(self.backoff_s * 2**attempt)
        raise AssertionError("unreachable")

    def _gather(self, factories: list[Callable[[], Awaitable[T]]]) -> list[T]:
        async def main() -> list[T]:
            gate = asyncio.Semaphore(self.concurrency)

            async def one(factory: Callable[[], Awaitable[T]]) -> T:
                async with gate:
                    return await self._with_retries(factory)

            return await asyncio.gather(*(one(f) for f in factories))

        return run_sync(main)

    def _common(self) -> dict[str, Any]:
        return {"model": self.model, "api_base": self.api_base, "api_key": self.api_key, "timeout": self.timeout_s, "num_retries": 0}

    def _label_logits(self, prompts: list[list[dict]], labels: tuple[str, ...]) -> np.ndarray:
        def factory(messages: list[dict]) -> Callable[[], Awaitable[Any]]:
            return lambda: litellm.acompletion(
                messages=messages, max_tokens=1, temperature=0.0, logprobs=True, top_logprobs=TOP_LOGPROBS, **self._common()
            )

        responses = self._gather([factory(m) for m in prompts])
        return np.asarray([label_logits_from_top(_top_logprobs(r), labels) for r in responses])

    def perplexity(self, texts: list[str]) -> np.ndarray:
        def factory(text: str) -> Callable[[], Awaitable[Any]]:
            return lambda: litellm.atext_completion(
                prompt=text, max_tokens=1, temperature=0.0, echo=True, logprobs=1, **self._common()
            )

        responses = self._gather([factory(t) for t in texts])
        return np.asarray([_prompt_perplexity(r, t) for r, t in zip(responses, texts)])


def _get(obj: Any, key: str) -> Any:
    return obj.get(key) if isinstance(obj, dict) else getattr(obj, key, None)


def _top_logprobs(response: Any) -> list[tuple[str, float]]:
    content = _get(_get(response.choices[0], "logprobs"), "content")
    if not content:
        raise EndpointError("endpoint returned no logprobs; is it an OpenAI-compatible server with logprobs support?")
    return [(_get(t, "token"), float(_get(t, "logprob"))) for t in _get(content[0], "top_logprobs")]


def label_logits_from_top(top: list[tuple[str, float]], labels: tuple[str, ...]) -> list[float]:
    """Log-score per label: the longest top-logprob token that begins the label.

    The longest match is the label's own first token under the server's tokenizer, the same
    token the local scorer reads, so both backends give the same probabilities.
    """
    floor = min(lp for _, lp in top) - MISSING_LABEL_GAP if top else -100.0
    scores = []
    for label in labels:
        matches = [(len(token.strip()), lp) for token, lp in top if token.strip() and label.startswith(token.strip())]
        scores.append(max(matches)[1] if matches else floor)
    return scores


def _prompt_perplexity(response: Any, text: str) -> float:
    logprobs = _get(response.choices[0], "logprobs")
    values = _get(logprobs, "token_logprobs") or []
    offsets = _get(logprobs, "text_offset") or list(range(len(values)))
    prompt = [lp for lp, off in zip(values, offsets) if lp is not None and off < len(text)]
    if not prompt:
        return math.inf
    return math.exp(-sum(prompt) / len(prompt))
