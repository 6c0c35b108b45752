"""Check every input file of a run before any work, and say what a run would do.

``check_data(config)`` reads each file once and returns every problem it finds (file, row,
column, what is wrong: missing columns, empty text, duplicate rows, unknown product ids, grades
out of range or not numbers, bytes that are not UTF-8) together with the loaded data when there
are none. ``dry_run(config)`` adds the plan: the stages, each "done" or "to run".
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from tailsynth.catalog import Catalog
from tailsynth.io.loaders import DataFileError, _attributes_text, read_records
from tailsynth.runner.config import RunConfig

MAX_PROBLEMS_PER_FILE = 20


@dataclass
class Problem:
    file: str
    message: str
    row: int | None = None
    column: str | None = None

    def __str__(self) -> str:
        where = self.file + (f": row {self.row}" if self.row is not None else "") + (
            f": column {self.column!r}" if self.column else "")
        return f"{where}: {self.message}"


@dataclass
class RunData:
    catalog: Catalog
    baseline_pairs: list[tuple[str, str]]  # (query, positive product text)
    business_labels: list[tuple[str, str, int]]  # (query, product text, binary label)
    train_queries: list[dict]
    test_queries: list[dict]  # qtype may be None until classified
    qrels: dict[str, dict[str, int]] | None
    counts: dict[str, int] = field(default_factory=dict)


class _File:
    """Problems of one file, capped so a wrong column mapping does not print a million lines."""

    def __init__(self, path: str, role: str, problems: list[Problem]):
        self.path, self.role, self.problems, self.n = path, role, problems, 0

    def add(self, message: str, row: int | None = None, column: str | None = None) -> None:
        self.n += 1
        if self.n <= MAX_PROBLEMS_PER_FILE:
            self.problems.append(Problem(self.path, message, row, column))

    def close(self) -> None:
        if self.n > MAX_PROBLEMS_PER_FILE:
            self.problems.append(Problem(self.path, f"... and {self.n - MAX_PROBLEMS_PER_FILE} more problems"))

    def records(self, columns: list[str]) -> list[tuple[int, dict]]:
        try:
            records = list(read_records(self.path))
        except DataFileError as err:
            prefix = err.path + (f": row {err.row}" if err.row is not None else "") + (
                f": column {err.column!r}" if err.column else "") + ": "
            text = str(err)
            self.add(text[len(prefix):] if text.startswith(prefix) else text, err.row, err.column)
            return []
        if not records:
            self.add("file has no data rows")
            return []
        present = set(records[0][1])
        missing = [c for c in columns if c not in present]
        for c in missing:
            self.add(f"missing column {c!r} ({self.role}); columns are {sorted(present)}", column=c)
        return [] if missing else records

    def text(self, row: int, record: dict, column: str) -> str | None:
        value = record.get(column)
        if value is None or (isinstance(value, float) and math.isnan(value)) or not str(value).strip():
            self.add("empty value", row, column)
            return None
        return str(value).strip()

    def number(self, row: int, record: dict, column: str, lo: float, hi: float) -> float | None:
        raw = self.text(row, record, column)
        if raw is None:
            return None
        try:
            value = float(raw)
        except ValueError:
            self.add(f"{raw!r} is not a number", row, column)
            return None
        if not lo <= value <= hi:
            self.add(f"grade {raw} is out of range [{lo:g}, {hi:g}]", row, column)
            return None
        return value


def check_data(config: RunConfig) -> tuple[RunData | None, list[Problem]]:
    """Every problem of every input file; the loaded data when there are none."""
    problems: list[Problem] = []
    d = config.data
    catalog = _catalog(d.catalog, problems)
    known = set(catalog.ids) if catalog is not None else None
    baseline = _pairs(d.baseline_pairs, known, catalog, problems)
    labels = _labels(d.business_labels, known, catalog, problems)
    train = _queries(d.train_queries, "training queries", problems)
    test = _queries(d.test_queries, "test queries", problems)
    qrels = _qrels(d.qrels, known, {q["query_id"] for q in test or []}, problems) if d.qrels else None
    if problems:
        return None, problems
    if not any(qrels.values()) if qrels is not None else False:
        problems.append(Problem(d.qrels.path, f"no judgement reaches min_grade {d.qrels.min_grade}"))
        return None, problems
    if not any(label for _, _, label in labels):
        problems.append(Problem(d.business_labels.path, f"no label reaches positive_min {d.business_labels.positive_min}"
                                "; the business model needs positives"))
        return None, problems
    counts = {"products": len(catalog), "baseline_pairs": len(baseline), "business_labels": len(labels),
              "business_positives": sum(label for *_, label in labels), "train_queries": len(train),
              "test_queries": len(test), "test_queries_untyped": sum(q["qtype"] is None for q in test)}
    if qrels is not None:
        counts["qrels"] = sum(len(v) for v in qrels.values())
    return RunData(catalog, baseline, labels, train, test, qrels, counts), problems


def _repeated(f: _File, first_row: dict, key, row: int, what: str, column: str | None = None) -> bool:
    """Remember the first row of each key; a repeat is reported with that row and returns True."""
    if key in first_row:
        f.add(f"duplicate {what} (first on row {first_row[key]})", row, column)
        return True
    first_row[key] = row
    return False


def _catalog(spec, problems: list[Problem]) -> Catalog | None:
    f = _File(spec.path, "catalog", problems)
    cols = [spec.id_col, spec.title_col] + [c for c in (spec.description_col, spec.attributes_col) if c]
    ids, texts, first = [], [], {}
    for row, rec in f.records(cols):
        pid, title = f.text(row, rec, spec.id_col), f.text(row, rec, spec.title_col)
        if pid is None or title is None:
            continue
        if _repeated(f, first, pid, row, f"product id {pid!r}", spec.id_col):
            continue
        parts = [title]
        if spec.attributes_col:
            parts.append(_attributes_text(rec.get(spec.attributes_col)))
        if spec.description_col:
            parts.append(str(rec.get(spec.description_col) or "").strip())
        ids.append(pid)
        texts.append(". ".join(p.rstrip(". ") for p in parts if p and p.strip()))
    f.close()
    return Catalog(ids, texts) if ids else None  # valid rows only; still used to check ids elsewhere


def _product(f: _File, row: int, rec: dict, column: str, known: set[str] | None) -> str | None:
    pid = f.text(row, rec, column)
    if pid is not None and known is not None and pid not in known:
        f.add(f"unknown product id {pid!r} (not in the catalog)", row, column)
        return None
    return pid


def _pairs(spec, known, catalog, problems) -> list[tuple[str, str]]:
    f = _File(spec.path, "baseline pairs", problems)
    out, seen = [], {}
    cols = [spec.query_col, spec.product_col] + ([spec.grade_col] if spec.grade_col else [])
    for row, rec in f.records(cols):
        q, pid = f.text(row, rec, spec.query_col), _product(f, row, rec, spec.product_col, known)
        grade = f.number(row, rec, spec.grade_col, *spec.grade_range) if spec.grade_col else spec.min_grade
        if q is None or pid is None or grade is None:
            continue
        if _repeated(f, seen, (q, pid), row, f"row ({q!r}, {pid!r})"):
            continue
        if grade >= spec.min_grade and catalog is not None:
            out.append((q, catalog.text(pid)))
    f.close()
    return out[: spec.limit] if spec.limit else out


def _labels(spec, known, catalog, problems) -> list[tuple[str, str, int]]:
    f = _File(spec.path, "business relevance labels", problems)
    out, seen = [], {}
    for row, rec in f.records([spec.query_col, spec.product_col, spec.label_col]):
        q, pid = f.text(row, rec, spec.query_col), _product(f, row, rec, spec.product_col, known)
        label = f.number(row, rec, spec.label_col, *spec.label_range)
        if q is None or pid is None or label is None:
            continue
        if _repeated(f, seen, (q, pid), row, f"row ({q!r}, {pid!r})"):
            continue
        if catalog is not None:
            out.append((q, catalog.text(pid), int(label >= spec.positive_min)))
    f.close()
    return out[: spec.limit] if spec.limit else out


def _queries(spec, role: str, problems) -> list[dict]:
    f = _File(spec.path, role, problems)
    out, first = [], {}
    records = f.records([spec.id_col, spec.text_col])
    has_type = bool(records) and spec.qtype_col is not None and spec.qtype_col in records[0][1]
    for row, rec in records:
        qid, text = f.text(row, rec, spec.id_col), f.text(row, rec, spec.text_col)
        if qid is None or text is None:
            continue
        if _repeated(f, first, qid, row, f"query id {qid!r}", spec.id_col):
            continue
        qtype = rec.get(spec.qtype_col) if has_type else None
        qtype = str(qtype).strip() if qtype is not None and str(qtype).strip() else None
        out.append({"query_id": qid, "text": " ".join(text.split()), "qtype": qtype})
    f.close()
    return out[: spec.limit] if spec.limit else out


def _qrels(spec, known, query_ids: set[str], problems) -> dict[str, dict[str, int]]:
    f = _File(spec.path, "eval qrels", problems)
    qrels: dict[str, dict[str, int]] = {}
    seen: dict[tuple[str, str], int] = {}
    cols = [spec.query_col, spec.product_col] + ([spec.grade_col] if spec.grade_col else [])
    records = f.records(cols)
    for row, rec in records:
        qid, pid = f.text(row, rec, spec.query_col), _product(f, row, rec, spec.product_col, known)
        grade = f.number(row, rec, spec.grade_col, *spec.grade_range) if spec.grade_col else 1
        if qid is None or pid is None or grade is None:
            continue
        if _repeated(f, seen, (qid, pid), row, f"judgement ({qid!r}, {pid!r})"):
            continue
        qrels.setdefault(qid, {})[pid] = int(grade)
    if records and query_ids and not query_ids & set(qrels):
        f.add("no judgement is for a test query id; check query_col and the test queries' id column",
              column=spec.query_col)
    f.close()
    return {qid: {p: g for p, g in grades.items() if g >= spec.min_grade} for qid, grades in qrels.items()}


# ------------------------------------------------------------------------------------ dry run
@dataclass
class Plan:
    config: RunConfig
    problems: list[Problem]
    stages: list[tuple[str, str, str]]  # (stage, "done" | "to run" | "blocked", detail)
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems

    def render(self) -> str:
        lines = [f"run {self.config.name!r}" + (f" ({self.config.source})" if self.config.source else "")]
        if self.counts:
            lines.append("data: " + ", ".join(f"{k} {v}" for k, v in self.counts.items()))
        if self.problems:
            lines.append(f"{len(self.problems)} problem(s) in the input files; nothing will run:")
            lines += [f"  {p}" for p in self.problems]
        else:
            lines.append("input files: OK")
        lines.append("plan:")
        width = max(len(s) for s, _, _ in self.stages)
        lines += [f"  {s:<{width}}  {state:<7} {detail}" for s, state, detail in self.stages]
        return "\n".join(lines)
