import dspy
import pytest
from dspy.utils import DummyLM
from dspy.utils.exceptions import AdapterParseError

from tailsynth.adapters import CompactAdapter
from tailsynth.adapters.compact import parse_choice, parse_lines
from tailsynth.signatures import MultiRewrite, ProductRelevance, RewriteRelevance


def test_format_is_short_name_value_lines():
    messages = CompactAdapter().format(ProductRelevance, [], {"query": "q1", "product": "p1"})
    assert messages[0] == {"role": "system", "content": ProductRelevance.instructions}
    assert messages[1] == {"role": "user", "content": "Query: q1\nProduct: p1"}


def test_demos_become_user_assistant_turns():
    demos = [{"query": "a", "rewrites": ["x", "y"]}]
    messages = CompactAdapter().format(MultiRewrite, demos, {"query": "b"})
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]
    assert messages[2]["content"] == "x\ny"  # plain lines by default: numbered demos derail an untrained 135M model
    numbered = CompactAdapter(numbered=True).format(MultiRewrite, demos, {"query": "b"})
    assert numbered[2]["content"] == "1. x\n2. y"


def test_parse_list_strips_bullets_and_numbers():
    assert parse_lines('1. toilet flapper\n- "fill valve"\n\n* 3) wax ring') == ["toilet flapper", "fill valve", "3) wax ring"]


def test_numbered_lists_round_trip_and_decimal_sizes_keep_their_number():
    rewrites = ["2.5 gallon bucket", "1) not a bullet here", "10 v drill"]
    text = CompactAdapter(numbered=True).format_assistant_message_content(MultiRewrite, {"rewrites": rewrites})
    assert text.splitlines()[0] == "1. 2.5 gallon bucket"
    assert CompactAdapter().parse(MultiRewrite, text)["rewrites"] == rewrites
    assert parse_lines("2.5 gallon bucket\n3.drill") == ["2.5 gallon bucket", "3.drill"]


def test_parse_choice_and_failure():
    assert parse_choice(" Partial relevance", ("relevant", "partial", "irrelevant")) == "partial"
    assert parse_choice("Irrelevant.", ("relevant", "partial", "irrelevant")) == "irrelevant"
    with pytest.raises(AdapterParseError):
        CompactAdapter().parse(RewriteRelevance, "maybe?")


def test_predict_roundtrip_with_dummy_lm():
    lm = DummyLM([{"label": "irrelevant"}], adapter=CompactAdapter())
    with dspy.context(lm=lm, adapter=CompactAdapter()):
        out = dspy.Predict(RewriteRelevance)(query="paint not oil based", rewrite="oil based paint")
    assert out.label == "irrelevant"
