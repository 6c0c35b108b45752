"""The teacher's annotations in the formats the trainers read, and a loader a data source can expose.

``write_trainer_files(dir)`` turns ``annotations.jsonl`` into:

- ``rewrite_examples.jsonl``: ``query_id, query, split, rewrites, bad_rewrites, bad_labels``, the demo
  world's ``rewrite_examples`` shape, read by ``training.sft.sft_examples`` (targets = ``rewrites``,
  the QSR-yes candidates), ``training.qsr.qsr_pairs`` and ``classifiers.datasets.rewrite_examples``
  (QSR-no candidates are ``bad_rewrites`` labelled ``irrelevant``). Queries with no QSR-yes rewrite
  are left out here (an empty SFT target would teach the rewriter to write nothing);
- ``qsr_pairs.jsonl``: ``query, rewrite, label (1/0), split`` for every judged rewrite;
- ``relevance_labels.jsonl``: ``query, product_id, label (1/0), split``, the world's
  ``relevance_labels`` shape (the general filter's ``head`` source and the business model's labels).

``load_teacher_files(dir)`` reads them back as ``TeacherData``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from tailsynth.io.loaders import read_records
from tailsynth.sources.base import Source

from .annotate import ANNOTATIONS

REWRITE_EXAMPLES, QSR_PAIRS, RELEVANCE_LABELS = "rewrite_examples.jsonl", "qsr_pairs.jsonl", "relevance_labels.jsonl"
_REWRITE_SCHEMA = pa.schema([("query_id", pa.string()), ("query", pa.string()), ("split", pa.string()),
                             ("rewrites", pa.list_(pa.string())), ("bad_rewrites", pa.list_(pa.string())),
                             ("bad_labels", pa.list_(pa.string()))])
_LABEL_SCHEMA = pa.schema([("query", pa.string()), ("product_id", pa.string()), ("label", pa.int64()), ("split", pa.string())])


@dataclass
class TeacherData(Source):
    """What the teacher produced: a ``Source`` of annotated rewrite examples (what the rewriter SFT,
    the QSR model and the rewrite filter train on), with the raw tables beside it."""

    examples: pa.Table
    """``rewrite_examples.jsonl``, shaped like the demo world's table of that name."""
    relevance_labels: pa.Table
    qsr_pairs: list[dict]
    name: str = "teacher annotations"

    def rewrite_examples(self, split: str = "train") -> list[dict]:
        return [r for r in self.examples.to_pylist() if r["split"] == split]

    def qsr(self, split: str) -> list[dict]:
        return [p for p in self.qsr_pairs if p["split"] == split]


def _records(path: Path) -> list[dict]:
    return [r for _, r in read_records(path)] if path.exists() and path.stat().st_size else []


def write_trainer_files(annotations_dir: str | Path, out_dir: str | Path | None = None) -> dict[str, Path]:
    """Derive the three trainer files from ``annotations_dir/annotations.jsonl`` (into ``out_dir``,
    default the same directory); returns role -> path."""
    src = Path(annotations_dir)
    out = Path(out_dir) if out_dir is not None else src
    out.mkdir(parents=True, exist_ok=True)
    records = _records(src / ANNOTATIONS)
    files = {"rewrite_examples": out / REWRITE_EXAMPLES, "qsr_pairs": out / QSR_PAIRS, "relevance_labels": out / RELEVANCE_LABELS}
    with files["rewrite_examples"].open("w", encoding="utf-8") as f:
        for r in records:
            good = [w for w, y in zip(r["rewrites"], r["qsr"]) if y]
            bad = [w for w, y in zip(r["rewrites"], r["qsr"]) if not y]
            if good:
                f.write(json.dumps({"query_id": r["query_id"], "query": r["query"], "split": r["split"], "rewrites": good,
                                    "bad_rewrites": bad, "bad_labels": ["irrelevant"] * len(bad)}) + "\n")
    with files["qsr_pairs"].open("w", encoding="utf-8") as f:
        for r in records:
            for w, y in zip(r["rewrites"], r["qsr"]):
                f.write(json.dumps({"query": r["query"], "rewrite": w, "label": int(y), "split": r["split"]}) + "\n")
    with files["relevance_labels"].open("w", encoding="utf-8") as f:
        for r in records:
            for pid, y in zip(r["products"], r["product_labels"]):
                f.write(json.dumps({"query": r["query"], "product_id": pid, "label": int(y), "split": r["split"]}) + "\n")
    return files


def load_teacher_files(directory: str | Path) -> TeacherData:
    """``TeacherData`` from the files ``write_trainer_files`` wrote."""
    d = Path(directory)
    rewrites = _records(d / REWRITE_EXAMPLES)
    labels = _records(d / RELEVANCE_LABELS)
    return TeacherData(pa.Table.from_pylist(rewrites, schema=_REWRITE_SCHEMA),
                       pa.Table.from_pylist(labels, schema=_LABEL_SCHEMA), _records(d / QSR_PAIRS))
