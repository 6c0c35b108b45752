"""The shared stage code: in-memory batches in, rows out; pairs.decided_by says which stage decided."""

from tailsynth.programs.general_relevance import GeneralRelevanceFilter
from tailsynth.programs.queries import Query
from tailsynth.programs.stages import BusinessStage, GeneralFilterStage
from tailsynth.store import Store

from .fakes import CATALOG, OverlapBusiness, OverlapScorer
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
    assert {r["decided_by"] for r in rows} == {"business", "cap", "general"}
    for r in rows:
        if r["decided_by"] == "business":
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
    class Counting(OverlapBusiness):
        seen: list = []

        def score(self, query, texts):
            self.seen.extend(texts)
            return super().score(query, texts)

    business = Counting()
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
