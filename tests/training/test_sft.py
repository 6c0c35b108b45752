import json

import pytest

from tailsynth.adapters import CompactAdapter
from tailsynth.programs.rewriter import Rewriter, numbered_lists, rewrite_signature
from tailsynth.training.models import load_for_training
from tailsynth.training.sequences import encode_chat_pair
from tailsynth.training.sft import SFTConfig, rewrite_answer, sft_batch, sft_examples, train_rewriter_sft


def test_sft_target_is_the_compact_adapter_format(world):
    ex = sft_examples(world, "train")[0]
    row = world.rewrite_examples.slice(0, 1).to_pylist()[0]
    assert ex["messages"] == CompactAdapter().format(rewrite_signature(5), [], {"query": row["query"]})
    assert ex["messages"][1]["content"] == f"Query: {row['query']}"
    assert CompactAdapter().parse(rewrite_signature(5), ex["answer"])["rewrites"] == row["rewrites"]
    assert rewrite_answer(row["rewrites"], 5).count("\n") == 4
    assert rewrite_answer(row["rewrites"], 5).startswith(f"1. {row['rewrites'][0]}\n2. ")  # numbered: stop at k


@pytest.mark.integration
def test_sft_loss_is_on_the_response_and_end_of_turn(world):
    _, tok = load_for_training(None, 0)
    ex = sft_examples(world, "train")[:2]
    prompt, response = encode_chat_pair(tok, ex[0]["messages"], ex[0]["answer"])
    assert response[-1] == tok.eos_token_id  # <|im_end|>: the model learns to stop
    assert tok.decode(response[:-1]) == ex[0]["answer"]
    batch = sft_batch(tok, ex, max_len=128)
    assert int(batch.target_mask[0].sum()) == len(response)


@pytest.mark.integration
def test_tiny_sft_run_saves_a_model_the_rewriter_program_parses(world, tmp_path):
    from tailsynth.serving.transformers_lm import TransformersLM

    cfg = SFTConfig(steps=2, batch_size=4, train_limit=8, eval_queries=1, eval_zero_shot=False, dev_loss_examples=4,
                    max_new_tokens=32, out_dir=str(tmp_path / "sft"), live=False)
    out = train_rewriter_sft(world, cfg)
    assert (out / "model.safetensors").exists() and (out / "tokenizer.json").exists()
    summary = json.loads((out / "metrics.json").read_text())
    assert 0 <= summary["parse_rate"] <= 1 and summary["dev_loss"] > 0
    assert numbered_lists(out) and not numbered_lists(None)  # the program knows the format it learned
    rewrites = Rewriter(k=5, lm=TransformersLM(str(out)), max_tokens=32, numbered=numbered_lists(out)).batch_rewrite(
        ["LED bulbs that are not dimmable"])
    assert isinstance(rewrites[0], list) and all(isinstance(r, str) and r for r in rewrites[0])
