"""Bring-your-own data: a catalog, queries and relevance judgements from CSV, JSONL or Parquet.

The format follows the file extension (``.csv``, ``.jsonl``/``.ndjson``, ``.parquet``/``.pq``).
Every problem is reported as a ``DataFileError`` naming the file, the row (1-based data row; for
CSV the header is row 0) and the column, because the person fixing it has the file open, not our
code: a missing column, a duplicate id, an empty text, bytes that are not UTF-8, a NUL byte, a
value that is a list or a boolean where text belongs, a quote that is never closed, a value over
the limits of ``tailsynth.limits``. ``check_text`` and ``check_grade`` are the value checks the
dry run (``runner.validate``) shares, so what passes one passes the other.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from tailsynth.catalog import Catalog
from tailsynth.limits import MAX_CSV_FIELD_BYTES, MAX_ID_CHARS, MAX_QUERY_CHARS, MAX_TITLE_CHARS, QTYPES

csv.field_size_limit(max(csv.field_size_limit(), MAX_CSV_FIELD_BYTES))


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
    if not path.is_file():
        raise DataFileError(path, "is a directory, not a file" if path.is_dir() else "is not a regular file")
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
    reader = csv.reader(io.StringIO("".join(lines)), strict=True)
    try:
        header = next(reader, None)
    except csv.Error as err:
        raise DataFileError(path, f"header is not valid CSV ({err})", row=0) from None
    if header is None:
        raise DataFileError(path, "file is empty (no header row)")
    header = [h.strip() for h in header]
    row_number, line = 0, reader.line_num
    while True:
        start = line + 1  # the physical line this record starts on
        try:
            values = next(reader, None)
        except csv.Error as err:
            raise DataFileError(path, f"not valid CSV from line {start} ({err}); is a quote left open?",
                                row=row_number + 1) from None
        if values is None:
            return
        line = reader.line_num
        if not values:
            continue  # a blank line
        row_number += 1
        if len(values) > len(header):
            raise DataFileError(path, f"row has {len(values)} fields, the header {len(header)}", row=row_number)
        if line > start:
            _check_spanning(path, header, values, start, line, row_number)
        record = dict(zip(header, values))
        for name in header[len(values):]:
            record[name] = None  # a short row: its missing fields are empty
        yield row_number, record


def _check_spanning(path: Path, header: list[str], values: list[str], start: int, end: int, row: int) -> None:
    """A value over several lines is legal CSV, but one holding whole rows is a quote left open:
    say where it opened instead of letting it swallow the rows (and blame other files for them)."""
    for name, value in zip(header, values):
        inner = value.splitlines()[1:]
        if any(part.count(",") >= len(header) - 1 for part in inner) or (end - start > 1 and len(header) > 1 and
                                                                        any(part.count(",") for part in inner)):
            raise DataFileError(path, f"value spans lines {start}-{end} and holds what look like rows: a quote "
                                      f"opened on line {start} is not closed", row=row, column=name)


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
class FieldProblem(ValueError):
    """What is wrong with one value; the caller adds the file, row and column."""


def _is_nan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)


def _is_blank(value: Any) -> bool:
    """None, NaN or whitespace: what an optional column leaves empty."""
    return value is None or _is_nan(value) or (isinstance(value, str) and not value.strip())


def check_text(value: Any, max_chars: int | None = None, what: str = "value") -> str:
    """A text value, stripped, or ``FieldProblem``: empty/None/NaN, a list or object, a boolean,
    a NUL byte, a JSON list written as text, longer than ``max_chars``."""
    if value is None or _is_nan(value):
        raise FieldProblem("empty value")
    if isinstance(value, bool):
        raise FieldProblem(f"expected text, got the boolean {str(value).lower()}")
    if isinstance(value, (list, tuple, dict)):
        raise FieldProblem(f"expected text, got a JSON {'object' if isinstance(value, dict) else 'list'}")
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # an id column Parquet/JSON stored as 12.0
    text = str(value).strip()
    if not text:
        raise FieldProblem("empty value")
    if "\x00" in text:
        raise FieldProblem("contains a NUL byte")
    if text[0] == "[" and text[-1] == "]":
        try:
            if isinstance(json.loads(text), list):
                raise FieldProblem(f"{what} is a JSON list ({text[:40]!r}); give it as plain text")
        except json.JSONDecodeError:
            pass
    if max_chars is not None and len(text) > max_chars:
        raise FieldProblem(f"{what} is {len(text):,} characters, max {max_chars:,}")
    return text


def check_id(value: Any) -> str:
    return check_text(value, MAX_ID_CHARS, "id")


def check_title(value: Any) -> str:
    return check_text(value, MAX_TITLE_CHARS, "title")


def check_query(value: Any) -> str:
    """A query text with its whitespace folded (newlines included), at most ``MAX_QUERY_CHARS``."""
    return check_text(" ".join(check_text(value).split()), MAX_QUERY_CHARS, "query")


def check_qtype(value: Any) -> str | None:
    """One of ``QTYPES``, or None for a blank value (the type is classified later)."""
    if _is_blank(value):
        return None
    text = check_text(value)
    if text not in QTYPES:
        raise FieldProblem(f"unknown query type {text!r}; use one of {list(QTYPES)} or leave it blank")
    return text


def check_grade(value: Any, lo: float | None = None, hi: float | None = None, integer: bool = False,
                what: str = "grade") -> float:
    """A number (a bool is not one) within [lo, hi]; ``integer``: also a whole number (qrels grades)."""
    if isinstance(value, bool):
        raise FieldProblem(f"expected a number, got the boolean {str(value).lower()}")
    raw = check_text(value)
    try:
        number = float(raw)
    except ValueError:
        raise FieldProblem(f"{what} {raw!r} is not a number") from None
    if math.isnan(number) or math.isinf(number):
        raise FieldProblem(f"{what} {raw!r} is not a finite number")
    if integer and not number.is_integer():
        raise FieldProblem(f"{what} {raw} is not a whole number")
    if lo is not None and hi is not None and not lo <= number <= hi:
        raise FieldProblem(f"{what} {raw} is out of range [{lo:g}, {hi:g}]")
    return number


def check_brand(value: Any) -> str:
    """A product's brand, or "" for a blank value (unknown brand); at most ``MAX_TITLE_CHARS``."""
    if _is_blank(value):
        return ""
    return " ".join(check_text(value, MAX_TITLE_CHARS, "brand").split())


def check_price(value: Any) -> float:
    """A product's price: a finite number >= 0 ("$12.99" and "1,299.00" read as numbers), or NaN
    for a blank value (unknown price)."""
    if _is_blank(value):
        return math.nan
    if isinstance(value, str):
        value = value.strip().lstrip("$€£").replace(",", "")
    number = check_grade(value, what="price")
    if number < 0:
        raise FieldProblem(f"price {number:g} is negative")
    return number


def _field(path: Path, row: int, record: dict, column: str, *, required_text: bool = True, check=check_text) -> Any:
    if column not in record:
        raise DataFileError(path, f"missing column {column!r}; columns are {sorted(record)}", row=row, column=column)
    value = record[column]
    if required_text:
        try:
            value = check(value)
        except FieldProblem as problem:
            raise DataFileError(path, str(problem), row=row, column=column) from None
    return value


def _check_header(path: Path, records: list[tuple[int, dict]], columns: list[str]) -> None:
    """A missing column is a file-level mistake: say so once, naming the columns that exist."""
    if not records:
        raise DataFileError(path, "file has no data rows")
    present = set(records[0][1])
    for column in columns:
        if column not in present:
            raise DataFileError(path, f"missing column {column!r}; columns are {sorted(present)}", column=column)


def _optional_text(path: Path, row: int, record: dict, column: str) -> str:
    """An optional column (description): blank is fine, a NUL byte or a list is not."""
    value = record.get(column)
    if _is_blank(value):
        return ""
    try:
        return " ".join(check_text(value, what=column).split())
    except FieldProblem as problem:
        raise DataFileError(path, str(problem), row=row, column=column) from None


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


def product_text(title: str, attributes: str | None = None, description: str | None = None) -> str:
    """What the models read of a product: ``title. attributes. description``, empty parts skipped."""
    return ". ".join(p.rstrip(". ") for p in (title, attributes, description) if p and p.strip())


# ------------------------------------------------------------------------------------ loaders
def load_catalog(
    path: str | Path,
    id_col: str = "id",
    title_col: str = "title",
    description_col: str | None = None,
    attributes_col: str | None = None,
    brand_col: str | None = None,
    price_col: str | None = None,
) -> Catalog:
    """Products as a ``Catalog``; each text is ``title. attributes. description`` (empty parts skipped).
    ``brand_col`` and ``price_col`` fill ``Catalog.brands`` and ``Catalog.prices`` (not the text)."""
    path = Path(path)
    records = list(read_records(path))
    optional = (description_col, attributes_col, brand_col, price_col)
    _check_header(path, records, [id_col, title_col] + [c for c in optional if c])
    ids, texts, attributes, brands, prices, first_row = [], [], [], [], [], {}
    for row, record in records:
        pid = _field(path, row, record, id_col, check=check_id)
        if pid in first_row:
            raise DataFileError(path, f"duplicate id {pid!r} (first on row {first_row[pid]})", row=row, column=id_col)
        first_row[pid] = row
        title = _field(path, row, record, title_col, check=check_title)
        attrs = _attributes_text(record.get(attributes_col)) if attributes_col else None
        description = _optional_text(path, row, record, description_col) if description_col else None
        if brand_col:
            brands.append(_field(path, row, record, brand_col, check=check_brand))
        if price_col:
            prices.append(_field(path, row, record, price_col, check=check_price))
        ids.append(pid)
        attributes.append(attrs or "")
        texts.append(product_text(title, attrs, description))
    return Catalog(ids, texts, attributes if attributes_col else None, brands if brand_col else None,
                   prices if price_col else None)


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
        qid = _field(path, row, record, id_col, check=check_id)
        if qid in first_row:
            raise DataFileError(path, f"duplicate query id {qid!r} (first on row {first_row[qid]})", row=row, column=id_col)
        first_row[qid] = row
        text = _field(path, row, record, text_col, check=check_query)
        qtype = _field(path, row, record, qtype_col, check=check_qtype) if has_type else None
        out.append({"query_id": qid, "text": text, "qtype": qtype})
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
        qid = _field(path, row, record, query_col, check=check_id)
        pid = _field(path, row, record, product_col, check=check_id)
        grade = 1
        if has_grade:
            grade = int(_field(path, row, record, grade_col, check=lambda v: check_grade(v, integer=True)))
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
