"""The shared stage code: in-memory batches in, rows out; pairs.decided_by says which stage decided."""

import pytest

from tailsynth.config import SynthesisConfig
from tailsynth.programs.general_relevance import GeneralRelevanceFilter
from tailsynth.programs.queries import Query
from tailsynth.programs.stages import BusinessStage, GeneralFilterStage
from tailsynth.store import Store

from .fakes import CATALOG, CountingBusiness, OverlapBusiness, OverlapScorer
from .test_synthesis import QUERIES, make_program


def _pairs(query_id, scores):
    return [{"query_id": query_id, "product_id": pid, "rewrite_rank": 1, "ann_rank": i, "business_score": s,
             "general_p_yes": None, "kept": False, "decided_by": None if s >= 0.3 else "business"}
            for i, (pid, s) in enumerate(scores.items(), 1)]


def test_business_stage_marks_rejects_and_leaves_survivors_undecided():
    q = Query("a", "toilet flapper valve")
    rows = BusinessStage(OverlapBusiness(), CATALOG, threshold=0.3)(
        [q], [{"query_id": "a", "product_id": p, "rewrite_rank": 1, "ann_rank": i, "ann_score": 0.0}
              for i, p in enumerate(["p1", "p5"], 1)])
    by = {r["product_id"]: r for r in rows}
    assert by["p1"]["business_score"] >= 0.3 and by["p1"]["decided_by"] is None  # waits for the general stage
    assert by["p5"]["business_score"] < 0.3 and by["p5"]["decided_by"] == "business" and not by["p5"]["kept"]


def test_general_stage_scores_the_best_survivors_and_caps_the_rest():
    q = Query("a", "toilet flapper valve")
    stage = GeneralFilterStage(GeneralRelevanceFilter(OverlapScorer(), threshold=0.5), CATALOG,
                               business_threshold=0.3, max_per_query=2)
    rows = stage([q], _pairs("a", {"p1": 0.9, "p2": 0.8, "p3": 0.35, "p5": 0.1}))
    by = {r["product_id"]: r for r in rows}
    assert {p: by[p]["decided_by"] for p in by} == {"p1": "general", "p2": "general", "p3": "cap", "p5": "business"}
    assert by["p3"]["general_p_yes"] is None and not by["p3"]["kept"]
    assert by["p1"]["general_p_yes"] is not None and by["p1"]["kept"] == (by["p1"]["general_p_yes"] >= 0.5)


def test_run_writes_decided_by_for_every_value(tmp_path):
    store = Store(":memory:")
    make_program(tmp_path, max_general_per_query=1).run(QUERIES, store, run_id="r", progress=False)
    rows = store.fetch_dicts("SELECT decided_by, kept, general_p_yes, business_score FROM pairs WHERE run_id = 'r'")
    assert {r["decided_by"] for r in rows} == {"negation", "business", "cap", "general"}
    negation = store.fetch("SELECT query_id, product_id FROM pairs WHERE decided_by = 'negation'")
    assert negation == [("b", "p4")]  # "paint not oil based": the oil based enamel, never scored
    for r in rows:
        if r["decided_by"] == "negation":
            assert r["business_score"] is None and not r["kept"] and r["general_p_yes"] is None
        elif r["decided_by"] == "business":
            assert r["business_score"] < 0.3 and not r["kept"] and r["general_p_yes"] is None
        elif r["decided_by"] == "cap":
            assert r["business_score"] >= 0.3 and not r["kept"] and r["general_p_yes"] is None
        else:
            assert r["general_p_yes"] is not None and r["kept"] == (r["general_p_yes"] >= 0.5)
    # one general-scored pair per query at most, every kept pair was scored
    per_query = store.fetch("SELECT max(n) FROM (SELECT count(*) n FROM pairs WHERE decided_by = 'general' GROUP BY query_id)")
    assert per_query == [(1,)]
    assert store.fetch("SELECT count(*) FROM pairs WHERE kept AND decided_by <> 'general'") == [(0,)]


def test_forward_in_memory_equals_the_batched_run(tmp_path):
    program = make_program(tmp_path)
    store = Store(":memory:")
    program.run([{"query_id": "q0", "text": "toilet keeps running"}], store, run_id="r", progress=False)
    from_store = store.fetch("SELECT product_id, general_p_yes FROM pairs WHERE kept ORDER BY ALL")
    in_memory = sorted((p["product_id"], p["general_p_yes"]) for p in program(query="toilet keeps running").pairs)
    assert in_memory == from_store and in_memory


def test_candidates_under_their_types_floor_are_rejected_unscored():
    business = CountingBusiness()
    stage = BusinessStage(business, CATALOG, threshold=0.3, floor=0.5, floor_by_type={"negative": 0.8})
    cands = [{"query_id": qid, "product_id": p, "rewrite_rank": 1, "ann_rank": i, "ann_score": s}
             for qid in ("a", "n", "u") for i, (p, s) in enumerate((("p1", 0.9), ("p2", 0.6), ("p5", 0.4)), 1)]
    rows = stage([Query("a", "toilet flapper valve", "qa"), Query("n", "toilet flapper valve", "negative"),
                  Query("u", "toilet flapper valve")], cands)
    floored = {(r["query_id"], r["product_id"]) for r in rows if r["decided_by"] == "retrieval"}
    assert floored == {("a", "p5"), ("n", "p2"), ("n", "p5"), ("u", "p5")}  # qa and untyped: 0.5; negative: 0.8
    assert all(r["business_score"] is None and not r["kept"] for r in rows if r["decided_by"] == "retrieval")
    assert len(business.seen) == 5  # the floored candidates never reach the business model
    general = GeneralFilterStage(GeneralRelevanceFilter(OverlapScorer(), threshold=0.0), CATALOG,
                                 business_threshold=0.3, max_per_query=10)(
        [Query("n", "toilet flapper valve", "negative")], [r for r in rows if r["query_id"] == "n"])
    assert {r["product_id"]: r["decided_by"] for r in general}["p2"] == "retrieval"


class RecordingScorer(OverlapScorer):
    """Overlap logits, and the first field of every prompt it judged."""

    def __init__(self):
        super().__init__()
        self.texts: list[str] = []

    def _label_logits(self, prompts, labels):
        self.texts += [m[-1]["content"].splitlines()[0].split(": ", 1)[1] for m in prompts]
        return super()._label_logits(prompts, labels)


def test_a_rewrite_input_filter_judges_each_pair_against_the_rewrite_that_retrieved_it():
    q = Query("a", "my toilet will not stop running")
    rewrites = [{"query_id": "a", "rank": 1, "rewrite": "toilet flapper"}, {"query_id": "a", "rank": 2, "rewrite": "led bulb"}]
    pairs = [{**p, "rewrite_rank": rank} for p, rank in zip(_pairs("a", {"p1": 0.9, "p5": 0.8, "p2": 0.7}), (1, 2, 0))]
    scorer = RecordingScorer()
    stage = GeneralFilterStage(GeneralRelevanceFilter(scorer, threshold=0.5, pair_input="rewrite"), CATALOG,
                               business_threshold=0.3, max_per_query=10)
    rows = {r["product_id"]: r for r in stage([q], pairs, rewrites)}
    assert sorted(scorer.texts) == sorted(["toilet flapper", "led bulb", q.text])  # rank 0 is the query itself
    # "led bulb" shares words with the LED bulb it retrieved; against the query that pair would score 0
    assert rows["p5"]["general_p_yes"] > 0.5 and rows["p5"]["kept"]
    query_scorer = RecordingScorer()
    by_query = GeneralFilterStage(GeneralRelevanceFilter(query_scorer, threshold=0.5), CATALOG, 0.3, 10)([q], pairs, rewrites)
    assert set(query_scorer.texts) == {q.text} and not {r["product_id"]: r for r in by_query}["p5"]["kept"]


def test_a_rewrite_input_filter_refuses_pairs_without_their_rewrites():
    stage = GeneralFilterStage(GeneralRelevanceFilter(OverlapScorer(), pair_input="rewrite"), CATALOG, 0.3, 10)
    pairs = _pairs("a", {"p1": 0.9})
    with pytest.raises(ValueError, match="pass the queries' rewrite rows"):
        stage([Query("a", "toilet")], pairs)
    with pytest.raises(ValueError, match="rewrite rank 1"):
        stage([Query("a", "toilet")], pairs, [])
    with pytest.raises(ValueError, match="unknown general filter pair_input"):
        GeneralRelevanceFilter(OverlapScorer(), pair_input="title")


def test_the_program_reads_a_trained_filters_input_from_its_classifier_json(tmp_path):
    import json

    from tailsynth.programs.general_relevance import pair_input_of

    assert pair_input_of(None) == "query" and pair_input_of("HuggingFaceTB/SmolLM2-135M") == "query"
    (tmp_path / "classifier.json").write_text(json.dumps({"task": "general", "pair_input": "rewrite"}))
    assert pair_input_of(tmp_path) == "rewrite"
    (tmp_path / "classifier.json").write_text(json.dumps({"task": "general"}))  # trained before the key
    assert pair_input_of(tmp_path) == "query"


def test_a_rewrite_input_run_and_forward_agree(tmp_path):
    program = make_program(tmp_path)
    program.general_filter.pair_input = "rewrite"
    program.general_filter.scorer = scorer = RecordingScorer()
    store = Store(":memory:")
    program.run([{"query_id": "q0", "text": "toilet keeps running"}], store, run_id="r", progress=False)
    judged = store.fetch("SELECT DISTINCT r.rewrite FROM pairs p JOIN rewrites r ON r.run_id = p.run_id "
                         "AND r.query_id = p.query_id AND r.rank = p.rewrite_rank WHERE p.decided_by = 'general'")
    assert sorted(set(scorer.texts)) == sorted(t for (t,) in judged)  # each pair read with its own rewrite
    from_store = store.fetch("SELECT product_id, general_p_yes FROM pairs WHERE kept ORDER BY ALL")
    in_memory = sorted((p["product_id"], p["general_p_yes"]) for p in program(query="toilet keeps running").pairs)
    assert in_memory == from_store and in_memory


def test_candidates_stating_what_the_query_rules_out_are_rejected_unscored():
    q = Query("n", "LED bulb that is not dimmable", "negative")
    cands = [{"query_id": "n", "product_id": p, "rewrite_rank": 1, "ann_rank": i, "ann_score": 0.9}
             for i, p in enumerate(("p5", "p6"), 1)]  # p5 "non dimmable", p6 "dimmable"
    business = CountingBusiness()
    rows = BusinessStage(business, CATALOG, threshold=0.0, negation=True)([q], cands)
    by = {r["product_id"]: r for r in rows}
    assert by["p6"]["decided_by"] == "negation" and by["p6"]["business_score"] is None and not by["p6"]["kept"]
    assert by["p5"]["decided_by"] is None and business.seen == [CATALOG.text("p5")]  # only p5 was scored
    general = GeneralFilterStage(GeneralRelevanceFilter(OverlapScorer(), threshold=0.0), CATALOG,
                                 business_threshold=0.0, max_per_query=10)([q], rows)
    assert {r["product_id"]: r["decided_by"] for r in general} == {"p5": "general", "p6": "negation"}
    off = BusinessStage(OverlapBusiness(), CATALOG, threshold=0.0)([q], cands)  # the rule is opt-in on the stage
    assert all(r["decided_by"] is None for r in off)


def test_the_negation_rule_rejects_a_listed_synonym_of_what_the_query_rules_out():
    from tailsynth.config import SynthesisConfig
    from tailsynth.programs.stages import make_stage

    q = Query("n", "vacuum that is not battery powered", "negative")
    cands = [{"query_id": "n", "product_id": "p7", "rewrite_rank": 1, "ann_rank": 1, "ann_score": 0.9}]  # "cordless vacuum"
    stage = make_stage("business", OverlapBusiness(), SynthesisConfig(business_threshold=0.0), CATALOG)
    assert [r["decided_by"] for r in stage([q], cands)] == ["negation"]
    plain = make_stage("business", OverlapBusiness(), SynthesisConfig(business_threshold=0.0, negation_synonyms=[]), CATALOG)
    assert [r["decided_by"] for r in plain([q], cands)] == [None]


def _rule(ann, bus, gen, bias, threshold):
    return {"weights": {"ann_score": ann, "business_score": bus, "general_p_yes": gen}, "bias": bias, "threshold": threshold}


def test_a_keep_rule_weighs_the_three_scores_by_the_querys_type():
    from tailsynth.keep_rule import KeepRule

    only_ann = _rule(1.0, 0.0, 0.0, 0.0, 0.7)  # qa: the retrieval score decides
    only_bus = _rule(0.0, 1.0, 0.0, 0.0, 0.5)  # every other type: the business score
    stage = GeneralFilterStage(GeneralRelevanceFilter(OverlapScorer(), threshold=0.0), CATALOG, business_threshold=0.0,
                               max_per_query=10, keep_rule=only_bus, keep_rule_by_type={"qa": only_ann})
    pairs = [{**p, "ann_score": a} for p, a in zip(_pairs("x", {"p1": 0.9, "p2": 0.2, "p3": 0.6}), (0.5, 0.8, 0.75))]
    for qtype, expected in (("qa", {"p2", "p3"}), ("negative", {"p1", "p3"}), (None, {"p1", "p3"})):
        rows = stage([Query("x", "toilet flapper valve", qtype)], pairs)
        assert {r["product_id"] for r in rows if r["kept"]} == expected
        assert all(r["decided_by"] == "general" and r["general_p_yes"] is not None for r in rows)
    assert KeepRule.from_dict(only_ann).keeps({"ann_score": 0.7, "business_score": 0.0, "general_p_yes": 0.0})  # >=
    strict = GeneralFilterStage(GeneralRelevanceFilter(OverlapScorer(), threshold=0.99), CATALOG, 0.0, 10,
                                keep_rule=_rule(0.0, 0.0, 0.0, 1.0, 0.0))  # the rule keeps all; the filter still decides
    assert not any(r["kept"] for r in strict([Query("x", "toilet flapper valve")], pairs))
    with pytest.raises(ValueError, match="ann_score"):  # a pair row from before pairs.ann_score existed
        stage([Query("x", "toilet flapper valve", "qa")], _pairs("x", {"p1": 0.9}))


def test_a_run_with_keep_rules_matches_forward_and_stores_each_pairs_retrieval_score(tmp_path):
    rules = {"keep_rule": _rule(1.0, 0.5, 0.5, 0.0, 1.0), "keep_rule_by_type": {"negative": _rule(0.0, 0.0, 0.0, -1.0, 0.0)}}
    program = make_program(tmp_path, general_threshold=0.0, **rules)
    store = Store(":memory:")
    program.run(QUERIES, store, run_id="r", progress=False)
    assert store.fetch("SELECT count(*) FROM pairs p JOIN candidates c USING (run_id, query_id, product_id) "
                       "WHERE p.ann_score IS DISTINCT FROM c.ann_score") == [(0,)]
    rows = store.fetch_dicts("SELECT q.qtype, p.* FROM pairs p JOIN queries q USING (run_id, query_id) "
                             "WHERE p.decided_by = 'general'")
    assert {r["qtype"] for r in rows} == {"knowledge", "negative", "alternative"}
    for r in rows:
        margin = r["ann_score"] + 0.5 * r["business_score"] + 0.5 * r["general_p_yes"]
        assert r["kept"] == (r["qtype"] != "negative" and margin >= 1.0)  # negative: a rule that keeps none
    assert any(r["kept"] for r in rows) and not all(r["kept"] for r in rows if r["qtype"] != "negative")
    untyped = store.fetch("SELECT product_id, general_p_yes FROM pairs WHERE run_id = 'r' AND query_id = 'a' AND kept ORDER BY ALL")
    in_memory = sorted((p["product_id"], p["general_p_yes"]) for p in program(query="toilet keeps running").pairs)
    assert in_memory == untyped  # forward's query is untyped, the "knowledge" one has no rule of its own: same rule
    with pytest.raises(ValueError, match="keep_rule_by_type"):
        SynthesisConfig(keep_rule_by_type={"qa": {"weights": [1.0], "bias": 0.0}})


def test_the_negation_rule_rejects_what_an_excluded_phrase_implies_in_the_catalog():
    from tailsynth.programs.stages import make_stage

    from .test_implications import CATALOG as WEED_KILLERS

    q = Query("n", "weed killer that is not plant based", "negative")
    cands = [{"query_id": "n", "product_id": p, "rewrite_rank": 1, "ann_rank": i, "ann_score": 0.9}
             for i, p in enumerate(("w6", "c1", "w1"), 1)]  # "Organic ... natural", chemical, "Plant-based ..."
    stage = make_stage("business", OverlapBusiness(), SynthesisConfig(business_threshold=0.0), WEED_KILLERS)
    assert {r["product_id"]: r["decided_by"] for r in stage([q], cands)} == {"w6": "negation", "c1": None, "w1": "negation"}
    words_only = make_stage("business", OverlapBusiness(),
                            SynthesisConfig(business_threshold=0.0, negation_implications=False), WEED_KILLERS)
    assert {r["product_id"]: r["decided_by"] for r in words_only([q], cands)} == {"w6": None, "c1": None, "w1": "negation"}
