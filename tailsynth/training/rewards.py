"""The rewriter's RL reward (paper §2, Eqs. 1-3, 5): R = α·QSR + β·PDA + γ·Diversity, all zero
unless the output's format is valid.

- format gate: the text parses (CompactAdapter, one rewrite per line) into exactly k items and
  inference's own cleaning (``programs.rewriter.clean_rewrites``) keeps all k: no copy of the
  query, no item without a word, no duplicate up to case/space/punctuation. The rewards score the
  cleaned items, i.e. exactly what the Rewriter program would return, so RL cannot earn QSR with an
  item that inference drops (a copy of the query scores high QSR). An item over
  MAX_REWRITE_WORDS is scored as inference cuts it, not refused.
- QSR of a list: mean p_yes of the QSR classifier over its rewrites (Eq. 1).
- PDA of a list: mean over its rewrites of 1/PPL under the product-language LM (Eq. 2), or the
  normalised min(1, ref_ppl/PPL) (see ``pda_reward``).
- Diversity: mean over rewrite pairs of 1 - Jaccard of their character 2-gram sets (Eq. 3).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np

from tailsynth.adapters.compact import parse_lines
from tailsynth.programs.rewriter import clean_rewrites
from tailsynth.signatures import QuerySemanticRelevance


def parse_rewrites(text: str) -> list[str]:
    """The rewrite list as ``CompactAdapter.parse`` reads a list output (one item per line)."""
    return parse_lines(text)


def gated_rewrites(rewrites: list[str], k: int, query: str = "") -> list[str] | None:
    """The k rewrites inference would return for this parsed output, or None when the output fails
    the format gate: it must list exactly k items (the list format the policy learned stops at k)
    and ``clean_rewrites`` must keep every one of them."""
    if len(rewrites) != k:
        return None
    kept = clean_rewrites(rewrites, k, query)
    return kept if len(kept) == k else None


def format_valid(rewrites: list[str], k: int, query: str = "") -> bool:
    """The format gate (see ``gated_rewrites``); pass the query so a copy of it fails."""
    return gated_rewrites(rewrites, k, query) is not None


def char_ngrams(text: str, n: int = 2) -> set[str]:
    """Character n-grams of the lower-cased text; a text shorter than n is its own single gram."""
    text = text.lower()
    if len(text) < n:
        return {text} if text else set()
    return {text[i : i + n] for i in range(len(text) - n + 1)}


def jaccard(a: set[str], b: set[str]) -> float:
    union = a | b
    return len(a & b) / len(union) if union else 1.0


def diversity(rewrites: list[str], n: int = 2) -> float:
    """Eq. 3: mean over the C(k,2) pairs of 1 - Jaccard(char n-grams); 0 for fewer than 2 rewrites."""
    grams = [char_ngrams(r, n) for r in rewrites]
    pairs = list(combinations(grams, 2))
    if not pairs:
        return 0.0
    return float(np.mean([1.0 - jaccard(a, b) for a, b in pairs]))


def pda_reward(ppl: np.ndarray, mode: str = "inverse", ref_ppl: float | None = None) -> np.ndarray:
    """Eq. 2 per rewrite. ``inverse``: the paper's 1/PPL (small: PPL of short queries is tens to
    hundreds). ``normalized``: min(1, ref_ppl/PPL), 1 for text at least as product-like as the
    reference (the median PPL of the world's good rewrites under the PDA LM), on the scale of
    QSR and diversity so β weighs comparably."""
    ppl = np.asarray(ppl, dtype=np.float64)
    if mode == "inverse":
        return 1.0 / ppl
    if mode == "normalized":
        if not ref_ppl:
            raise ValueError("normalized PDA needs ref_ppl")
        return np.minimum(1.0, ref_ppl / ppl)
    raise ValueError(f"unknown PDA mode {mode!r}; use 'inverse' or 'normalized'")


@dataclass(frozen=True)
class RewardWeights:
    """Eq. 5 weights; the paper sets them heuristically to 1.0, 0.5, 0.1."""

    alpha: float = 1.0
    beta: float = 0.5
    gamma: float = 0.1


@dataclass(frozen=True)
class Reward:
    total: float
    qsr: float
    pda: float
    diversity: float
    valid: bool


def combine(qsr: float, pda: float, div: float, valid: bool, weights: RewardWeights) -> Reward:
    """Eq. 5 behind the format gate: every component is zero for an invalid output."""
    if not valid:
        return Reward(0.0, 0.0, 0.0, 0.0, False)
    total = weights.alpha * qsr + weights.beta * pda + weights.gamma * div
    return Reward(float(total), float(qsr), float(pda), float(div), True)


class RewardModel:
    """Scores rewriter outputs: ``RewardModel(qsr_scorer, pda_scorer).score(queries, texts, k)``.

    ``qsr_scorer`` / ``pda_scorer`` are ``tailsynth.serving.scorer.Scorer``s (e.g. ``LocalScorer``
    on the trained QSR / PDA directories); ``pda_scorer=None`` is the "RL w/o PDA" variant.
    All rewrites of a batch go through one p_yes call and one perplexity call.
    """

    def __init__(self, qsr_scorer, pda_scorer=None, weights: RewardWeights = RewardWeights(),
                 pda_mode: str = "inverse", ref_ppl: float | None = None):
        self.qsr, self.pda = qsr_scorer, pda_scorer
        self.weights, self.pda_mode, self.ref_ppl = weights, pda_mode, ref_ppl

    def score(self, queries: list[str], texts: list[str], k: int) -> list[Reward]:
        lists = [gated_rewrites(parse_rewrites(t), k, q) for q, t in zip(queries, texts)]
        flat = [(i, q, r) for i, (q, rs) in enumerate(zip(queries, lists)) if rs is not None for r in rs]
        p_yes = self.qsr.p_yes(QuerySemanticRelevance, [{"query": q, "rewrite": r} for _, q, r in flat]) if flat else []
        if self.pda is not None and flat:
            pda = pda_reward(self.pda.perplexity([r for _, _, r in flat]), self.pda_mode, self.ref_ppl)
        else:
            pda = np.zeros(len(flat))
        per_qsr: dict[int, list[float]] = {}
        per_pda: dict[int, list[float]] = {}
        for (i, _, _), p, d in zip(flat, p_yes, pda):
            per_qsr.setdefault(i, []).append(float(p))
            per_pda.setdefault(i, []).append(float(d))
        rewards = []
        for i, rs in enumerate(lists):
            ok = rs is not None
            q = float(np.mean(per_qsr[i])) if ok else 0.0
            d = float(np.mean(per_pda[i])) if ok else 0.0
            rewards.append(combine(q, d, diversity(rs) if ok else 0.0, ok, self.weights))
        return rewards
