"""What can go wrong with an LM, as exceptions: never an empty result or a neutral score.

A synthesis chunk that raises one of these is not committed, so a resume redoes it once the
endpoint is back (or the model is fixed). Each message is one line that says which model, where,
and what to change.
"""

from __future__ import annotations


class LMError(RuntimeError):
    """An LM call gave nothing usable; the chunk that made it must not be committed."""


class LMUnavailable(LMError):
    """The LM could not be reached, timed out, or kept failing (5xx, 429) after every retry."""


class LMOutputError(LMError):
    """The LM answered, but not with what the caller needs: no logprobs, no label among the
    top-k first tokens, or a generated answer that does not parse."""


def one_line(text: object, limit: int = 300) -> str:
    """An exception text as one bounded line (litellm's messages run over many lines)."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."
