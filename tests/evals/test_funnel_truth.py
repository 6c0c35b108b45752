import pytest

from tailsynth.evals.funnel_truth import ALL, STAGES, FunnelRow, true_pair_funnel, true_pairs_lost
from tailsynth.store import Store

# query -> qtype; candidates with (business_score, general_p_yes, kept); None = no pairs row yet
QUERIES = {"q1": "negative", "q2": "negative", "q3": "qa", "it's \"q4\"; --": None}
CANDIDATES = {
    ("q1", "a"): (0.9, 0.8, True),
    ("q1", "b"): (0.9, 0.2, False),
    ("q1", "c"): (0.7, None, False),  # over the cap: never scored by the general filter
    ("q1", "d"): (0.1, None, False),  # rejected by the business model
    ("q2", "a"): (0.2, None, False),
    ("q3", "x"): (0.6, 0.9, True),
    ("q3", "y"): None,  # found, not business-scored yet
    ("it's \"q4\"; --", "z"): (0.95, 0.95, True),
}
TRUE = {("q1", "a"), ("q1", "c"), ("q1", "d"), ("q2", "a"), ("q3", "x"), ("q3", "y"), ("it's \"q4\"; --", "z")}


@pytest.fixture
def store():
    s = Store(":memory:")
    s.start_run("r1", "synthesis", {"business_threshold": 0.5}, {})
    s.insert("queries", [("r1", q, f"text {q}", t) for q, t in QUERIES.items()])
    s.insert("queries", [("other", "q1", "text", "negative")])
    s.insert("candidates", [("r1", q, p, 0, i, 1.0) for i, (q, p) in enumerate(CANDIDATES)])
    s.insert("candidates", [("other", "q1", "zz", 0, 0, 1.0)])  # another run is not counted
    for (q, p), v in CANDIDATES.items():
        if v is not None:  # named columns: the pairs table may grow columns
            s.con.execute("INSERT INTO pairs (run_id, query_id, product_id, rewrite_rank, ann_rank, business_score, "
                          "general_p_yes, kept) VALUES (?, ?, ?, 0, 0, ?, ?, ?)", ["r1", q, p, *v])
    yield s
    s.close()


def _table(rows):
    return {(r.qtype, r.stage): (r.pairs, r.true_pairs) for r in rows}


def test_counts_pairs_and_true_pairs_per_type_and_stage(store):
    calls = []
    rows = true_pair_funnel(store, "r1", lambda q, p: calls.append((q, p)) or (q, p) in TRUE)
    assert sorted(calls) == sorted(CANDIDATES)  # the judge sees each candidate once
    t = _table(rows)
    assert [t[("negative", s)] for s in STAGES] == [(5, 4), (3, 2), (2, 1), (1, 1)]
    assert [t[("qa", s)] for s in STAGES] == [(2, 2), (1, 1), (1, 1), (1, 1)]
    assert [t[("untyped", s)] for s in STAGES] == [(1, 1)] * 4  # a query with quotes in its id: parameters
    assert [t[(ALL, s)] for s in STAGES] == [(8, 7), (5, 4), (4, 3), (3, 3)]
    assert [r.qtype for r in rows][::4] == ["negative", "qa", "untyped", ALL]
    lost = true_pairs_lost(rows)
    assert lost["negative"] == {"business_pass": 2, "general_scored": 1, "kept": 0}
    assert lost[ALL] == {"business_pass": 3, "general_scored": 1, "kept": 0}


def test_threshold_is_the_runs_unless_given(store):
    judge = lambda q, p: (q, p) in TRUE  # noqa: E731
    lenient = _table(true_pair_funnel(store, "r1", judge, business_threshold=0.0))
    assert lenient[(ALL, "business_pass")] == (7, 6)  # every scored pair (q3/y has no score yet)
    with pytest.raises(ValueError, match="no run 'missing-run'"):
        true_pair_funnel(store, "missing-run", judge)


def test_precision_and_empty_run(store):
    assert FunnelRow("qa", "kept", 4, 3).precision == 0.75 and FunnelRow("qa", "kept", 0, 0).precision is None
    store.start_run("empty", "synthesis", {"business_threshold": 0.5}, {})
    assert true_pair_funnel(store, "empty", lambda q, p: True) == []


def test_agrees_with_the_synthesis_funnel_of_a_real_run(tmp_path):
    # a real SynthesisProgram run (DummyLM rewriter, FAISS index, DuckDB) from the synthesis tests
    from tailsynth.programs.synthesis import funnel
    from tests.programs.test_synthesis import QUERIES, make_program

    store = Store(":memory:")
    make_program(tmp_path).run(QUERIES, store, run_id="r1", progress=False)
    truth = {("a", "p1"), ("a", "p2")}
    rows = true_pair_funnel(store, "r1", lambda q, p: (q, p) in truth)
    totals = {r.stage: r.pairs for r in rows if r.qtype == ALL}
    counts = funnel(store, "r1")
    assert totals == {"candidates": counts["candidates"], "business_pass": counts["business_pass"],
                      "general_scored": counts["general_scored"], "kept": counts["pairs_kept"]}
    assert {r.qtype for r in rows} == {q["qtype"] for q in QUERIES} | {ALL}
    knowledge = {r.stage: r.true_pairs for r in rows if r.qtype == "knowledge"}
    assert knowledge["candidates"] == knowledge["kept"] == 2  # both true pairs of query a survive every stage
