"""Validation of incoming queries: bad input is refused up front, before any work is done."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from tailsynth.limits import MAX_QUERY_CHARS  # noqa: F401 - its home; re-exported


@dataclass(frozen=True)
class Query:
    query_id: str
    text: str
    qtype: str | None = None


def as_queries(rows: Iterable[dict | Query | str]) -> list[Query]:
    """Queries from dicts (``query_id``, ``text``, optional ``qtype``), ``Query`` or bare strings.

    Raises one ``ValueError`` naming every bad row (empty, too long, duplicate id) so nothing
    half-runs.
    """
    queries, problems, seen = [], [], set()
    for i, row in enumerate(rows):
        if isinstance(row, str):
            row = Query(f"q{i}", row)
        elif isinstance(row, dict):
            row = Query(str(row.get("query_id", f"q{i}")), str(row.get("text") or ""), row.get("qtype"))
        text = " ".join(row.text.split())
        if not text:
            problems.append(f"row {i} ({row.query_id}): empty query text")
        elif "\x00" in text:
            problems.append(f"row {i} ({row.query_id}): query contains a NUL byte")
        elif len(text) > MAX_QUERY_CHARS:
            problems.append(f"row {i} ({row.query_id}): query is {len(text)} chars, max {MAX_QUERY_CHARS}")
        elif row.query_id in seen:
            problems.append(f"row {i}: duplicate query_id {row.query_id!r}")
        else:
            seen.add(row.query_id)
            queries.append(Query(row.query_id, text, row.qtype))
    if problems:
        raise ValueError("bad queries, nothing was run:\n  " + "\n  ".join(problems[:20]))
    return queries
