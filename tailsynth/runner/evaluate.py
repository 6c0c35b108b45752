"""Stage "evaluate": BM25, the untrained encoder and both trained retrievers on the test queries
per type (Table 1 layout), and baseline+synthetic vs baseline side by side (Table 4), judged by
the qrels, or, without them, by the general relevance LM (said as such in the report)."""

from __future__ import annotations

import time
from pathlib import Path

from tailsynth.runner.config import RunConfig
from tailsynth.runner.validate import RunData


def judge_description(config: RunConfig) -> str:
    if config.data.qrels is not None:
        return f"qrels {Path(config.data.qrels.path).name} (grade >= {config.data.qrels.min_grade})"
    return (f"general relevance LM ({config.models.judge.model_id}) p_yes >= {config.eval.judge_threshold}; "
            "an LM's judgement, not ground truth")


class LMJudge:
    """No qrels: the general relevance classifier judges (p_yes >= threshold), cached per pair."""

    def __init__(self, config: RunConfig, catalog, queries: list[dict]):
        from tailsynth.programs.general_relevance import GeneralRelevanceFilter
        from tailsynth.serving import make_scorer

        self.filter = GeneralRelevanceFilter(make_scorer(config.models.judge), threshold=config.eval.judge_threshold)
        self.threshold, self.catalog = config.eval.judge_threshold, catalog
        self.text = {q["query_id"]: q["text"] for q in queries}
        self.cache: dict[tuple[str, str], float] = {}

    def __call__(self, query_id: str, product_ids: list[str]) -> list[bool]:
        todo = [p for p in dict.fromkeys(product_ids) if (query_id, p) not in self.cache]
        if todo:
            scores = self.filter.p_yes([(self.text[query_id], self.catalog.text(p)) for p in todo])
            self.cache.update({(query_id, p): float(s) for p, s in zip(todo, scores)})
        return [self.cache[query_id, p] >= self.threshold for p in product_ids]


def typed_test_queries(config: RunConfig, data: RunData) -> tuple[list[dict], int]:
    """Missing types from the classifier fitted on the run's own typed queries (the rules when
    there are too few: ``evals.query_type.classify``)."""
    queries = data.test_queries
    missing = [q for q in queries if not q["qtype"]]
    if not missing:
        return queries, 0
    from tailsynth.evals.query_type import classify

    typed = [q for q in data.train_queries + data.test_queries if q["qtype"]]
    types = iter(classify([q["text"] for q in missing], method=config.eval.qtype_method, labelled=typed))
    return [q if q["qtype"] else {**q, "qtype": next(types)} for q in queries], len(missing)


def evaluate_systems(config: RunConfig, data: RunData, store, run_id: str, systems: dict, index_dir: Path):
    """``systems``: untrained / baseline / baseline+synthetic → model; returns (table1, sbs, detail)."""
    from tailsynth.evals.retrieval_eval import evaluate_bm25, evaluate_retriever
    from tailsynth.evals.sbs import SBSConfig, side_by_side
    from tailsynth.io.loaders import QrelsJudge

    # A crash after some systems were scored left rows behind; this evaluation replaces them.
    for table in ("eval_results", "eval_query_results"):
        store.execute(f"DELETE FROM {table} WHERE run_id = ? AND suite <> 'table3'", [run_id])
    queries, classified = typed_test_queries(config, data)
    if data.qrels is not None:
        judge = QrelsJudge(data.qrels, config.data.qrels.min_grade)
        relevant = judge.relevant_ids
    else:
        judge, relevant = LMJudge(config, data.catalog, queries), None
    k = config.eval.k
    common = dict(relevant_ids=relevant, store=store, run_id=run_id, suite="table1")
    results = {"bm25": evaluate_bm25(data.catalog, queries, judge, k, system="bm25", **common)}
    timings = {}
    for system, model in systems.items():
        started = time.perf_counter()
        results[system] = evaluate_retriever(model, data.catalog, queries, judge, k, system=system,
                                             index_dir=index_dir, **common)
        timings[system] = round(time.perf_counter() - started, 2)
    sbs = side_by_side(systems["baseline+synthetic"], systems["baseline"], data.catalog, queries, judge,
                       SBSConfig(top=config.eval.sbs_top), store=store, run_id=run_id, index_dir=index_dir)
    return results, sbs, {"classified_qtypes": classified, "system_seconds": timings}


def load_results(store, run_id: str) -> tuple[dict, dict]:
    table1: dict = {}
    sbs: dict = {}
    for suite, system, qtype, metric, value in store.fetch(
        "SELECT suite, system, qtype, metric, value FROM eval_results WHERE run_id = ? ORDER BY created_at", [run_id]
    ):
        target = table1.setdefault(system, {}) if suite == "table1" else sbs
        target.setdefault(qtype, {})[metric] = value
    return table1, sbs
