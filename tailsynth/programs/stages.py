"""The five stages of the synthesis program, each one implementation over an in-memory batch.

A stage takes a batch of queries and the rows the previous stage produced for them, and returns
the rows it produces, as dicts keyed by the store's column names (``tailsynth.store.schema.COLUMNS``,
without ``run_id``). Three callers run the same code: ``SynthesisProgram.forward`` (one query,
all in memory), ``SynthesisProgram.run`` (batched and resumable over the DuckDB store) and the
Ray engine (``tailsynth.engines.ray``: the same stages as actor pools writing Parquet shards).
Stages hold models but no store, so where a batch comes from and where its rows go is the
caller's business.

Decisions on candidates are recorded in ``pairs.decided_by``: ``"negation"`` (its text states what
the query rules out, ``programs.negation``: never scored), ``"alternative"`` (the brand an
alternative query names, or dearer than it, ``programs.alternatives``: never scored), ``"retrieval"`` (its retrieval score
is below the query type's floor, ``SynthesisConfig.min_retrieval_score``: never scored),
``"business"`` (rejected by the business relevance model), ``"cap"`` (passed it but ranked past ``max_general_per_query``, never
scored by the general filter) or ``"general"`` (scored by it; ``kept`` says whether it passed).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from tailsynth.catalog import Catalog
from tailsynth.config import SynthesisConfig
from tailsynth.keep_rule import KeepRule
from tailsynth.programs.alternatives import Alternatives
from tailsynth.programs.general_relevance import GeneralRelevanceFilter
from tailsynth.programs.implications import Implications
from tailsynth.programs.negation import Synonyms, excluded_terms, violates
from tailsynth.programs.queries import Query
from tailsynth.programs.rewrite_filter import RewriteFilter
from tailsynth.programs.rewriter import Rewriter
from tailsynth.retrieval.catalog_index import union_hits
from tailsynth.thresholds import for_type

Row = dict[str, Any]

STAGES = ("rewrite", "filter", "retrieve", "business", "general")
"""Stage names, in order; also the progress markers of the DuckDB store."""

DECIDED_BY = ("negation", "alternative", "retrieval", "business", "cap", "general")
UNSCORED = ("negation", "alternative", "retrieval")
"""Decisions made before the business model: those candidates carry no scores."""


def by_query(rows: Iterable[Row]) -> dict[str, list[Row]]:
    groups: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        groups[row["query_id"]].append(row)
    return groups


class RewriteStage:
    """query → rank 0 (the original query, kept unjudged when ``include_original``) and ranks 1..k."""

    name = "rewrite"

    def __init__(self, rewriter: Rewriter, include_original: bool = True):
        self.rewriter, self.include_original = rewriter, include_original

    def __call__(self, queries: list[Query]) -> list[Row]:
        rows: list[Row] = []
        for q, rewrites in zip(queries, self.rewriter.batch_rewrite([q.text for q in queries])):
            if self.include_original:
                rows.append(rewrite_row(q.query_id, 0, q.text, "original", kept=True))
            rows += [rewrite_row(q.query_id, i, r) for i, r in enumerate(rewrites, 1)]
        return rows


def rewrite_row(query_id: str, rank: int, rewrite: str, label: str | None = None, probs=(None, None, None),
                 kept: bool | None = None) -> Row:
    return {"query_id": query_id, "rank": rank, "rewrite": rewrite, "label": label,
            "p_relevant": probs[0], "p_partial": probs[1], "p_irrelevant": probs[2], "kept": kept}


class RewriteFilterStage:
    """Judge every generated rewrite (rank > 0) against its original query; rank 0 passes as is."""

    name = "filter"

    def __init__(self, rewrite_filter: RewriteFilter):
        self.rewrite_filter = rewrite_filter

    def __call__(self, queries: list[Query], rewrites: list[Row]) -> list[Row]:
        text = {q.query_id: q.text for q in queries}
        todo = sorted((r for r in rewrites if r["rank"] > 0), key=lambda r: (r["query_id"], r["rank"]))
        judgements = self.rewrite_filter.judge([(text[r["query_id"]], r["rewrite"]) for r in todo])
        judged = [rewrite_row(r["query_id"], r["rank"], r["rewrite"], j.label, j.probs, j.kept)
                  for r, j in zip(todo, judgements)]
        return [r for r in rewrites if r["rank"] == 0] + judged


class RetrievalStage:
    """Kept rewrites of each query → the union of their top-k products (``CatalogIndex.search_union``).

    Two halves, so an engine can run the search between them elsewhere (the Ray engine fans it out
    over index shards, ``tailsynth.engines.sharded_retrieval``): ``texts`` says what to search, in
    order; ``rows`` turns the top-k of each of those texts into candidate rows."""

    name = "retrieve"

    def __init__(self, index, top_k: int):  # index: CatalogIndex, ShardedIndex (anything with search(texts, k))
        self.index, self.top_k = index, top_k

    def __call__(self, rewrites: list[Row]) -> list[Row]:
        texts = self.texts(rewrites)
        return self.rows(rewrites, self.index.search(texts, k=self.top_k) if texts else [])

    @staticmethod
    def _groups(rewrites: list[Row]) -> tuple[list[str], dict[str, list[Row]]]:
        kept = sorted((r for r in rewrites if r["kept"]), key=lambda r: (r["query_id"], r["rank"]))
        groups = by_query(kept)
        return [qid for qid in dict.fromkeys(r["query_id"] for r in rewrites) if groups.get(qid)], groups

    @classmethod
    def texts(cls, rewrites: list[Row]) -> list[str]:
        """The kept rewrites to search, query by query (one batch: they are encoded together)."""
        order, groups = cls._groups(rewrites)
        return [r["rewrite"] for qid in order for r in groups[qid]]

    @classmethod
    def rows(cls, rewrites: list[Row], hits: list[list[tuple[str, float]]]) -> list[Row]:
        """Candidate rows from the top-k ``(product_id, score)`` of each of ``texts(rewrites)``."""
        order, groups = cls._groups(rewrites)
        results = union_hits([[r["rewrite"] for r in groups[qid]] for qid in order], hits)
        rows = []
        for qid, found in zip(order, results):
            ranks = [r["rank"] for r in groups[qid]]
            rows += [{"query_id": qid, "product_id": h["product_id"], "rewrite_rank": ranks[h["rewrite_index"]],
                      "ann_rank": h["rank"], "ann_score": float(h["score"])} for h in found]
        return rows


class BusinessStage:
    """Score each candidate against the ORIGINAL query with the business relevance cross-encoder;
    below ``threshold`` it is rejected here (``decided_by = "business"``).

    Before that, the cheap filters. With ``negation``, a candidate whose text states what the
    query rules out ("not nylon" → a nylon product) is rejected unscored (``decided_by =
    "negation"``, ``programs.negation``), and with ``implications`` so is one whose attributes
    carry what the excluded phrase implies in this catalog (``programs.implications``). With
    ``alternatives``, an alternative query's candidates of the brand it names, or dearer than that
    brand's, are rejected unscored (``decided_by = "alternative"``, ``programs.alternatives``).
    Then a candidate whose retrieval score (``ann_score``, the similarity
    of the product to the rewrite that ranked it best) is below its query type's floor is rejected
    unscored (``decided_by = "retrieval"``, ``business_score`` NULL). A close match to a rewrite
    written in product language is the strongest relevance signal the program has when the
    rewrites are good; the floors are chosen on dev (``tailsynth.calibration``)."""

    name = "business"

    def __init__(self, business, catalog: Catalog, threshold: float, floor: float | None = None,
                 floor_by_type: dict[str, float] | None = None, negation: bool = False,
                 synonyms: list[list[str]] | None = None, implications: bool = False, alternatives: bool = False,
                 price_class: float | None = None):
        # business: anything with score(query, texts) -> array, e.g. retrieval.business_relevance.BusinessRelevance
        self.business, self.catalog, self.threshold = business, catalog, threshold
        self.floor, self.floor_by_type, self.negation = floor, dict(floor_by_type or {}), negation
        self.synonyms = Synonyms(synonyms or [])
        self.implications = Implications(catalog) if negation and implications else None
        self.alternatives = Alternatives(catalog, price_class) if alternatives and catalog.brands is not None else None

    def no_alternative(self, query: Query, candidates: list[Row]) -> list[bool]:
        """Per candidate, whether the alternative filter rejects it for this query."""
        if self.alternatives is None or query.qtype != "alternative":
            return [False] * len(candidates)
        return self.alternatives.rules_out(query.text, [c["product_id"] for c in candidates])

    def rules_out(self, query: Query, candidates: list[Row]) -> list[bool]:
        """Per candidate, whether the negation filter rejects it for this query."""
        terms = self.synonyms.expand(excluded_terms(query.text)) if self.negation else ()
        if not terms:
            return [False] * len(candidates)
        implied = self.implications.implied(terms) if self.implications else frozenset()
        return [violates(terms, self.catalog.text(c["product_id"])) or
                (bool(implied) and self.implications.carries(c["product_id"], implied)) for c in candidates]

    def floor_for(self, qtype: str | None) -> float | None:
        return for_type(self.floor_by_type, self.floor, qtype)

    def __call__(self, queries: list[Query], candidates: list[Row]) -> list[Row]:
        groups = by_query(candidates)
        rows = []
        for q in queries:
            cands = sorted(groups.get(q.query_id, []), key=lambda c: (c["ann_rank"], c["product_id"]))
            alt = self.no_alternative(q, cands)
            rows += [pair_row(q.query_id, c, None, "alternative") for c, o in zip(cands, alt) if o]
            cands = [c for c, o in zip(cands, alt) if not o]
            out = self.rules_out(q, cands)
            rows += [pair_row(q.query_id, c, None, "negation") for c, o in zip(cands, out) if o]
            cands = [c for c, o in zip(cands, out) if not o]
            floor = self.floor_for(q.qtype)
            low = [c for c in cands if floor is not None and c["ann_score"] < floor]
            cands = [c for c in cands if floor is None or c["ann_score"] >= floor]
            rows += [pair_row(q.query_id, c, None, "retrieval") for c in low]
            if not cands:
                continue
            scores = self.business.score(q.text, [self.catalog.text(c["product_id"]) for c in cands])
            for c, s in zip(cands, scores):
                s = float(s)
                rows.append(pair_row(q.query_id, c, s, "business" if s < self.threshold else None))
        return rows


def make_stage(name: str, model, config: SynthesisConfig, catalog: Catalog):
    """Stage ``name`` over its one model (rewriter, rewrite filter, index, business model, general
    filter), set up from ``config``: the one place that reads the synthesis settings into stages."""
    c = config
    if name == "rewrite":
        return RewriteStage(model, c.include_original)
    if name == "filter":
        return RewriteFilterStage(model)
    if name == "retrieve":
        return RetrievalStage(model, c.top_k)
    if name == "business":
        return BusinessStage(model, catalog, c.business_threshold, c.min_retrieval_score, c.min_retrieval_score_by_type,
                             c.negation_filter, c.negation_synonyms, c.negation_implications, c.alternative_filter,
                             c.alternative_price_class)
    if name == "general":
        return GeneralFilterStage(model, catalog, c.business_threshold, c.max_general_per_query, c.keep_rule,
                                  c.keep_rule_by_type)
    raise ValueError(f"unknown stage {name!r}; expected one of {STAGES}")


def pair_row(query_id: str, candidate: Row, business_score: float | None, decided_by: str | None) -> Row:
    return {"query_id": query_id, "product_id": candidate["product_id"], "rewrite_rank": candidate["rewrite_rank"],
            "ann_rank": candidate["ann_rank"], "business_score": business_score, "general_p_yes": None, "kept": False,
            "decided_by": decided_by, "ann_score": candidate["ann_score"]}


class GeneralFilterStage:
    """The general relevance filter (an LM's p_yes) on the best ``max_per_query`` business survivors
    of each query; survivors past the cap are marked ``"cap"`` and never scored. A scored pair is
    kept when it passes the filter's threshold and, where one is set, its query type's keep rule
    (``tailsynth.keep_rule``: the retrieval, business and general scores weighed together).

    A filter whose ``pair_input`` is ``"rewrite"`` judges each pair against the rewrite that
    retrieved it (``pairs.rewrite_rank`` → ``rewrites.rank``), so the stage takes the queries'
    rewrite rows too; every caller passes them, whatever the filter reads."""

    name = "general"

    def __init__(self, general_filter: GeneralRelevanceFilter, catalog: Catalog, business_threshold: float,
                 max_per_query: int, keep_rule: dict | None = None, keep_rule_by_type: dict[str, dict] | None = None):
        self.general_filter, self.catalog = general_filter, catalog
        self.business_threshold, self.max_per_query = business_threshold, max_per_query
        self.keep_rule = KeepRule.from_dict(keep_rule) if keep_rule else None
        self.keep_rule_by_type = {t: KeepRule.from_dict(r) for t, r in (keep_rule_by_type or {}).items()}

    def rule_for(self, qtype: str | None) -> KeepRule | None:
        return for_type(self.keep_rule_by_type, self.keep_rule, qtype)

    def _texts(self, queries: list[Query], rewrites: list[Row] | None):
        """(query, pair) → the text the filter reads next to the product."""
        if self.general_filter.pair_input == "query":
            return lambda q, p: q.text
        if rewrites is None:
            raise ValueError("this general filter judges (rewrite, product) pairs: pass the queries' rewrite rows")
        by_rank = {(r["query_id"], r["rank"]): r["rewrite"] for r in rewrites}
        by_rank.update({(q.query_id, 0): q.text for q in queries})  # rank 0 is the query itself

        def text(q: Query, p: Row) -> str:
            key = (q.query_id, p["rewrite_rank"])
            if key not in by_rank:
                raise ValueError(f"pair ({q.query_id!r}, {p['product_id']!r}) names rewrite rank {p['rewrite_rank']}, "
                                 "which the rewrite rows do not have")
            return by_rank[key]
        return text

    def __call__(self, queries: list[Query], pairs: list[Row], rewrites: list[Row] | None = None) -> list[Row]:
        text_of = self._texts(queries, rewrites)
        groups = by_query(pairs)
        scored, capped, rest = [], [], []
        for q in queries:
            rows = groups.get(q.query_id, [])
            rest += [p for p in rows if p["decided_by"] in UNSCORED]
            rows = [p for p in rows if p["decided_by"] not in UNSCORED]
            passed = sorted((p for p in rows if p["business_score"] >= self.business_threshold),
                            key=lambda p: (-p["business_score"], p["product_id"]))
            scored += [(q, p) for p in passed[: self.max_per_query]]
            capped += [{**p, "general_p_yes": None, "kept": False, "decided_by": "cap"} for p in passed[self.max_per_query:]]
            rest += [{**p, "decided_by": "business"} for p in rows if p["business_score"] < self.business_threshold]
        if self.general_filter.pair_input == "rewrite":  # pairs of one text adjacent (shared prefix)
            scored.sort(key=lambda qp: (qp[0].query_id, qp[1]["rewrite_rank"]))
        p_yes = self.general_filter.p_yes([(text_of(q, p), self.catalog.text(p["product_id"])) for q, p in scored])
        threshold = self.general_filter.threshold
        judged = []
        for (q, p), y in zip(scored, p_yes):
            row = {**p, "general_p_yes": float(y), "decided_by": "general"}
            rule = self.rule_for(q.qtype)
            row["kept"] = bool(y >= threshold) and (rule is None or rule.keeps(row))
            judged.append(row)
        return rest + judged + capped
