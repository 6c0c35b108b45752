"""The kept pairs' precision, measured by someone other than the filter that kept them.

A filter that keeps 96 % of what it scores cannot vouch for its own output. Two independent
estimates, per query type with a 95 % interval:

- a labelled review sample: ``export_audit_sample`` writes N kept pairs (stratified per query type,
  seeded) to CSV or JSONL with an empty ``label`` column; a person fills it (1/0, yes/no);
  ``import_audit_labels`` reads it back and ``precision_by_type`` reports;
- ``automatic_audit``: the same report with a judge callable ``(query_id, product_ids) -> [bool]``
  (qrels through ``tailsynth.io.loaders.qrels_judge``, or a world's truth) labelling the sample.

The "all" row weights each type's precision by its share of the run's kept pairs (a stratified
estimate; each exported row carries ``type_kept``), since the sample is equal per type, not
proportional. Reads the store only through parameterized SQL over ``pairs`` and ``queries``.
"""

from __future__ import annotations

import csv
import json
import math
import random
from collections import defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from tailsynth.io.loaders import DataFileError, read_records

UNTYPED = "untyped"
_YES = {"1", "yes", "y", "true", "relevant", "t"}
_NO = {"0", "no", "n", "false", "irrelevant", "f"}


@dataclass
class AuditRow:
    run_id: str
    query_id: str
    qtype: str
    query: str
    product_id: str
    product_text: str = ""
    type_kept: int = 0  # kept pairs of this query type in the run (the stratum's size)
    label: int | None = None  # 1 relevant, 0 not, None not reviewed


@dataclass
class Precision:
    qtype: str
    labelled: int
    relevant: int
    precision: float | None
    low: float | None
    high: float | None
    kept: int  # kept pairs of this type in the run

    def to_dict(self) -> dict:
        return asdict(self)


# ------------------------------------------------------------------------------------ intervals
def wilson_interval(k: int, n: int, alpha: float = 0.05) -> tuple[float, float]:
    """Wilson score interval for k successes in n trials (E. B. Wilson, "Probable inference, the law
    of succession, and statistical inference", JASA 22, 1927; recommended over the normal interval
    for small n by Brown, Cai & DasGupta, Statistical Science 16, 2001)."""
    from statistics import NormalDist

    z = NormalDist().inv_cdf(1 - alpha / 2)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def proportion_interval(k: int, n: int, alpha: float = 0.05) -> tuple[float, float]:
    """Wilson interval from statsmodels when installed, else scipy, else ``wilson_interval``."""
    try:
        from statsmodels.stats.proportion import proportion_confint

        low, high = proportion_confint(k, n, alpha=alpha, method="wilson")
        return float(low), float(high)
    except ImportError:
        pass
    try:
        from scipy.stats import binomtest

        ci = binomtest(k, n).proportion_ci(confidence_level=1 - alpha, method="wilson")
        return float(ci.low), float(ci.high)
    except ImportError:
        return wilson_interval(k, n, alpha)


# ------------------------------------------------------------------------------------ sample
def _kept(store, run_id: str) -> list[tuple[str, str, str, str]]:
    return store.fetch(
        "SELECT p.query_id, coalesce(q.qtype, ?), q.text, p.product_id FROM pairs p "
        "JOIN queries q ON q.run_id = p.run_id AND q.query_id = p.query_id "
        "WHERE p.run_id = ? AND p.kept ORDER BY p.query_id, p.product_id", [UNTYPED, run_id])


def sample_kept_pairs(store, run_id: str, n: int | None = 200, seed: int = 0,
                      product_text: Callable[[str], str] | None = None) -> list[AuditRow]:
    """Up to ``n`` kept pairs, split as evenly as the types allow (a type with fewer gives its share
    to the others), each type's order shuffled with ``seed``; ``n=None`` takes every kept pair."""
    by_type: dict[str, list[tuple]] = defaultdict(list)
    for row in _kept(store, run_id):
        by_type[row[1]].append(row)
    rng = random.Random(seed)
    for qtype in sorted(by_type):
        rng.shuffle(by_type[qtype])
    take = {t: 0 for t in by_type}
    budget = sum(map(len, by_type.values())) if n is None else min(n, sum(map(len, by_type.values())))
    while budget > 0:
        open_ = [t for t in sorted(by_type) if take[t] < len(by_type[t])]
        for t in open_[:budget] if budget < len(open_) else open_:
            take[t] += 1
            budget -= 1
    out = []
    for qtype in sorted(by_type):
        for qid, _, text, pid in by_type[qtype][: take[qtype]]:
            out.append(AuditRow(run_id, qid, qtype, text, pid, product_text(pid) if product_text else "",
                                len(by_type[qtype])))
    return out


def export_audit_sample(store, run_id: str, path: str | Path, n: int = 200, seed: int = 0,
                        product_text: Callable[[str], str] | None = None) -> list[AuditRow]:
    """Write a review sheet (``.csv`` or ``.jsonl``) of ``n`` kept pairs with an empty ``label`` column."""
    path = Path(path)
    rows = sample_kept_pairs(store, run_id, n, seed, product_text)
    path.parent.mkdir(parents=True, exist_ok=True)
    names = [f.name for f in fields(AuditRow)]
    if path.suffix.lower() == ".csv":
        with path.open("w", newline="", encoding="utf-8") as f:
            w = csv.DictWriter(f, names)
            w.writeheader()
            w.writerows({**asdict(r), "label": ""} for r in rows)
    elif path.suffix.lower() in (".jsonl", ".ndjson"):
        with path.open("w", encoding="utf-8") as f:
            for r in rows:
                f.write(json.dumps(asdict(r)) + "\n")
    else:
        raise ValueError(f"{path}: audit sheets are .csv or .jsonl")
    return rows


def _label(path: Path, row: int, value) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        return int(value)
    text = str(value).strip().lower()
    if text in ("1.0",):
        text = "1"
    if text in ("0.0",):
        text = "0"
    if text in _YES:
        return 1
    if text in _NO:
        return 0
    raise DataFileError(path, f"label {value!r} is not one of 1/0, yes/no, true/false (blank = not reviewed)",
                        row=row, column="label")


def import_audit_labels(path: str | Path) -> list[AuditRow]:
    """Read a reviewed sheet back (CSV, JSONL or Parquet); blank labels stay None (not reviewed)."""
    path = Path(path)
    out = []
    for row, record in read_records(path):
        missing = [c for c in ("run_id", "query_id", "qtype", "product_id", "label") if c not in record]
        if missing:
            raise DataFileError(path, f"missing columns {missing}", row=row)
        out.append(AuditRow(str(record["run_id"]), str(record["query_id"]), str(record["qtype"] or UNTYPED),
                            str(record.get("query") or ""), str(record["product_id"]), str(record.get("product_text") or ""),
                            int(float(record.get("type_kept") or 0)), _label(path, row, record["label"])))
    return out


# ------------------------------------------------------------------------------------ report
def precision_by_type(rows: list[AuditRow], alpha: float = 0.05) -> dict[str, Precision]:
    """Precision of the labelled rows per query type with a Wilson interval, and "all": the
    types' precisions weighted by ``type_kept`` with a stratified normal interval
    (variance sum of w_h^2 p_h (1 - p_h) / n_h, Cochran, Sampling Techniques, 1977, 5.3)."""
    groups: dict[str, list[AuditRow]] = defaultdict(list)
    for r in rows:
        groups[r.qtype].append(r)
    out: dict[str, Precision] = {}
    for qtype in sorted(groups):
        labelled = [r.label for r in groups[qtype] if r.label is not None]
        kept = max(r.type_kept for r in groups[qtype]) or len(groups[qtype])
        n, k = len(labelled), sum(labelled)
        low, high = proportion_interval(k, n, alpha) if n else (None, None)
        out[qtype] = Precision(qtype, n, k, k / n if n else None, low, high, kept)
    judged = [p for p in out.values() if p.labelled]
    if judged:
        total = sum(p.kept for p in judged)
        est = sum(p.kept / total * p.precision for p in judged)
        var = sum((p.kept / total) ** 2 * p.precision * (1 - p.precision) / p.labelled for p in judged)
        from statistics import NormalDist

        half = NormalDist().inv_cdf(1 - alpha / 2) * math.sqrt(var)
        out["all"] = Precision("all", sum(p.labelled for p in judged), sum(p.relevant for p in judged), est,
                               max(0.0, est - half), min(1.0, est + half), sum(p.kept for p in out.values()))
    return out


def automatic_audit(store, run_id: str, judge: Callable[[str, list[str]], list[bool]], n: int | None = None,
                    seed: int = 0) -> tuple[dict[str, Precision], list[AuditRow]]:
    """Label a sample (``n=None``: every kept pair) with ``judge`` and report; returns (report, rows)."""
    rows = sample_kept_pairs(store, run_id, n, seed)
    by_query: dict[str, list[AuditRow]] = defaultdict(list)
    for r in rows:
        by_query[r.query_id].append(r)
    for qid, group in by_query.items():
        verdicts = judge(qid, [r.product_id for r in group])
        if len(verdicts) != len(group):
            raise ValueError(f"judge returned {len(verdicts)} verdicts for {len(group)} products of {qid!r}")
        for r, v in zip(group, verdicts):
            r.label = int(bool(v))
    return precision_by_type(rows), rows


def precision_markdown(report: dict[str, Precision], source: str) -> str:
    """Markdown lines for the run report: precision per type with its interval and who judged."""
    lines = [f"Kept-pair precision ({source}):", "", "| type | precision | 95 % interval | labelled | kept |",
             "| --- | --- | --- | --- | --- |"]
    for p in report.values():
        value = "n/a" if p.precision is None else f"{p.precision:.1%}"
        ci = "n/a" if p.low is None else f"{p.low:.1%} - {p.high:.1%}"
        lines.append(f"| {p.qtype} | {value} | {ci} | {p.labelled} | {p.kept} |")
    return "\n".join(lines)
