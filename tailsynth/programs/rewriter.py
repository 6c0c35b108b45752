"""Multi-candidate rewriter: a long-tail query becomes k product-language rewrites (paper §2.1)."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from pathlib import Path

import dspy

from tailsynth.adapters import CompactAdapter
from tailsynth.programs.lm_calls import predict_all
from tailsynth.signatures import MultiRewrite

log = logging.getLogger(__name__)
MAX_REWRITE_WORDS = 16
"""Longer outputs are rambling, not search queries; they are cut to this many words."""
_WORD = re.compile(r"[^\W\d_]{2,}")  # a rewrite must contain a word, not just "1. 2. 3."
_NON_WORD = re.compile(r"[\W_]+")


REWRITER_FILE = "rewriter.json"
"""Written by the rewriter trainers into their model dirs: the list format the model learned."""


def write_rewriter_info(out_dir: str | Path, numbered: bool) -> None:
    (Path(out_dir) / REWRITER_FILE).write_text(json.dumps({"numbered": numbered}))


def numbered_lists(model: str | Path | None) -> bool:
    """Whether the rewriter at this local dir was trained to write numbered lists (False for the
    packaged model, a served one, or a dir without ``rewriter.json``)."""
    path = Path(model) / REWRITER_FILE if model else None
    return bool(path and path.is_file() and json.loads(path.read_text()).get("numbered"))


def rewrite_signature(k: int) -> type[dspy.Signature]:
    return MultiRewrite.with_instructions(f"{MultiRewrite.instructions} Write {k} rewrites.")


def rewrite_key(text: str) -> str:
    """What two rewrites (or a rewrite and its query) must differ in to count as different: case,
    runs of whitespace and punctuation are not differences ("Door-Seal." == "door seal"), digits are
    ("2.5 gallon" != "25 gallon")."""
    return " ".join(_NON_WORD.sub(" ", str(text).casefold()).split())


def clean_rewrites(raw: list[str], k: int, query: str = "") -> list[str]:
    """The rewrites inference uses, at most k: each cut to MAX_REWRITE_WORDS words and trimmed, kept
    only if it contains a word of 2+ letters and its ``rewrite_key`` differs from the query's and from
    every earlier kept rewrite's. The RL format gate (``training.rewards.format_valid``) applies this
    same function, so the policy is never rewarded for an item this drops."""
    seen = {rewrite_key(query)} if query else set()
    result = []
    for text in raw:
        text = " ".join(str(text).split()[:MAX_REWRITE_WORDS]).strip(" .,;")
        key = rewrite_key(text)
        if _WORD.search(text) and key not in seen:
            seen.add(key)
            result.append(text)
        if len(result) == k:
            break
    return result


class Rewriter(dspy.Module):
    """``Rewriter(k=5)(query="...").rewrites``; ``batch_rewrite`` runs many queries concurrently
    so a local backend merges them into batched generation. ``numbered``: the list format of the
    demos and of what the model writes (``numbered_lists(dir)`` for a trained rewriter).
    ``demo_picker``: query → its own few-shot demos (``programs.demos.NearestDemos``), in place of
    the fixed ``predict.demos``."""

    def __init__(self, k: int = 5, lm: dspy.BaseLM | None = None, temperature: float = 0.0, max_tokens: int = 64,
                 threads: int = 16, numbered: bool = False, demo_picker: Callable[[str], list] | None = None):
        super().__init__()
        self.k, self.lm, self.threads, self.numbered, self.demo_picker = k, lm, threads, numbered, demo_picker
        self.lm_kwargs = {"temperature": temperature, "max_tokens": max_tokens}
        self.predict = dspy.Predict(rewrite_signature(k))

    def _lm(self) -> dspy.BaseLM:
        lm = self.lm or dspy.settings.lm
        if lm is None:
            raise ValueError("Rewriter has no LM: pass lm= or dspy.configure(lm=...)")
        return lm.copy(**self.lm_kwargs)

    def _inputs(self, query: str) -> dict:
        return {"query": query} if self.demo_picker is None else {"query": query, "demos": self.demo_picker(query)}

    def forward(self, query: str) -> dspy.Prediction:
        with dspy.context(lm=self._lm(), adapter=CompactAdapter(numbered=self.numbered)):
            out = self.predict(**self._inputs(query))
        return dspy.Prediction(rewrites=clean_rewrites(out.rewrites, self.k, query))

    def batch_rewrite(self, queries: list[str]) -> list[list[str]]:
        """Rewrites per query, concurrently. An LM that is down, times out or keeps failing raises
        ``LMUnavailable`` for the whole batch (the chunk is not committed; a resume redoes it);
        it never becomes "no rewrites". An output that does not parse gives [] for that query
        (logged): a content problem of that one answer, not of the endpoint."""
        if not queries:
            return []
        outputs = predict_all(self.predict, [self._inputs(q) for q in queries], self._lm(),
                              CompactAdapter(numbered=self.numbered), self.threads)
        result = []
        for query, out in zip(queries, outputs):
            if isinstance(out, Exception) or getattr(out, "rewrites", None) is None:
                log.warning("rewriter output did not parse for query %r", query[:80])
                result.append([])
            else:
                result.append(clean_rewrites(out.rewrites, self.k, query))
        return result
