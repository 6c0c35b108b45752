import numpy as np
import pytest

from tailsynth.evals.bootstrap import Interval, bootstrap_mean, bootstrap_paired_difference, bootstrap_ratio


def test_normal_mean_interval_matches_the_textbook_one():
    x = np.random.default_rng(1).normal(3.0, 2.0, size=400)
    iv = bootstrap_mean(x, n_resamples=4000)
    half = 1.96 * x.std(ddof=1) / np.sqrt(x.size)  # ≈ 0.196
    assert iv.estimate == pytest.approx(x.mean()) and iv.n == 400 and iv.confidence == 0.95
    assert iv.low == pytest.approx(x.mean() - half, abs=0.1 * half)
    assert iv.high == pytest.approx(x.mean() + half, abs=0.1 * half)


@pytest.mark.parametrize("draw,true_mean", [(lambda r, n: r.exponential(1.0, n), 1.0),
                                             (lambda r, n: r.binomial(1, 0.3, n).astype(float), 0.3)],
                         ids=["exponential(1)", "bernoulli(0.3)"])
def test_coverage_is_near_95_percent_on_known_distributions(draw, true_mean):
    rng = np.random.default_rng(7)
    trials = 300
    hits = sum(iv.low <= true_mean <= iv.high
               for iv in (bootstrap_mean(draw(rng, 80), n_resamples=1000, seed=t) for t in range(trials)))
    # binomial(300, 0.95): 3 sd is ±3.8 pt; percentile intervals run a little narrow at n = 80
    assert 0.88 <= hits / trials <= 0.99


def test_paired_difference_cancels_query_difficulty():
    rng = np.random.default_rng(3)
    difficulty = rng.normal(0.5, 0.3, size=200)  # per-query level shared by both systems
    a = difficulty + rng.normal(0, 0.02, 200)
    b = difficulty + 0.05 + rng.normal(0, 0.02, 200)
    gain = bootstrap_paired_difference(a, b)
    assert gain.estimate == pytest.approx(np.mean(b - a))
    assert gain.excludes_zero() and gain.low > 0.04 and gain.high < 0.06
    # separate intervals overlap (difficulty dominates), though the paired gain is clearly positive
    ia, ib = bootstrap_mean(a), bootstrap_mean(b)
    assert ib.low < ia.high
    # no gain: the interval straddles 0
    assert not bootstrap_paired_difference(a, a + rng.normal(0, 0.02, 200)).excludes_zero()


def test_ratio_resamples_whole_queries():
    correct = np.array([9, 0, 5, 10, 1], dtype=float)
    kept = np.array([10, 2, 5, 10, 3], dtype=float)
    iv = bootstrap_ratio(correct, kept, n_resamples=2000)
    assert iv.estimate == pytest.approx(25 / 30)
    assert iv.low < 25 / 30 < iv.high and 0 <= iv.low and iv.high <= 1
    # queries without pairs weigh nothing; a resample of only those is left out
    with_empty = bootstrap_ratio(np.append(correct, 0), np.append(kept, 0), n_resamples=500)
    assert with_empty.estimate == pytest.approx(25 / 30) and np.isfinite(with_empty.low)


def test_seeded_and_degenerate_cases():
    x = np.random.default_rng(0).random(50)
    assert bootstrap_mean(x, seed=5) == bootstrap_mean(x, seed=5)
    assert bootstrap_mean(x, seed=5) != bootstrap_mean(x, seed=6)
    assert bootstrap_mean([2.0, 2.0, 2.0]) == Interval(2.0, 2.0, 2.0, 3)
    assert bootstrap_mean(x, confidence=0.5).high - bootstrap_mean(x, confidence=0.5).low < (
        bootstrap_mean(x).high - bootstrap_mean(x).low)


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="no queries"):
        bootstrap_mean([])
    with pytest.raises(ValueError, match="NaN"):
        bootstrap_mean([1.0, float("nan")])
    with pytest.raises(ValueError, match="same queries"):
        bootstrap_paired_difference([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="confidence"):
        bootstrap_mean([1.0], confidence=95)


def test_interval_formats_as_points():
    iv = Interval(0.053, 0.021, 0.084, 400)
    assert iv.format(scale=100, signed=True) == "+5.3 [+2.1, +8.4]"
    assert iv.as_dict() == {"estimate": 0.053, "low": 0.021, "high": 0.084, "n": 400, "confidence": 0.95}
