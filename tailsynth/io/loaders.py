"""Bring-your-own data: a catalog, queries and relevance judgements from CSV, JSONL or Parquet.

The format follows the file extension (``.csv``, ``.jsonl``/``.ndjson``, ``.parquet``/``.pq``).
Every problem is reported as a ``DataFileError`` naming the file, the row (1-based data row; for
CSV the header is row 0) and the column, because the person fixing it has the file open, not our
code: a missing column, a duplicate id, an empty text, bytes that are not UTF-8.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from tailsynth.catalog import Catalog


class DataFileError(ValueError):
    """A user data file is malformed; the message says where."""

    def __init__(self, path: str | Path, problem: str, row: int | None = None, column: str | None = None):
        where = str(path) + (f": row {row}" if row is not None else "") + (f": column {column!r}" if column else "")
        super().__init__(f"{where}: {problem}")
        self.path, self.row, self.column = str(path), row, column


# ------------------------------------------------------------------------------------ reading
def read_records(path: str | Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(row number, record)`` for every row of a CSV, JSONL or Parquet file."""
    path = Path(path)
    if not path.exists():
        raise DataFileError(path, "file does not exist")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        yield from _read_csv(path)
    elif suffix in (".jsonl", ".ndjson"):
        yield from _read_jsonl(path)
    elif suffix in (".parquet", ".pq"):
        yield from _read_parquet(path)
    else:
        raise DataFileError(path, f"unknown extension {suffix!r}; use .csv, .jsonl or .parquet")


def _decode(path: Path, raw: bytes, row: int) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise DataFileError(path, f"bytes are not UTF-8 ({err.reason} at byte {err.start} of the line); "
                                  "re-save the file as UTF-8", row=row) from None


def _read_csv(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    # Decode line by line first so a bad byte is reported on its row, not as a generic failure.
    lines = [_decode(path, raw, i) for i, raw in enumerate(path.read_bytes().splitlines(keepends=True))]
    if lines and lines[0].startswith("\ufeff"):
        lines[0] = lines[0][1:]  # Excel's UTF-8 byte-order mark
    reader = csv.DictReader(io.StringIO("".join(lines)))
    if reader.fieldnames is None:
        raise DataFileError(path, "file is empty (no header row)")
    for row_number, record in enumerate(reader, start=1):
        if None in record:
            raise DataFileError(path, f"row has more fields than the header ({len(reader.fieldnames)})", row=row_number)
        yield row_number, record


def _read_jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    row_number = 0
    with path.open("rb") as f:
        for raw in f:
            if not raw.strip():
                continue
            row_number += 1
            text = _decode(path, raw, row_number)
            try:
                record = json.loads(text)
            except json.JSONDecodeError as err:
                raise DataFileError(path, f"invalid JSON ({err.msg})", row=row_number) from None
            if not isinstance(record, dict):
                raise DataFileError(path, f"each line must be a JSON object, got {type(record).__name__}", row=row_number)
            yield row_number, record


def _read_parquet(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception as err:  # noqa: BLE001 - pyarrow raises several types for a bad file
        raise DataFileError(path, f"cannot read Parquet ({err})") from None
    row_number = 0
    for batch in table.to_batches():
        for record in _batch_records(path, batch, row_number):
            row_number += 1
            yield row_number, record


def _batch_records(path: Path, batch, offset: int) -> list[dict[str, Any]]:
    import pyarrow as pa

    columns = {}
    for name, column in zip(batch.schema.names, batch.columns):
        if pa.types.is_binary(column.type) or pa.types.is_large_binary(column.type):
            values = []
            for i, raw in enumerate(column.to_pylist()):
                values.append(None if raw is None else _decode(path, raw, offset + i + 1))
            columns[name] = values
        else:
            try:
                columns[name] = column.to_pylist()
            except UnicodeDecodeError:
                raise DataFileError(path, "bytes are not UTF-8", column=name) from None
    return [{name: columns[name][i] for name in columns} for i in range(batch.num_rows)]


# ------------------------------------------------------------------------------------ fields
def _field(path: Path, row: int, record: dict, column: str, *, required_text: bool = True) -> Any:
    if column not in record:
        raise DataFileError(path, f"missing column {column!r}; columns are {sorted(record)}", row=row, column=column)
    value = record[column]
    if required_text:
        if value is None or (isinstance(value, str) and not value.strip()):
            raise DataFileError(path, "empty value", row=row, column=column)
        value = str(value).strip()
    return value


def _check_header(path: Path, records: list[tuple[int, dict]], columns: list[str]) -> None:
    """A missing column is a file-level mistake: say so once, naming the columns that exist."""
    if not records:
        raise DataFileError(path, "file has no data rows")
    present = set(records[0][1])
    for column in columns:
        if column not in present:
            raise DataFileError(path, f"missing column {column!r}; columns are {sorted(present)}", column=column)


def _attributes_text(value: Any) -> str:
    """Attributes as 'key value, ...' text: a dict, a JSON object string, or plain text."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            return value.strip()
    if isinstance(value, dict):
        return ", ".join(f"{k} {v}" if not isinstance(v, bool) else (str(k) if v else f"not {k}") for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return "" if value is None else str(value)


# ------------------------------------------------------------------------------------ loaders
def load_catalog(
    path: str | Path,
    id_col: str = "id",
    title_col: str = "title",
    description_col: str | None = None,
    attributes_col: str | None = None,
) -> Catalog:
    """Products as a ``Catalog``; each text is ``title. attributes. description`` (empty parts skipped)."""
    path = Path(path)
    records = list(read_records(path))
    _check_header(path, records, [id_col, title_col] + [c for c in (description_col, attributes_col) if c])
    ids, texts, first_row = [], [], {}
    for row, record in records:
        pid = _field(path, row, record, id_col)
        if pid in first_row:
            raise DataFileError(path, f"duplicate id {pid!r} (first on row {first_row[pid]})", row=row, column=id_col)
        first_row[pid] = row
        parts = [_field(path, row, record, title_col)]
        if attributes_col:
            parts.append(_attributes_text(record.get(attributes_col)))
        if description_col:
            parts.append(str(record.get(description_col) or "").strip())
        ids.append(pid)
        texts.append(". ".join(p.rstrip(". ") for p in parts if p and p.strip()))
    return Catalog(ids, texts)


def load_queries(
    path: str | Path, id_col: str = "query_id", text_col: str = "text", qtype_col: str | None = "qtype"
) -> list[dict]:
    """Queries as ``{query_id, text, qtype}`` dicts; ``qtype`` is None when the column is absent
    (``evals.query_type.classify`` can fill it)."""
    path = Path(path)
    records = list(read_records(path))
    _check_header(path, records, [id_col, text_col])
    has_type = qtype_col is not None and qtype_col in records[0][1]
    out, first_row = [], {}
    for row, record in records:
        qid = _field(path, row, record, id_col)
        if qid in first_row:
            raise DataFileError(path, f"duplicate query id {qid!r} (first on row {first_row[qid]})", row=row, column=id_col)
        first_row[qid] = row
        qtype = record.get(qtype_col) if has_type else None
        out.append({"query_id": qid, "text": _field(path, row, record, text_col),
                    "qtype": str(qtype).strip() if qtype not in (None, "") else None})
    return out


def load_qrels(
    path: str | Path,
    query_col: str = "query_id",
    product_col: str = "product_id",
    grade_col: str | None = "grade",
) -> dict[str, dict[str, int]]:
    """Relevance judgements as ``{query_id: {product_id: grade}}``; grade 1 when there is no grade
    column. A repeated (query, product) with a different grade is an error; the same grade is not."""
    path = Path(path)
    records = list(read_records(path))
    _check_header(path, records, [query_col, product_col])
    has_grade = grade_col is not None and grade_col in records[0][1]
    qrels: dict[str, dict[str, int]] = {}
    for row, record in records:
        qid = _field(path, row, record, query_col)
        pid = _field(path, row, record, product_col)
        grade = 1
        if has_grade:
            raw = _field(path, row, record, grade_col)
            try:
                grade = int(float(raw))
            except ValueError:
                raise DataFileError(path, f"grade {raw!r} is not a number", row=row, column=grade_col) from None
        held = qrels.setdefault(qid, {})
        if pid in held and held[pid] != grade:
            raise DataFileError(path, f"({qid!r}, {pid!r}) judged twice with grades {held[pid]} and {grade}", row=row)
        held[pid] = grade
    return qrels


class QrelsJudge:
    """A judge over qrels: relevant when the grade is at least ``min_grade``; unjudged is not relevant."""

    def __init__(self, qrels: dict[str, dict[str, int]], min_grade: int = 1):
        self.min_grade = min_grade
        self._relevant = {q: {p for p, g in grades.items() if g >= min_grade} for q, grades in qrels.items()}

    def __call__(self, query_id: str, product_ids: list[str]) -> list[bool]:
        rel = self._relevant.get(query_id, set())
        return [p in rel for p in product_ids]

    def relevant_ids(self, query_id: str) -> set[str]:
        return set(self._relevant.get(query_id, set()))


def qrels_judge(qrels: dict[str, dict[str, int]], min_grade: int = 1) -> Callable[[str, list[str]], list[bool]]:
    """The judge callable ``(query_id, product_ids) -> [bool]`` the eval suites take."""
    return QrelsJudge(qrels, min_grade)
