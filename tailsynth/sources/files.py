"""``FileSource``: a user's CSV/JSONL/Parquet files, as a run config's ``[data.*]`` tables name them.

Reading and checking is ``runner.validate.check_data`` (the loaders of ``tailsynth.io``): every
problem of every file is reported at once, before any stage works. The run config has a catalog,
baseline pairs, business labels, train and test queries and optionally qrels; it has no dev split,
no annotated rewrite examples and no rewrite demos, so those are ``None`` (the rewriter and its
rewards are trained on the demo world: ``--data world``, then pass the model directories).

Untyped queries get a type from ``evals.query_type.classify``, fitted on this source's own typed
queries when there are enough of them, else the rules (``typed_queries``); the method is the run
config's ``[eval] qtype_method``.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

from tailsynth.catalog import Catalog
from tailsynth.sources.base import Judgements, Source, per_type

KEYS = {
    "queries": "[data.train_queries] / [data.test_queries]",
    "judgements": "[data.qrels] (query_id, product_id, grade)",
    "baseline_pairs": "[data.baseline_pairs]",
    "business_labels": "[data.business_labels]",
    "rewrite_examples": "annotated rewrite examples (not read from files yet: train on --data world)",
    "rewrite_labeler": "a rewrite judge (not read from files yet: train on --data world)",
    "rewrite_demos": "rewrite demos (the packaged rewriter then runs zero-shot)",
    "product_facets": "product types/categories (not read from files)",
}

class FileSource(Source):
    """``FileSource("run.toml")`` or ``FileSource(run_config)``; the files are read on first use."""

    def __init__(self, config):
        from tailsynth.runner.config import RunConfig, load_run_config

        self.config: RunConfig = config if isinstance(config, RunConfig) else load_run_config(config)
        self.name = self.config.source or f"run config {self.config.name!r}"
        if self.config.demo is not None:
            from tailsynth.sources.world import write_demo_slice

            write_demo_slice(self.config.demo)

    @cached_property
    def data(self):
        """The validated ``runner.validate.RunData``; a ``ValueError`` listing every problem otherwise."""
        from tailsynth.runner.validate import check_data

        data, problems = check_data(self.config)
        if problems:
            raise ValueError(f"{len(problems)} problem(s) in the input files of {self.name}:\n"
                             + "\n".join(f"  {p}" for p in problems))
        return data

    def hint(self, what: str) -> str:
        return f"give {KEYS.get(what, what)} in {self.name}"

    def catalog(self) -> Catalog:
        return self.data.catalog

    @cached_property
    def _queries(self) -> dict[str, list[dict]]:
        d = self.data
        return typed_queries({"train": [dict(q, split="train") for q in d.train_queries],
                              "test": [dict(q, split="test") for q in d.test_queries]},
                             self.config.eval.qtype_method)

    def queries(self, split: str = "test", qtype: str | None = None, limit: int | None = None) -> list[dict] | None:
        rows = self._queries.get(split)
        if rows is None:
            return None
        return per_type([q for q in rows if qtype is None or q["qtype"] == qtype], limit)

    def judgements(self) -> Judgements | None:
        if self.data.qrels is None:
            return None
        from tailsynth.io.loaders import QrelsJudge

        judge = QrelsJudge(self.data.qrels, self.config.data.qrels.min_grade)
        return Judgements(judge, judge.relevant_ids, frozenset(self.data.qrels))

    def baseline_pairs(self) -> list[tuple[str, str]]:
        return list(self.data.baseline_pairs)

    def business_labels(self, split: str = "train") -> list[tuple[str, str, int]] | None:
        return list(self.data.business_labels) if split == "train" else None

    def business_model_dir(self) -> Path:
        """The same directory ``tailsynth run`` trains it into (keyed by [business] and the files)."""
        from tailsynth.runner.pipeline import business_dir, stage_keys

        return business_dir(self.config, stage_keys(self.config).business)

    def business_train_config(self):
        return self.config.business


def typed_queries(splits: dict[str, list[dict]], method: str = "learned") -> dict[str, list[dict]]:
    """Fill missing ``qtype`` values with ``evals.query_type.classify``, fitted on the typed queries
    of all splits (the rules when there are too few; see ``query_type.MIN_LABELLED``)."""
    from tailsynth.evals.query_type import classify

    typed = [q for rows in splits.values() for q in rows if q.get("qtype")]
    missing = [q for rows in splits.values() for q in rows if not q.get("qtype")]
    if missing:
        for q, t in zip(missing, classify([q["text"] for q in missing], method, labelled=typed)):
            q["qtype"] = t
    return splits
