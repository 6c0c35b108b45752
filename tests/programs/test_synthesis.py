import pytest
from dspy.utils import DummyLM

from tailsynth.adapters import CompactAdapter
from tailsynth.config import SynthesisConfig
from tailsynth.programs.general_relevance import GeneralRelevanceFilter
from tailsynth.programs.rewrite_filter import RewriteFilter
from tailsynth.programs.rewriter import Rewriter
from tailsynth.programs.synthesis import STAGES, SynthesisProgram
from tailsynth.retrieval.catalog_index import CatalogIndex
from tailsynth.store import Store

from .fakes import CATALOG, HashEncoder, OverlapBusiness, OverlapScorer

QUERIES = [
    {"query_id": "a", "text": "toilet keeps running", "qtype": "knowledge"},
    {"query_id": "b", "text": "paint not oil based", "qtype": "negative"},
    {"query_id": "c", "text": "cheaper alternative to dysonic vacuum", "qtype": "alternative"},
]
REWRITES = {
    "toilet keeps running": "toilet flapper\ntoilet fill valve\nbath towel",
    "paint not oil based": "water based paint\ninterior paint",
    "cheaper alternative to dysonic vacuum": "budget cordless vacuum\nstick vacuum",
}


class MapLM(DummyLM):
    """Answers by the query in the prompt, whatever the thread order."""

    def __init__(self):
        super().__init__([{}], adapter=CompactAdapter())

    def forward(self, prompt=None, messages=None, **kwargs):
        user = messages[-1]["content"]
        text = next(v for k, v in REWRITES.items() if f"Query: {k}" == user)
        return {"choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}], "usage": {}, "model": "map"}


def make_program(tmp_path, fail_stage=None, **config):
    config = SynthesisConfig(business_threshold=0.3, top_k=4, chunk_size=2, **config)
    program = SynthesisProgram(
        catalog=CATALOG,
        rewriter=Rewriter(k=config.k, lm=MapLM()),
        rewrite_filter=RewriteFilter(OverlapScorer(), drop_threshold=config.rewrite_drop_threshold),
        index=CatalogIndex.build_or_load(CATALOG.texts, CATALOG.ids, HashEncoder(), tmp_path / "idx"),
        business=OverlapBusiness(),
        general_filter=GeneralRelevanceFilter(OverlapScorer(), threshold=config.general_threshold),
        config=config,
    )
    if fail_stage:
        original = getattr(program, f"_{fail_stage}")
        state = {"calls": 0}

        def crash_on_second_chunk(*args):
            state["calls"] += 1
            if state["calls"] == 2:
                raise KeyboardInterrupt("killed")
            return original(*args)

        setattr(program, f"_{fail_stage}", crash_on_second_chunk)
    return program


def snapshot(store, run_id):
    tables = {}
    for table in ("rewrites", "candidates", "pairs"):
        rows = store.fetch(f"SELECT * EXCLUDE (run_id) FROM {table} WHERE run_id = ? ORDER BY ALL", [run_id])
        tables[table] = [tuple(round(v, 9) if isinstance(v, float) else v for v in r) for r in rows]
    return tables


def test_pairs_keep_their_provenance(tmp_path):
    store = Store(":memory:")
    summary = make_program(tmp_path).run(QUERIES, store, run_id="r1", progress=False)
    assert summary.funnel["queries"] == 3 and summary.funnel["pairs_kept"] > 0
    kept = store.fetch_dicts(
        "SELECT p.query_id, p.product_id, r.rewrite, p.business_score, p.general_p_yes FROM pairs p "
        "JOIN rewrites r ON r.run_id = p.run_id AND r.query_id = p.query_id AND r.rank = p.rewrite_rank WHERE p.kept"
    )
    assert {(k["query_id"], k["product_id"]) for k in kept} >= {("a", "p1"), ("a", "p2")}
    assert all(k["business_score"] >= 0.3 and k["general_p_yes"] >= 0.5 for k in kept)
    # the unrelated rewrite was judged irrelevant and dropped before retrieval
    (label, kept_flag), = store.fetch("SELECT label, kept FROM rewrites WHERE rewrite = 'bath towel'")
    assert label == "irrelevant" and kept_flag is False


@pytest.mark.parametrize("stage", STAGES)
def test_killed_run_resumes_to_identical_rows(tmp_path, stage):
    reference = Store(":memory:")
    make_program(tmp_path).run(QUERIES, reference, run_id="r", progress=False)

    store = Store(str(tmp_path / "s.duckdb"))
    with pytest.raises(KeyboardInterrupt):
        make_program(tmp_path, fail_stage=stage).run(QUERIES, store, run_id="r", progress=False)
    assert 0 < len(store.done("r", stage)) < len(QUERIES)
    make_program(tmp_path).run(QUERIES, store, run_id="r", progress=False)
    assert snapshot(store, "r") == snapshot(reference, "r")
    dupes = store.fetch("SELECT count(*) - count(DISTINCT (query_id, product_id)) FROM pairs WHERE run_id = 'r'")
    assert dupes == [(0,)]


def test_bad_queries_are_refused_before_any_work(tmp_path):
    store = Store(":memory:")
    with pytest.raises(ValueError, match="empty query text"):
        make_program(tmp_path).run([{"query_id": "x", "text": "  "}, *QUERIES], store, progress=False)
    with pytest.raises(ValueError, match="max 500"):
        make_program(tmp_path).run([{"query_id": "x", "text": "paint " * 200}], store, progress=False)
    assert store.fetch("SELECT count(*) FROM runs") == [(0,)]


def test_forward_returns_kept_pairs_for_one_query(tmp_path):
    out = make_program(tmp_path)(query="toilet keeps running")
    assert {"p1", "p2"} <= {p["product_id"] for p in out.pairs}
    assert all(p["rewrite"] for p in out.pairs)
