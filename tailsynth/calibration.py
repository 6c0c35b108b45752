"""Operating points of the synthesis program chosen on its own output for judged dev queries.

Each filter's own dev set is not what it meets at synthesis: the business model's held-out rows are
head queries, the general filter's dev rows are candidates of the annotated (good) rewrites. The
pairs the program keeps come from generated rewrites, some of them wrong, so a threshold chosen on
those rows misjudges the precision of what is kept (on the demo slice the general filter's
precision=0.8 point kept pairs at 66 %). Here the program runs once on dev queries with every
filter open (all candidates scored by both models), the dev truth labels each candidate, and the
operating point is chosen on exactly that distribution. Two ways to choose it (``calibrate(rule=...)``, ``[calibration] rule``):

- ``"combined"``: per query type, a ``KeepRule`` over the pair's three scores
  (retrieval, business, general), weighted by a logistic regression of the dev truth on them
  (``fit_rule``), with its threshold at the lowest margin down to which the dev pairs stay at
  ``target_precision`` (``choose_floor`` on the margins). Both models' thresholds are 0 (every
  candidate is scored); the type's retrieval floor becomes the lowest retrieval score of a dev pair
  its rule keeps, so the cheap floor still spares the models the candidates no rule would keep,
  and decides no dev pair differently. Chosen on half the dev queries and read on the other half
  it keeps more pairs than the floors at the same precision, but on the demo's training queries,
  every candidate scored and judged, it depends on the run (``benchmarks/calibration_rules.py``):
  on the demo's 40 the floors keep as many pairs or more at each precision, on the paper run's
  100 the rule keeps 5-10 % more (most of it knowledge pairs), so the default stays the floors.
- ``"floors"`` (the default): the business and general thresholds at a few recall levels of the true dev
  candidates (recall 1.0 passes everything), and for each pair of them a retrieval-score floor
  per query type (``ann_score``: the similarity of the product to the rewrite that found it):
  the lowest floor down to which the dev pairs that pass both models and the floor stay at
  ``target_precision``. The combination that keeps the most dev pairs wins.

A type where no rule or floor reaches the target keeps nothing (``KEEP_NONE``; ``reached`` says
so, the report too). Numpy (and sklearn's logistic regression) over rows; the runner
(``runner.calibrate``) runs the program and writes the result.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from tailsynth.keep_rule import KeepRule
from tailsynth.thresholds import for_type, threshold_at_recall

ALL = "all"
RULES = ("combined", "floors")
KEEP_NONE = 1.0
"""The floor of a type whose dev pairs never reach the target: cosine similarity 1.0, an exact
match of a rewrite, so (almost) nothing of that type is kept. Pairs below the target precision
would teach the retriever wrong matches; a type without pairs only adds none."""


@dataclass(frozen=True)
class DevRow:
    """One candidate of the dev run: its query type, retrieval score, both models' scores, truth."""

    qtype: str | None
    ann_score: float
    business_score: float
    general_p_yes: float
    relevant: bool


@dataclass
class Calibration:
    business_recall: float
    business_threshold: float
    general_recall: float
    general_threshold: float
    floor: float
    """The floor for queries of a type without its own (or untyped)."""
    floor_by_type: dict[str, float] = field(default_factory=dict)
    reached: dict[str, bool] = field(default_factory=dict)
    """Type (and ``all``) → whether its dev pairs reach the target precision at its floor."""
    dev: dict[str, dict[str, float]] = field(default_factory=dict)
    """Type (and ``all``) → candidates, true, kept, kept_true, precision on the dev run."""
    grid: list[dict] = field(default_factory=list)
    """Every (business recall, general recall) tried: dev pairs kept and their precision (``floors``)."""
    rule: str = "floors"
    """How it was chosen (``RULES``); a calibration stored before rules existed is ``floors``."""
    keep_rule: KeepRule | None = None
    """``combined``: the rule for queries of a type without its own (or untyped)."""
    keep_rule_by_type: dict[str, KeepRule] = field(default_factory=dict)
    """``combined``: type → its rule (a type that keeps nothing has none; its floor is ``KEEP_NONE``)."""

    def keeps(self, row: DevRow) -> bool:
        """Whether the program at this operating point keeps a candidate with these scores: its type's
        retrieval floor, both models' thresholds, then its type's keep rule (as the stages decide)."""
        floor = for_type(self.floor_by_type, self.floor, row.qtype)
        if row.ann_score < floor or row.business_score < self.business_threshold or row.general_p_yes < self.general_threshold:
            return False
        rule = for_type(self.keep_rule_by_type, self.keep_rule, row.qtype)
        return rule is None or bool(rule.margin(row.ann_score, row.business_score, row.general_p_yes) >= rule.threshold)

    def to_dict(self) -> dict:
        out = asdict(self)
        out["keep_rule"] = self.keep_rule.to_dict() if self.keep_rule else None
        out["keep_rule_by_type"] = {t: r.to_dict() for t, r in self.keep_rule_by_type.items()}
        return out

    @classmethod
    def from_dict(cls, data: dict) -> "Calibration":
        data = dict(data)
        if data.get("keep_rule") is not None:
            data["keep_rule"] = KeepRule.from_dict(data["keep_rule"])
        data["keep_rule_by_type"] = {t: KeepRule.from_dict(r) for t, r in (data.get("keep_rule_by_type") or {}).items()}
        return cls(**data)


def recall_threshold(scores: np.ndarray, recall: float) -> float:
    """The highest threshold that keeps at least ``recall`` of ``scores`` (the true rows' scores,
    ``thresholds.threshold_at_recall``); recall 1.0 (or no true rows) is 0.0: everything passes,
    not just down to the lowest true score."""
    if recall >= 1.0 or len(scores) == 0:
        return 0.0
    return threshold_at_recall(scores, np.ones(len(scores), bool), recall).threshold


def choose_floor(scores: np.ndarray, relevant: np.ndarray, target: float, min_pairs: int) -> tuple[float | None, bool]:
    """The lowest floor down to which the precision of the pairs kept (``scores >= floor``) stays
    at or above ``target`` at every cut keeping ``min_pairs`` or more, and True. Stopping where
    the precision first dips below the target, instead of at the lowest cut that touches it
    again, keeps the floor from resting on a lucky run of a few dev pairs. Else the floor of the
    best precision keeping ``min_pairs`` and False; ``(None, False)`` without ``min_pairs`` rows."""
    if len(scores) < max(1, min_pairs):
        return None, False
    order = np.argsort(-scores, kind="stable")
    s, r = scores[order], relevant[order].astype(float)
    precision = np.cumsum(r) / np.arange(1, len(s) + 1)
    # A floor at s[i] keeps every row scoring >= s[i]: the last index of each tie group.
    last = np.r_[s[1:] != s[:-1], True]
    cuts = [i for i in range(len(s)) if last[i] and i + 1 >= min_pairs]
    if not cuts:
        return None, False
    reaching = None
    for i in cuts:
        if precision[i] < target:
            break
        reaching = i
    if reaching is not None:
        return float(s[reaching]), True
    best = max(cuts, key=lambda i: (precision[i], i))
    return float(s[best]), False


def fit_rule(ann: np.ndarray, bus: np.ndarray, gen: np.ndarray, relevant: np.ndarray) -> KeepRule:
    """A ``KeepRule``'s weights and bias: a logistic regression of ``relevant`` on the three scores
    (sklearn, L2 with C = 1: a type's dev set is a few hundred candidates of a dozen queries);
    threshold 0, for the caller to set. One class only: a constant rule (margin 1 when every row
    is relevant, -1 when none is)."""
    from sklearn.linear_model import LogisticRegression

    relevant = np.asarray(relevant, bool)
    if relevant.all() or not relevant.any():
        return KeepRule((0.0, 0.0, 0.0), 1.0 if relevant.all() else -1.0, 0.0)
    model = LogisticRegression(C=1.0, max_iter=1000).fit(np.c_[ann, bus, gen].astype(float), relevant)
    return KeepRule(tuple(float(w) for w in model.coef_[0]), float(model.intercept_[0]), 0.0)


def calibrate(rows: Sequence[DevRow], target_precision: float = 0.85, per_type: bool = True, min_pairs: int = 5,
              business_recalls: Sequence[float] = (1.0, 0.95, 0.9), general_recalls: Sequence[float] = (1.0, 0.95, 0.9, 0.8),
              rule: str = "floors") -> Calibration:
    """The operating point of ``rule`` (see the module docstring). ``floors``: the one whose floors
    reach the target on the most types, then keeping the most dev pairs (ties: the higher
    precision, then the stricter filters)."""
    if not rows:
        raise ValueError("calibration needs dev candidates; the dev run retrieved none")
    if rule not in RULES:
        raise ValueError(f"rule must be one of {RULES}, got {rule!r}")
    qtype = np.array([r.qtype or "" for r in rows], dtype=object)
    ann = np.array([r.ann_score for r in rows], float)
    bus = np.array([r.business_score for r in rows], float)
    gen = np.array([r.general_p_yes for r in rows], float)
    rel = np.array([r.relevant for r in rows], bool)
    types = sorted({t for t in qtype if t}) if per_type else []
    if rule == "combined":
        return _combined(qtype, ann, bus, gen, rel, types, target_precision, min_pairs)
    best: Calibration | None = None
    best_key: tuple = ()
    grid = []
    for br in business_recalls:
        bt = recall_threshold(bus[rel], br)
        for gr in general_recalls:
            passed = bus >= bt
            gt = recall_threshold(gen[rel & passed], gr)
            passed &= gen >= gt
            floor, ok_all = choose_floor(ann[passed], rel[passed], target_precision, min_pairs)
            floor = floor if ok_all else KEEP_NONE
            floors, reached = {}, {ALL: ok_all}
            for t in types:
                m = passed & (qtype == t)
                f, ok = choose_floor(ann[m], rel[m], target_precision, min_pairs)
                floors[t], reached[t] = (f, True) if ok else (KEEP_NONE, False)
            keep = passed & (ann >= np.array([floors.get(t, floor) for t in qtype], float))
            dev = _dev_table(qtype, rel, keep)
            grid.append({"business_recall": br, "business_threshold": bt, "general_recall": gr, "general_threshold": gt,
                         "kept": dev[ALL]["kept"], "precision": dev[ALL]["precision"]})
            key = (sum(reached.values()), dev[ALL]["kept"], dev[ALL]["precision"] or 0.0, -br, -gr)
            if best is None or key > best_key:
                best_key = key
                best = Calibration(br, bt, gr, gt, floor, floors, reached, dev)
    best.grid = grid
    return best


def _combined(qtype, ann, bus, gen, rel, types, target: float, min_pairs: int) -> Calibration:
    """``calibrate(rule="combined")``: a rule per type and one over all rows (for the others)."""
    def one(m: np.ndarray) -> tuple[KeepRule | None, float, bool, np.ndarray]:
        fitted = fit_rule(ann[m], bus[m], gen[m], rel[m])
        margins = fitted.margin(ann[m], bus[m], gen[m])
        threshold, ok = choose_floor(margins, rel[m], target, min_pairs)
        keep = np.zeros(len(qtype), bool)
        if not ok:
            return None, KEEP_NONE, False, keep
        keep[m] = margins >= threshold
        return KeepRule(fitted.weights, fitted.bias, threshold), float(ann[keep].min()), True, keep

    default, floor, ok_all, keep_all = one(np.ones(len(qtype), bool))
    rules, floors, reached = {}, {}, {ALL: ok_all}
    keep = (qtype == "") & keep_all if types else keep_all  # untyped queries: the rule over all rows
    for t in types:
        chosen, floors[t], reached[t], kept = one(qtype == t)
        if chosen is not None:
            rules[t] = chosen
        keep = keep | kept
    return Calibration(1.0, 0.0, 1.0, 0.0, floor, floors, reached, _dev_table(qtype, rel, keep), [], "combined",
                       default, rules)


def _dev_table(qtype: np.ndarray, rel: np.ndarray, keep: np.ndarray) -> dict[str, dict[str, float]]:
    out = {}
    for t in [*sorted({t for t in qtype if t}), ALL]:
        m = np.ones(len(qtype), bool) if t == ALL else qtype == t
        kept = int((keep & m).sum())
        kept_true = int((keep & m & rel).sum())
        out[t] = {"candidates": int(m.sum()), "true": int((m & rel).sum()), "kept": kept, "kept_true": kept_true,
                  "precision": kept_true / kept if kept else None}
    return out
