"""Logit scoring through an OpenAI-compatible endpoint (vLLM in production), via litellm.

Label probabilities come from the chat endpoint's ``top_logprobs`` of the first answer token;
perplexity from the completions endpoint with ``echo`` + ``logprobs`` (the prompt's own token
log-probabilities). Requests run concurrently, each with a timeout; connection errors,
timeouts, 429 and 5xx are retried with backoff, and a batch either scores completely or raises
(``LMUnavailable`` when the endpoint kept failing, ``LMOutputError`` when it answered without
logprobs or without any label among the top-k first tokens): nothing partial, never a neutral
score.
"""

from __future__ import annotations

import asyncio
import math
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import litellm
import numpy as np

from tailsynth.serving.errors import LMError, LMOutputError, LMUnavailable, one_line
from tailsynth.serving.scorer import Scorer

T = TypeVar("T")
TOP_LOGPROBS = 20
MISSING_LABEL_GAP = 5.0
"""A label absent from the top-20 gets (lowest returned logprob - this gap): below everything seen."""


EndpointError = LMError
"""The old name: every endpoint failure is an ``LMError`` (``LMUnavailable`` or ``LMOutputError``)."""


def _retryable(exc: BaseException) -> bool:
    """Timeouts (litellm's carries status 408), connection errors, 429 and 5xx are worth another try."""
    if isinstance(exc, (litellm.Timeout, litellm.APIConnectionError, asyncio.TimeoutError, ConnectionError, OSError)):
        return True
    status = getattr(exc, "status_code", None)
    if isinstance(status, int):
        return status >= 500 or status in (408, 429)
    return False


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
                return await asyncio.wait_for(call(), self.timeout_s + 5.0)  # a guard over litellm's own timeout
            except LMError:
                raise
            except Exception as exc:  # noqa: BLE001 - classified below
                if not _retryable(exc) or attempt == self.retries:
                    kind = "timed out" if isinstance(exc, (litellm.Timeout, asyncio.TimeoutError)) else "failed"
                    raise LMUnavailable(
                        f"{self.model} at {self.api_base} {kind} after {attempt + 1} attempt(s) "
                        f"(timeout {self.timeout_s:g}s): {type(exc).__name__}: {one_line(exc)}"
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
        where = f"{self.model} at {self.api_base}"
        return np.asarray([label_logits_from_top(_top_logprobs(r, where), labels, where) for r in responses])

    def perplexity(self, texts: list[str]) -> np.ndarray:
        def factory(text: str) -> Callable[[], Awaitable[Any]]:
            return lambda: litellm.atext_completion(
                prompt=text, max_tokens=1, temperature=0.0, echo=True, logprobs=1, **self._common()
            )

        responses = self._gather([factory(t) for t in texts])
        return np.asarray([_prompt_perplexity(r, t) for r, t in zip(responses, texts)])


def _get(obj: Any, key: str) -> Any:
    return obj.get(key) if isinstance(obj, dict) else getattr(obj, key, None)


def _top_logprobs(response: Any, where: str = "endpoint") -> list[tuple[str, float]]:
    choices = _get(response, "choices") or []
    content = _get(_get(choices[0], "logprobs"), "content") if choices else None
    top = _get(content[0], "top_logprobs") if content else None
    if not top:
        raise LMOutputError(f"{where} returned no logprobs; serve it with an OpenAI-compatible server that "
                            "supports logprobs/top_logprobs (vLLM does), or use mode='generate'")
    try:
        return [(str(_get(t, "token")), float(_get(t, "logprob"))) for t in top]
    except (TypeError, ValueError) as err:
        raise LMOutputError(f"{where} returned malformed logprobs ({err})") from None


def _norm(token: str) -> str:
    """A token as text to compare: byte-level BPE's "Ġ" and SentencePiece's "▁" spaces, case folded."""
    return token.replace("Ġ", " ").replace("▁", " ").strip().lower()


def label_logits_from_top(top: list[tuple[str, float]], labels: tuple[str, ...], where: str = "endpoint") -> list[float]:
    """Log-score per label: the longest top-logprob token that begins the label.

    Tokens match case-insensitively and without their leading space ("Yes", " yes" and "yes"
    are one answer; the label's exact spelling wins where it was returned, else the best one). The longest match is the label's own
    first token under the server's tokenizer, the same token the local scorer reads, so both
    backends give the same probabilities. A label missing from the top-k gets the lowest
    returned logprob minus ``MISSING_LABEL_GAP``; when no label at all is among them the answer
    is not a label and ``LMOutputError`` is raised (never a 50/50 that passes a threshold).
    """
    seen = [(token, _norm(token), lp) for token, lp in top]
    scores, found = [], False
    for label in labels:
        want = label.lower()
        # (length of the match, exact spelling first, logprob): the local scorer reads the label's
        # own first token, so where the server returned that exact token both backends agree.
        matches = [(len(t), label.startswith(raw), lp) for raw, t, lp in seen if t and want.startswith(t)]
        found |= bool(matches)
        scores.append(max(matches)[2] if matches else None)
    if not found:
        shown = ", ".join(repr(t) for t, _ in top[:8])
        raise LMOutputError(f"{where}: no label of {list(labels)} among the top-{len(top)} first tokens "
                            f"({shown}); the prompt or the model does not answer with a label")
    floor = min(lp for _, lp in top) - MISSING_LABEL_GAP
    return [floor if s is None else s for s in scores]


def _prompt_perplexity(response: Any, text: str) -> float:
    logprobs = _get(response.choices[0], "logprobs")
    values = _get(logprobs, "token_logprobs") or []
    offsets = _get(logprobs, "text_offset") or list(range(len(values)))
    prompt = [lp for lp, off in zip(values, offsets) if lp is not None and off < len(text)]
    if not prompt:
        return math.inf
    return math.exp(-sum(prompt) / len(prompt))
