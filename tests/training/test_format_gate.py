"""The RL format gate and inference's ``clean_rewrites`` apply one rule: an output passes the gate
exactly when inference keeps all k of its items, and the reward scores the items inference returns."""

import numpy as np
import pytest
from dspy.utils import DummyLM

from tailsynth.adapters import CompactAdapter
from tailsynth.programs.rewriter import Rewriter, clean_rewrites, rewrite_key
from tailsynth.training.rewards import RewardModel, RewardWeights, format_valid, gated_rewrites, parse_rewrites

QUERY = "Toilet keeps running?"
GOOD = ["toilet flapper", "fill valve kit", "toilet tank repair kit", "flush valve seal", "2.5 gallon toilet tank"]

# (name, list output, whether inference keeps all five)
CASES = [
    ("good", GOOD, True),
    ("copy of the query", ["Toilet keeps running?", *GOOD[1:]], False),
    ("copy, lower case, no punctuation", ["toilet keeps running", *GOOD[1:]], False),
    ("copy, extra whitespace", ["  toilet   keeps  running ", *GOOD[1:]], False),
    ("copy, other punctuation", ["TOILET, KEEPS RUNNING!!", *GOOD[1:]], False),
    ("copy, hyphenated", ["toilet-keeps-running.", *GOOD[1:]], False),
    ("item without letters", ["2.5", *GOOD[1:]], False),
    ("numbering left in an item", [*GOOD[:4], "1. 2. 3."], False),
    ("item with a single letter", [*GOOD[:4], "x"], False),
    ("near-duplicate: case", [*GOOD[:4], "Toilet Flapper"], False),
    ("near-duplicate: trailing period", [*GOOD[:4], "toilet flapper."], False),
    ("near-duplicate: hyphen and spaces", [*GOOD[:4], "toilet-flapper "], False),
    ("digits differ: 2.5 vs 25 gallon", [*GOOD[:4], "25 gallon toilet tank"], True),
    ("fewer than k", GOOD[:4], False),
    ("17 words: scored as inference cuts it", [*GOOD[:4], " ".join(["flapper"] + ["chain"] * 16)], True),
]


@pytest.mark.parametrize("name,items,kept_all", CASES, ids=[c[0] for c in CASES])
def test_gate_passes_exactly_when_clean_rewrites_keeps_all_k(name, items, kept_all):
    cleaned = clean_rewrites(items, 5, QUERY)
    assert (len(cleaned) == 5 and len(items) == 5) == kept_all
    assert format_valid(items, 5, QUERY) == kept_all
    assert gated_rewrites(items, 5, QUERY) == (cleaned if kept_all else None)


def test_a_long_item_is_scored_as_the_16_words_inference_keeps():
    long = " ".join(f"w{i}ord" for i in range(20))
    assert gated_rewrites([*GOOD[:4], long], 5, QUERY)[-1] == " ".join(long.split()[:16])


def test_more_than_k_items_fails_the_gate_though_inference_would_cut_it():
    # the policy must stop at k (numbered SFT lists teach that); inference keeps the first k
    assert clean_rewrites(GOOD + ["flapper chain"], 5, QUERY) == GOOD
    assert not format_valid(GOOD + ["flapper chain"], 5, QUERY)


def test_key_ignores_case_space_punctuation_not_digits():
    assert rewrite_key(" Door-Seal. ") == rewrite_key("door  seal") == "door seal"
    assert rewrite_key("2.5 gallon") != rewrite_key("25 gallon")


def test_numbered_list_keeps_the_number_inside_an_item():
    text = "1. 2.5 gallon bucket\n2. paint bucket\n3. 5 gallon bucket\n4. bucket lid\n5. mixing bucket"
    items = parse_rewrites(text)
    assert items[0] == "2.5 gallon bucket"
    assert gated_rewrites(items, 5, "bucket for paint") == items


class _CopyLovingQSR:
    """QSR that rates a copy of the query highest: the shortcut the gate must close."""

    def p_yes(self, signature, inputs, demos=()):
        return np.array([1.0 if rewrite_key(x["rewrite"]) == rewrite_key(x["query"]) else 0.5 for x in inputs])


def _program_output(text: str, query: str) -> list[str]:
    lm = DummyLM([{"rewrites": text}], adapter=CompactAdapter(numbered=True))
    return Rewriter(k=5, lm=lm, numbered=True)(query=query).rewrites


@pytest.mark.parametrize("name,items,kept_all", CASES, ids=[c[0] for c in CASES])
def test_reward_is_earned_only_by_what_the_rewriter_program_returns(name, items, kept_all):
    text = "\n".join(f"{i}. {r}" for i, r in enumerate(items, 1))
    reward = RewardModel(_CopyLovingQSR(), None, RewardWeights(1.0, 0.0, 0.0)).score([QUERY], [text], 5)[0]
    program = _program_output(text, QUERY)
    assert reward.valid == kept_all == (len(program) == 5)
    # the reward is the mean QSR of the items the program returns (none of them a copy: 0.5 each)
    assert reward.qsr == (0.5 if kept_all else 0.0)
