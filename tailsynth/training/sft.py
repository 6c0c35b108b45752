"""Supervised fine-tuning of the multi-candidate rewriter on the annotated rewrite examples.

Each example is the exact chat the ``Rewriter`` program sends through ``CompactAdapter``:
system = the MultiRewrite instructions ("... Write k rewrites."), user = "Query: ...",
assistant = the k rewrites as numbered lines ("1. ..."), then the end-of-turn token. The loss is on the
assistant tokens only. ``train_rewriter_sft(source, SFTConfig())`` → HF directory.

Defaults are sized for 2 busy CPU cores (~3-14 s a step there, ~11 min in all): the top 8 of 30
decoder layers train (see ``models``), 100 steps of 8 examples, lr 2e-4. That is a smoke run
(measured: dev rewrite accuracy 12.7% vs 1.5% zero-shot). About 2.3 epochs (100 + 200 steps at the
top 8 layers, then 600 at the top 12, lr 1.5e-4; ~35 min on 2 idle cores) reach 78.6% dev rewrite
accuracy and 84% format-valid samples at T = 1; greedy outputs still repeat a line now and then.
On a GPU raise ``steps`` and set ``trainable_layers=None``.
"""

from __future__ import annotations

import logging
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from tailsynth.adapters import CompactAdapter
from tailsynth.optim import adamw
from tailsynth.programs.rewriter import clean_rewrites, rewrite_signature, write_rewriter_info
from tailsynth.sources import as_source
from tailsynth.training.generation import decode, generate_ids
from tailsynth.training.models import keeps_threads, set_threads, default_out_dir, load_for_training, save_model, set_seed, trainable_parameters, write_summary
from tailsynth.training.rewards import format_valid, parse_rewrites
from tailsynth.training.sequences import build_batch, encode_chat_pair, masked_mean_nll, token_logprobs
from tailsynth.training.throughput import autocast, throughput
from tailsynth.training.train_log import TrainLogger

log = logging.getLogger(__name__)


@dataclass
class SFTConfig:
    base_model: str | None = None
    """HF directory of the starting LM; None = the packaged SmolLM2-135M-Instruct."""
    steps: int = 100
    batch_size: int = 8
    lr: float = 2e-4
    max_len: int = 128
    trainable_layers: int | None = 8
    seed: int = 0
    num_threads: int | None = None
    """torch CPU threads (see ``models.set_threads``); None = torch's default."""
    k: int = 5
    eval_queries: int = 40
    eval_zero_shot: bool = True
    dev_loss_examples: int = 64
    max_new_tokens: int = 64
    train_limit: int | None = None
    """Use only the first n training examples (tests)."""
    out_dir: str | None = None
    """Default: cache_dir()/models/rewriter-sft."""
    run_id: str = "rewriter-sft"
    live: bool = True


def rewrite_messages(query: str, k: int) -> list[dict]:
    """The chat ``Rewriter`` sends for one query (CompactAdapter, no demos)."""
    return CompactAdapter().format(rewrite_signature(k), [], {"query": query})


NUMBERED = True
"""The targets are numbered lines ("1. ..."), so the model learns to stop after k; the same flag
goes into the model dir's ``rewriter.json`` for the program that loads it."""


def rewrite_answer(rewrites: list[str], k: int) -> str:
    adapter = CompactAdapter(numbered=NUMBERED)
    return adapter.format_assistant_message_content(rewrite_signature(k), {"rewrites": list(rewrites)[:k]})


def sft_examples(source, split: str, k: int = 5) -> list[dict]:
    """query_id, query, messages, answer for each annotated rewrite example of the split."""
    rows = as_source(source).require("rewrite_examples", split)
    return [{"query_id": r["query_id"], "query": r["query"], "messages": rewrite_messages(r["query"], k),
             "answer": rewrite_answer(r["rewrites"], k)} for r in rows]


def sft_batch(tok, examples: list[dict], max_len: int):
    pairs = [encode_chat_pair(tok, ex["messages"], ex["answer"]) for ex in examples]
    return build_batch([p for p, _ in pairs], [r for _, r in pairs], tok.pad_token_id, max_len)


def sft_loss(model, batch) -> torch.Tensor:
    """Mean negative log-likelihood of the response tokens (end-of-turn included)."""
    return masked_mean_nll(token_logprobs(model, batch), batch.scored_mask)


@torch.no_grad()
def dev_loss(model, tok, examples: list[dict], config: SFTConfig) -> float:
    model.eval()
    losses = [float(sft_loss(model, sft_batch(tok, examples[i : i + config.batch_size], config.max_len)))
              for i in range(0, len(examples), config.batch_size)]
    model.train()
    return sum(losses) / max(1, len(losses))


def evaluate_rewriter(source, model, tok, examples: list[dict], k: int = 5, max_new_tokens: int = 64) -> dict:
    """Greedy generations: parse rate (format gate) and rewrite accuracy (world label == relevant,
    over every rewrite the Rewriter program would keep)."""
    prompts = [encode_chat_pair(tok, ex["messages"], None)[0] for ex in examples]
    texts = []
    for i in range(0, len(prompts), 16):
        texts += [decode(tok, r) for r in generate_ids(model, tok, prompts[i : i + 16], max_new_tokens=max_new_tokens)]
    label = as_source(source).require("rewrite_labeler")
    n_valid, labels = 0, []
    for ex, text in zip(examples, texts):
        n_valid += format_valid(parse_rewrites(text), k, ex["query"])
        labels += [label(ex["query_id"], r) for r in clean_rewrites(parse_rewrites(text), k, ex["query"])]
    return {
        "parse_rate": n_valid / max(1, len(examples)),
        "rewrite_accuracy": sum(lab == "relevant" for lab in labels) / max(1, len(labels)),
        "rewrites_per_query": len(labels) / max(1, len(examples)),
        "example": texts[0] if texts else "",
    }


@keeps_threads
def train_rewriter_sft(source, config: SFTConfig = SFTConfig(), store=None) -> Path:
    """Fine-tune the rewriter; returns its HF directory (with metrics.json, train_log.jsonl, curves.png)."""
    set_seed(config.seed)
    set_threads(config.num_threads)
    out_dir = Path(config.out_dir) if config.out_dir else default_out_dir("rewriter-sft")
    train = sft_examples(source, "train", config.k)[: config.train_limit]
    dev = sft_examples(source, "dev", config.k)
    dev_eval = dev[: config.eval_queries]
    model, tok = load_for_training(config.base_model, config.trainable_layers)
    summary: dict = {"train_examples": len(train)}
    if config.eval_zero_shot and config.eval_queries:
        zs = evaluate_rewriter(source, model, tok, dev_eval, config.k, config.max_new_tokens)
        summary.update(zero_shot_parse_rate=zs["parse_rate"], zero_shot_rewrite_accuracy=zs["rewrite_accuracy"])
    opt = adamw(trainable_parameters(model), lr=config.lr, weight_decay=0.0)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / 5) * max(0.1, 1 - s / max(1, config.steps)))
    logger = TrainLogger(config.run_id, out_dir, store, live=config.live, title="rewriter SFT")
    order, rng, start = [], random.Random(config.seed), time.time()
    for step in range(1, config.steps + 1):
        if len(order) < config.batch_size:
            order += rng.sample(range(len(train)), len(train))
        batch_examples = [train[i] for i in order[: config.batch_size]]
        del order[: config.batch_size]
        t = time.time()
        batch = sft_batch(tok, batch_examples, config.max_len)
        with autocast(model.device):
            loss = sft_loss(model, batch)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trainable_parameters(model), 1.0)
        opt.step(), sched.step(), opt.zero_grad(set_to_none=True)
        elapsed = time.time() - t
        tokens = int(batch.attention_mask.sum()) + len(batch.prefix) * len(batch_examples)
        logger.log(step, {"loss": loss.item(), "lr": sched.get_last_lr()[0], "step_s": elapsed,
                          **throughput(model, tokens, elapsed)})
    logger.close()
    summary.update(train_s=round(time.time() - start, 1), steps=config.steps, final_train_loss=logger.history[-1]["loss"])
    summary["dev_loss"] = dev_loss(model, tok, dev[: config.dev_loss_examples], config)
    if config.eval_queries:
        ev = evaluate_rewriter(source, model, tok, dev_eval, config.k, config.max_new_tokens)
        summary.update(parse_rate=ev["parse_rate"], rewrite_accuracy=ev["rewrite_accuracy"],
                       rewrites_per_query=ev["rewrites_per_query"], example=ev["example"])
    model.eval()
    save_model(model, tok, out_dir)
    write_rewriter_info(out_dir, numbered=NUMBERED)
    write_summary(out_dir, {"config": asdict(config), **summary})
    log.info("rewriter SFT: %s", summary)
    return out_dir
