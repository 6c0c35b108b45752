import numpy as np
import pytest

from tailsynth.training.rewards import (RewardModel, RewardWeights, char_ngrams, combine, diversity, parse_rewrites,
                                        pda_reward)


def test_parse_rewrites_follows_compact_adapter():
    assert parse_rewrites("1. door seal\n- weatherstrip\n\n  foam strip ") == ["door seal", "weatherstrip", "foam strip"]


def test_char_bigrams_and_diversity_by_hand():
    assert char_ngrams("abc") == {"ab", "bc"}
    assert char_ngrams("a") == {"a"}
    # "abc" {ab, bc}; "abd" {ab, bd}: J = 1/3 -> 1 - J = 2/3
    assert diversity(["abc", "abd"]) == pytest.approx(2 / 3)
    # add "xyz" (disjoint with both): pairs 2/3, 1, 1 -> mean 8/9
    assert diversity(["abc", "abd", "xyz"]) == pytest.approx(8 / 9)
    assert diversity(["abc", "ABC"]) == 0.0
    assert diversity(["abc"]) == 0.0


def test_pda_reward_modes():
    assert pda_reward(np.array([4.0]), "inverse")[0] == pytest.approx(0.25)
    assert pda_reward(np.array([50.0, 200.0]), "normalized", ref_ppl=100.0).tolist() == [1.0, 0.5]


def test_combine_is_zero_when_invalid():
    w = RewardWeights()
    assert combine(0.8, 0.2, 0.5, True, w).total == pytest.approx(1.0 * 0.8 + 0.5 * 0.2 + 0.1 * 0.5)
    r = combine(0.8, 0.2, 0.5, False, w)
    assert (r.total, r.qsr, r.pda, r.diversity) == (0, 0, 0, 0)


class _FakeScorer:
    def p_yes(self, signature, inputs, demos=()):
        return np.array([0.5 if "bad" in x["rewrite"] else 1.0 for x in inputs])

    def perplexity(self, texts):
        return np.full(len(texts), 10.0)


def test_reward_model_means_over_rewrites():
    rm = RewardModel(_FakeScorer(), _FakeScorer(), RewardWeights(1.0, 0.5, 0.0))
    good, invalid = rm.score(["q", "q"], ["aa\nbb\ncc\ndd\nbad", "aa\naa"], k=5)
    assert good.valid and good.qsr == pytest.approx(0.9) and good.pda == pytest.approx(0.1)
    assert good.total == pytest.approx(0.9 + 0.05)
    assert not invalid.valid and invalid.total == 0
