"""An index cut into shards by product rows, searched per shard and merged, answers exactly as the
whole flat index: same ids, same order, same scores, ties (duplicate texts) included."""

import random

import numpy as np
import pytest

from tailsynth.retrieval.catalog_index import CatalogIndex, cache_path
from tailsynth.retrieval.index import VectorIndex
from tailsynth.retrieval.sharded_index import ShardedIndex, load_index_shard, merge_top_k, shard_bounds

from ..encoders import HashEncoder

WORDS = "toilet flapper valve paint water oil based led bulb dimmable vacuum cordless stick budget premium hose".split()


def _catalog(n=240, seed=0):
    """Short word-bag titles (many equal scores) with exact duplicates, ids not in row order."""
    rng = random.Random(seed)
    texts = [" ".join(rng.sample(WORDS, rng.randint(1, 3))) for _ in range(n)]
    texts[10:20] = [texts[3]] * 10
    ids = [f"p{rng.randrange(10**6):06d}-{i}" for i in range(n)]
    return texts, ids


QUERIES = ["toilet flapper", "water based paint", "cordless vacuum", "led", "garden hose premium", "nothing matches"]


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    texts, ids = _catalog()
    return CatalogIndex.build_or_load(texts, ids, HashEncoder(), tmp_path_factory.mktemp("idx"))


def test_shard_bounds_cover_every_row_once():
    assert shard_bounds(10, 3) == [(0, 3), (3, 6), (6, 10)]
    assert shard_bounds(7, 1) == [(0, 7)]
    with pytest.raises(ValueError):
        shard_bounds(2, 3)


def test_flat_search_is_canonical_by_score_then_product_id(index):
    for k in (1, 5, 40, 500):
        for hits in index.search(QUERIES, k):
            assert hits == sorted(hits, key=lambda h: (-h[1], h[0]))
    # a smaller k is a prefix of a larger one, even inside a tie group (raw FAISS heaps are not)
    short, long = index.search(QUERIES, 7), index.search(QUERIES, 60)
    assert all(s == l[:7] for s, l in zip(short, long))


@pytest.mark.parametrize("shards", [2, 3])
@pytest.mark.parametrize("k", [1, 7, 60, 100, 500])
def test_sharded_search_equals_the_whole_flat_index(index, shards, k):
    sharded = ShardedIndex.split(index, shards)
    assert [s.ntotal for s in sharded.shards] == [b - a for a, b in shard_bounds(index.index.ntotal, shards)]
    assert sharded.search(QUERIES, k) == index.search(QUERIES, k)
    groups = [QUERIES[:2], QUERIES[2:3], [], QUERIES[3:]]
    assert sharded.search_union(groups, k) == index.search_union(groups, k)


def test_shards_load_only_their_rows_from_the_cache(index, tmp_path):
    texts, ids = _catalog()
    cache = cache_path(tmp_path, HashEncoder.model_id, texts, ids)
    CatalogIndex.build_or_load(texts, ids, HashEncoder(), tmp_path)
    parts = [load_index_shard(cache, s, 3) for s in range(3)]
    assert [p.ids for p in parts] == [ids[a:b] for a, b in shard_bounds(len(ids), 3)]
    assert ShardedIndex(HashEncoder(), parts).search(QUERIES, 50) == index.search(QUERIES, 50)
    with pytest.raises(FileNotFoundError, match="no built catalog index"):
        load_index_shard(tmp_path / "missing", 0, 2)


def test_merge_keeps_the_best_k_and_breaks_ties_by_product_id():
    a = (np.array([[0.9, 0.5], [0.7, -np.inf]], np.float32), [["b", "d"], ["x"]])
    b = (np.array([[0.9, 0.6]], np.float32).repeat(2, 0), [["a", "c"], ["y", "z"]])
    scores, ids = merge_top_k([a, b], 3)
    assert ids == [["a", "b", "c"], ["y", "x", "z"]]
    assert scores[0].tolist() == pytest.approx([0.9, 0.9, 0.6])
    assert merge_top_k([a], 5)[1] == [["b", "d"], ["x"]]  # the -inf tail of an approximate shard never surfaces


@pytest.mark.integration
@pytest.mark.parametrize("shards", [2, 3])
def test_sharded_equals_unsharded_on_real_minilm_embeddings(shards, tmp_path):
    from tailsynth.demo import world_catalog
    from tailsynth.retrieval.encoder import Encoder
    from tailsynth.world import load_world

    catalog = world_catalog(load_world(seed=0, n_products=3000))
    texts, ids = catalog.texts[:400], catalog.ids[:400]
    index = CatalogIndex.build_or_load(texts, ids, Encoder(), tmp_path)
    assert index.index.kind == "flat"
    queries = [texts[i].split(" ", 2)[-1] for i in range(0, 400, 37)] + ["cheap cordless drill", "paint not oil based"]
    vectors = index.encoder.encode(queries)
    sharded = ShardedIndex.split(index, shards)
    for k in (10, 200):
        expected = index.index.search(vectors, k)
        got = sharded.search_vectors(vectors, k)
        assert got[1] == expected[1]
        np.testing.assert_array_equal(got[0], expected[0])
    assert VectorIndex.build(index.embeddings, ids).search(vectors, 5)[1] == index.index.search(vectors, 5)[1]
