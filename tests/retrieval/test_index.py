"""VectorIndex against numpy brute force, approximate recall, persistence, edge cases."""

import numpy as np
import pytest

from tailsynth.retrieval.index import IndexConfig, VectorIndex


def _unit(rng, n, d=32):
    x = rng.standard_normal((n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    vectors = _unit(rng, 2000)
    return vectors, [f"p{i}" for i in range(len(vectors))], _unit(rng, 50)


def test_flat_equals_numpy_brute_force(data):
    vectors, ids, queries = data
    index = VectorIndex.build(vectors, ids)
    assert index.kind == "flat"
    scores, got = index.search(queries, 10)
    sims = queries @ vectors.T
    top = np.argsort(-sims, axis=1)[:, :10]
    # the same top-10 scores in the same order; ids may swap only within a tie (scores equal to 5 decimals)
    np.testing.assert_allclose(scores, np.take_along_axis(sims, top, axis=1), rtol=1e-5, atol=1e-5)
    row_of = {pid: j for j, pid in enumerate(ids)}
    for q, (row_ids, row_scores) in enumerate(zip(got, scores)):
        np.testing.assert_allclose([sims[q, row_of[p]] for p in row_ids], row_scores, atol=1e-5)
    swapped = sum(a != [ids[j] for j in b] for a, b in zip(got, top))
    assert swapped <= len(got) // 4  # random vectors: near-ties are the exception


@pytest.mark.parametrize("kind", ["hnsw", "ivf"])
def test_approximate_recall(data, kind):
    vectors, ids, queries = data
    config = IndexConfig(ivf_nprobe=32)  # of ~51 lists: random 32-d data has no clusters
    index = VectorIndex.build(vectors, ids, kind=kind, config=config)
    assert index.kind == kind
    assert index.recall_against_exact(queries, 20) >= 0.9


def test_auto_switches_to_ivf_above_threshold(data):
    vectors, ids, _ = data
    assert VectorIndex.build(vectors, ids, exact_threshold=100).kind == "ivf"


def test_k_larger_than_ntotal():
    rng = np.random.default_rng(1)
    index = VectorIndex.build(_unit(rng, 5), list("abcde"))
    scores, got = index.search(_unit(rng, 3), 200)
    assert scores.shape == (3, 5)
    assert all(sorted(row) == list("abcde") for row in got)
    assert np.all(np.isfinite(scores))


@pytest.mark.parametrize("kind", ["flat", "hnsw", "ivf"])
def test_save_load_round_trip(tmp_path, data, kind):
    vectors, ids, queries = data
    index = VectorIndex.build(vectors, ids, kind=kind)
    index.save(tmp_path / "idx")
    loaded = VectorIndex.load(tmp_path / "idx")
    assert loaded.kind == kind and loaded.ntotal == len(ids)
    a_scores, a_ids = index.search(queries, 15)
    b_scores, b_ids = loaded.search(queries, 15)
    assert a_ids == b_ids
    np.testing.assert_allclose(a_scores, b_scores)


def test_rejects_mismatched_ids(data):
    vectors, ids, _ = data
    with pytest.raises(ValueError):
        VectorIndex.build(vectors, ids[:-1])
