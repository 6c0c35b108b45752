"""CatalogIndex caching and union-of-rewrites retrieval, on a cheap deterministic fake encoder."""


import numpy as np

from tailsynth.retrieval.catalog_index import CatalogIndex

from ..encoders import HashEncoder as CountingEncoder

TEXTS = ["cordless drill", "bath towel", "garden hose", "drill bits set", "beach towel"]
IDS = ["d1", "t1", "h1", "d2", "t2"]


def test_second_build_loads_from_cache(tmp_path):
    encoder = CountingEncoder()
    first = CatalogIndex.build_or_load(TEXTS, IDS, encoder, tmp_path)
    assert encoder.encoded == len(TEXTS)
    second = CatalogIndex.build_or_load(TEXTS, IDS, encoder, tmp_path)
    assert encoder.encoded == len(TEXTS)  # nothing re-encoded
    assert second.fingerprint == first.fingerprint
    np.testing.assert_array_equal(first.embeddings, second.embeddings)
    # a changed catalog is a different cache entry
    CatalogIndex.build_or_load(TEXTS[:4], IDS[:4], encoder, tmp_path)
    assert encoder.encoded == len(TEXTS) + 4
    assert second.search(["drill"], k=2) == first.search(["drill"], k=2)


def test_search_returns_ids_and_scores(tmp_path):
    index = CatalogIndex.build_or_load(TEXTS, IDS, CountingEncoder(), tmp_path)
    (hits,) = index.search(["towel"], k=200)
    assert len(hits) == len(IDS)  # k > catalog size
    assert {pid for pid, _ in hits[:2]} == {"t1", "t2"}
    assert all(isinstance(score, float) for _, score in hits)


def test_search_union_dedupes_keeping_best_rank(tmp_path):
    index = CatalogIndex.build_or_load(TEXTS, IDS, CountingEncoder(), tmp_path)
    groups = [["drill", "towel"], ["garden hose"]]
    union = index.search_union(groups, k=2)
    assert len(union) == 2
    first = {hit["product_id"]: hit for hit in union[0]}
    assert set(first) == {"d1", "d2", "t1", "t2"}
    assert first["t1"]["rewrite_index"] == 1 and first["d1"]["rewrite_index"] == 0
    assert sorted(hit["rank"] for hit in union[0]) == [1, 1, 2, 2]
    assert union[1][0] == {"product_id": "h1", "rewrite_index": 0, "rank": 1, "score": union[1][0]["score"]}
    assert len({hit["product_id"] for hit in union[0]}) == len(union[0])
    assert index.search_union([[]], k=3) == [[]]
