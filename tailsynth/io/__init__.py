"""Bring-your-own data: catalog, queries and qrels from CSV, JSONL or Parquet (``loaders.py``)."""

from tailsynth.io.loaders import DataFileError, QrelsJudge, load_catalog, load_qrels, load_queries, qrels_judge

__all__ = ["DataFileError", "QrelsJudge", "load_catalog", "load_queries", "load_qrels", "qrels_judge"]
