"""A user's data as they would bring it: CSV and JSONL files plus the run TOML naming them."""

from __future__ import annotations

import csv
import json
from pathlib import Path


def write_csv(path: Path, rows: list[dict]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return path


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def write_files(root: Path, products: list[dict], head_pairs: list[dict], labels: list[dict], train: list[dict],
                test: list[dict], qrels: list[dict] | None, extra_toml: str = "") -> Path:
    """catalog.csv (product_id, title, attributes), head_pairs.csv (query, product_id, clicks),
    business_labels.jsonl, train_queries.jsonl, test_queries.csv, qrels.jsonl; returns run.toml."""
    data = root / "data"
    data.mkdir(parents=True, exist_ok=True)
    write_csv(data / "catalog.csv", products)
    write_csv(data / "head_pairs.csv", head_pairs)
    write_jsonl(data / "business_labels.jsonl", labels)
    write_jsonl(data / "train_queries.jsonl", train)
    write_csv(data / "test_queries.csv", test)
    qrels_section = ""
    if qrels is not None:
        write_jsonl(data / "qrels.jsonl", qrels)
        qrels_section = '[data.qrels]\npath = "data/qrels.jsonl"\ngrade_col = "grade"\n'
    toml = f"""name = "mine"

[data.catalog]
path = "data/catalog.csv"
id_col = "product_id"
title_col = "title"
attributes_col = "attributes"

[data.baseline_pairs]
path = "data/head_pairs.csv"
grade_col = "clicks"
grade_range = [0, 1000]

[data.business_labels]
path = "data/business_labels.jsonl"

[data.train_queries]
path = "data/train_queries.jsonl"

[data.test_queries]
path = "data/test_queries.csv"

{qrels_section}
[output]
store = "store.duckdb"
report_dir = "report"
work_dir = "work"
{extra_toml}
"""
    path = root / "run.toml"
    path.write_text(toml, encoding="utf-8")
    return path
