"""``KeepRule``: keep a pair when a weighted sum of its three scores clears a threshold.

A pair has three scores by the time the general filter has judged it: ``ann_score`` (how close
the product is to the rewrite that retrieved it), ``business_score`` (the business model on the
original query) and ``general_p_yes`` (the general filter, here on the retrieving rewrite). Each
ranks the candidates on its own at a dev AUC of 0.4 to 0.9 depending on the query type
(results/candidate_signals); together they rank better than any one, and a threshold on one
after a threshold on another throws away pairs that the other score vouches for. The calibration
(``tailsynth.calibration``) fits the weights per query type on the program's own judged dev
candidates (a logistic regression) and sets the threshold where the dev pairs stay at the target
precision; ``GeneralFilterStage`` applies the rule of the pair's query type.

The margin is computed in one fixed order of float operations (``margin``), so the calibration,
the in-memory program and the store-backed run decide the same pair the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

SCORES = ("ann_score", "business_score", "general_p_yes")
"""The pair columns a rule weighs, in the order of ``KeepRule.weights``."""


@dataclass(frozen=True)
class KeepRule:
    """Keep a pair when ``bias + sum(weights[i] * score[i]) >= threshold`` (scores in ``SCORES`` order)."""

    weights: tuple[float, float, float]
    bias: float
    threshold: float

    def __post_init__(self) -> None:
        values = (*self.weights, self.bias, self.threshold)
        if len(self.weights) != len(SCORES) or not all(isinstance(v, (int, float)) and np.isfinite(v) for v in values):
            raise ValueError(f"a keep rule needs {len(SCORES)} finite weights ({', '.join(SCORES)}), a finite bias "
                             f"and threshold; got weights={self.weights!r}, bias={self.bias!r}, threshold={self.threshold!r}")
        object.__setattr__(self, "weights", tuple(float(w) for w in self.weights))

    def margin(self, ann_score, business_score, general_p_yes):
        """The rule's score (floats or numpy arrays alike); higher is more likely relevant."""
        w_ann, w_bus, w_gen = self.weights
        return self.bias + w_ann * ann_score + w_bus * business_score + w_gen * general_p_yes

    def keeps(self, pair: Mapping[str, Any]) -> bool:
        """Whether the rule keeps a pair row (a dict with the ``SCORES`` columns set)."""
        missing = [name for name in SCORES if pair.get(name) is None]
        if missing:
            raise ValueError(f"pair ({pair.get('query_id')!r}, {pair.get('product_id')!r}) has no {', '.join(missing)}: "
                             "a keep rule needs all three scores (a store written before pairs.ann_score existed "
                             "cannot resume under one; start a new run)")
        return bool(self.margin(*(float(pair[name]) for name in SCORES)) >= self.threshold)

    def to_dict(self) -> dict:
        return {**asdict(self), "weights": dict(zip(SCORES, self.weights))}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "KeepRule":
        """The inverse of ``to_dict``; a clear error for anything else (rules come from JSON and TOML)."""
        try:
            weights = data["weights"]
            if isinstance(weights, Mapping):
                unknown = set(weights) - set(SCORES)
                if unknown:
                    raise ValueError(f"unknown score(s) {sorted(unknown)}; a rule weighs {', '.join(SCORES)}")
                weights = tuple(float(weights.get(name, 0.0)) for name in SCORES)
            return cls(tuple(weights), float(data["bias"]), float(data["threshold"]))
        except (KeyError, TypeError) as e:
            raise ValueError(f"a keep rule is {{weights: {{{', '.join(SCORES)}}}, bias, threshold}}; got {data!r}") from e

