"""Check every input file of a run before any work, and say what a run would do.

``check_data(config)`` reads each file once and returns every problem it finds (file, row,
column, what is wrong: missing columns, empty text, duplicate rows, unknown product ids, grades
out of range or not numbers, bytes that are not UTF-8, NUL bytes, lists or booleans where text
belongs, unknown query types, values over ``tailsynth.limits``) together with the loaded data
when there are none. The value checks are ``tailsynth.io.loaders``' own (``check_text`` & co),
so the dry run and the loaders the real run uses accept exactly the same files. When the catalog
itself has problems, product ids elsewhere are not checked against it: its broken rows would be
blamed on the files that name them. ``dry_run(config)`` adds the plan: the stages, each "done" or "to run".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tailsynth.catalog import Catalog
from tailsynth.io.loaders import (
    DataFileError,
    FieldProblem,
    _attributes_text,
    check_brand,
    check_grade,
    check_id,
    check_price,
    check_qtype,
    check_query,
    check_text,
    check_title,
    product_text,
    read_records,
)
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

    def value(self, row: int, record: dict, column: str, check: Callable[[Any], Any] = check_text) -> Any:
        """``check(record[column])``, or None with the problem recorded."""
        try:
            return check(record.get(column))
        except FieldProblem as problem:
            self.add(str(problem), row, column)
            return None

    def text(self, row: int, record: dict, column: str) -> str | None:
        return self.value(row, record, column, check_text)

    def number(self, row: int, record: dict, column: str, lo: float, hi: float, integer: bool = False,
               what: str = "grade") -> float | None:
        return self.value(row, record, column, lambda v: check_grade(v, lo, hi, integer, what))

    def optional(self, row: int, record: dict, column: str) -> str:
        value = record.get(column)
        if value is None or (isinstance(value, float) and value != value) or not str(value).strip():
            return ""
        text = self.value(row, record, column, check_text)
        return " ".join(text.split()) if text else ""


def check_data(config: RunConfig) -> tuple[RunData | None, list[Problem]]:
    """Every problem of every input file; the loaded data when there are none."""
    problems: list[Problem] = []
    d = config.data
    catalog, mentioned = _catalog(d.catalog, problems)
    # Ids on the catalog's broken rows count as known: they are the catalog's problem, not
    # "unknown product id" in every file that names them. An unreadable catalog checks nothing.
    known = mentioned if mentioned else None
    baseline = _pairs(d.baseline_pairs, known, catalog, problems)
    labels = _labels(d.business_labels, known, catalog, problems)
    train = _queries(d.train_queries, "training queries", problems)
    test = _queries(d.test_queries, "test queries", problems)
    qrels = _qrels(d.qrels, known, {q["query_id"] for q in test or []}, problems) if d.qrels else None
    if config.chain.audit_qrels and not Path(config.chain.audit_qrels).is_file():
        problems.append(Problem(config.chain.audit_qrels, "[chain] audit_qrels: no such file"))
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


def _catalog(spec, problems: list[Problem]) -> tuple[Catalog | None, set[str]]:
    f = _File(spec.path, "catalog", problems)
    optional = (spec.description_col, spec.attributes_col, spec.brand_col, spec.price_col)
    cols = [spec.id_col, spec.title_col] + [c for c in optional if c]
    ids, texts, attributes, brands, prices, first, mentioned = [], [], [], [], [], {}, set()
    for row, rec in f.records(cols):
        raw = rec.get(spec.id_col)
        mentioned.add(str(raw).strip() if raw is not None else "")
        pid, title = f.value(row, rec, spec.id_col, check_id), f.value(row, rec, spec.title_col, check_title)
        if pid is None or title is None:
            continue
        if _repeated(f, first, pid, row, f"product id {pid!r}", spec.id_col):
            continue
        brand = f.value(row, rec, spec.brand_col, check_brand) if spec.brand_col else ""
        price = f.value(row, rec, spec.price_col, check_price) if spec.price_col else 0.0
        if brand is None or price is None:
            continue
        attrs = _attributes_text(rec.get(spec.attributes_col)) if spec.attributes_col else None
        description = f.optional(row, rec, spec.description_col) if spec.description_col else None
        ids.append(pid)
        attributes.append(attrs or "")
        brands.append(brand)
        prices.append(price)
        texts.append(product_text(title, attrs, description))
    f.close()
    if not ids:
        return None, mentioned
    return Catalog(ids, texts, attributes if spec.attributes_col else None, brands if spec.brand_col else None,
                   prices if spec.price_col else None), mentioned  # valid rows only


def _product(f: _File, row: int, rec: dict, column: str, known: set[str] | None) -> str | None:
    pid = f.value(row, rec, column, check_id)
    if pid is not None and known is not None and pid not in known:
        f.add(f"unknown product id {pid!r} (not in the catalog)", row, column)
        return None
    return pid


def _pairs(spec, known, catalog, problems) -> list[tuple[str, str]]:
    f = _File(spec.path, "baseline pairs", problems)
    out, seen = [], {}
    cols = [spec.query_col, spec.product_col] + ([spec.grade_col] if spec.grade_col else [])
    for row, rec in f.records(cols):
        q, pid = f.value(row, rec, spec.query_col, check_query), _product(f, row, rec, spec.product_col, known)
        grade = f.number(row, rec, spec.grade_col, *spec.grade_range) if spec.grade_col else spec.min_grade
        if q is None or pid is None or grade is None:
            continue
        if _repeated(f, seen, (q, pid), row, f"row ({q!r}, {pid!r})"):
            continue
        if grade >= spec.min_grade and catalog is not None and pid in catalog._position:
            out.append((q, catalog.text(pid)))
    f.close()
    return out[: spec.limit] if spec.limit else out


def _labels(spec, known, catalog, problems) -> list[tuple[str, str, int]]:
    f = _File(spec.path, "business relevance labels", problems)
    out, seen = [], {}
    for row, rec in f.records([spec.query_col, spec.product_col, spec.label_col]):
        q, pid = f.value(row, rec, spec.query_col, check_query), _product(f, row, rec, spec.product_col, known)
        label = f.number(row, rec, spec.label_col, *spec.label_range)
        if q is None or pid is None or label is None:
            continue
        if _repeated(f, seen, (q, pid), row, f"row ({q!r}, {pid!r})"):
            continue
        if catalog is not None and pid in catalog._position:
            out.append((q, catalog.text(pid), int(label >= spec.positive_min)))
    f.close()
    return out[: spec.limit] if spec.limit else out


def _queries(spec, role: str, problems) -> list[dict]:
    f = _File(spec.path, role, problems)
    out, first = [], {}
    records = f.records([spec.id_col, spec.text_col])
    has_type = bool(records) and spec.qtype_col is not None and spec.qtype_col in records[0][1]
    for row, rec in records:
        qid, text = f.value(row, rec, spec.id_col, check_id), f.value(row, rec, spec.text_col, check_query)
        qtype = f.value(row, rec, spec.qtype_col, check_qtype) if has_type else None
        if qid is None or text is None or (has_type and qtype is None and check_qtype_failed(rec, spec.qtype_col)):
            continue
        if _repeated(f, first, qid, row, f"query id {qid!r}", spec.id_col):
            continue
        out.append({"query_id": qid, "text": text, "qtype": qtype})
    f.close()
    return out[: spec.limit] if spec.limit else out


def check_qtype_failed(rec: dict, column: str) -> bool:
    try:
        check_qtype(rec.get(column))
        return False
    except FieldProblem:
        return True


def _qrels(spec, known, query_ids: set[str], problems) -> dict[str, dict[str, int]]:
    f = _File(spec.path, "eval qrels", problems)
    qrels: dict[str, dict[str, int]] = {}
    seen: dict[tuple[str, str], int] = {}
    cols = [spec.query_col, spec.product_col] + ([spec.grade_col] if spec.grade_col else [])
    records = f.records(cols)
    for row, rec in records:
        qid, pid = f.value(row, rec, spec.query_col, check_id), _product(f, row, rec, spec.product_col, known)
        grade = f.number(row, rec, spec.grade_col, *spec.grade_range, integer=True) if spec.grade_col else 1
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
