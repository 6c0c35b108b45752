from tailsynth.catalog import Catalog
from tailsynth.evals.retrieval_eval import evaluate_bm25, score_lists
from tailsynth.retrieval.bm25 import BM25Retriever


def _catalog():
    return Catalog(["a", "b", "c", "d"], ["cordless drill 18v", "toilet flapper repair kit",
                                          "LED bulb dimmable 60w", "LED bulb non-dimmable 40w"])


def test_bm25_ranks_lexical_matches_first_and_drops_zero_scores():
    lists = BM25Retriever(_catalog()).search(["toilet flapper", "dimmable led bulb", "zzz"], k=10)
    assert lists[0] == ["b"]
    assert lists[1][0] == "c" and set(lists[1]) == {"c", "d"}
    assert lists[2] == []


def test_bm25_output_fits_the_eval_metrics():
    queries = [{"query_id": "q1", "text": "toilet flapper", "qtype": "qa"}]
    judge = lambda qid, pids: [p == "b" for p in pids]  # noqa: E731
    res = evaluate_bm25(_catalog(), queries, judge, k=5)
    assert res["qa"]["item_goodrate"] == 1.0 and res["all"]["n_queries"] == 1.0
    assert res == score_lists(queries, [["b"]], judge)
