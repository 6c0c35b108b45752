"""PDA language model: continued pre-training on product text, so that perplexity measures how
much a rewrite reads like the catalog (Eq. 2: reward 1/PPL, or normalised, see ``rewards.pda_reward``).

Documents are one per product: "title. attributes" then the description on the next line, as
plain text after BOS (the exact framing ``LocalScorer.perplexity`` scores). A held-out slice of
products is never trained on; we report the PPL of its titles and of the world's good rewrites
before and after, and store the median good-rewrite PPL as ``ref_ppl`` for the normalised reward.

``train_pda(source, PDAConfig())`` → HF directory; score with ``LocalScorer(path).perplexity(texts)``.
"""

from __future__ import annotations

import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from tailsynth.optim import adamw
from tailsynth.sources import as_source
from tailsynth.training.models import keeps_threads, set_threads, default_out_dir, load_for_training, save_model, set_seed, trainable_parameters, write_summary
from tailsynth.training.sequences import build_batch, masked_mean_nll, token_logprobs
from tailsynth.training.train_log import TrainLogger


@dataclass
class PDAConfig:
    base_model: str | None = None
    steps: int = 40
    batch_size: int = 16
    lr: float = 2e-4
    max_len: int = 64
    trainable_layers: int | None = 4
    seed: int = 0
    num_threads: int | None = None
    """torch CPU threads (see ``models.set_threads``); None = torch's default."""
    held_out_fraction: float = 0.05
    eval_texts: int = 200
    out_dir: str | None = None
    """Default: cache_dir()/models/pda."""
    run_id: str = "pda"
    live: bool = True


def product_documents(source) -> tuple[list[str], list[str]]:
    """(documents, titles), one per product, in catalog order (``Source.product_documents``)."""
    return as_source(source).product_documents()


def good_rewrites(source, split: str = "dev") -> list[str]:
    """The annotated good rewrites of the split; [] when the source has none (then the PDA LM is
    scored on product titles only and stores no ``ref_ppl``: the RL reward then uses raw PPL)."""
    return [w for r in as_source(source).rewrite_examples(split) or [] for w in r["rewrites"]]


def lm_batch(tok, texts: list[str], max_len: int):
    start = tok.bos_token_id if tok.bos_token_id is not None else tok.eos_token_id
    seqs = [tok.encode(t, add_special_tokens=False)[: max_len - 2] + [tok.eos_token_id] for t in texts]
    return build_batch([[start]] * len(seqs), seqs, tok.pad_token_id, share_prefix=False)


@torch.no_grad()
def perplexity(model, tok, texts: list[str], batch_size: int = 64) -> np.ndarray:
    """Per-text PPL of BOS + text (no end token): the same quantity as ``LocalScorer.perplexity``."""
    start = tok.bos_token_id if tok.bos_token_id is not None else tok.eos_token_id
    out = []
    for i in range(0, len(texts), batch_size):
        seqs = [tok.encode(t, add_special_tokens=False) for t in texts[i : i + batch_size]]
        batch = build_batch([[start]] * len(seqs), seqs, tok.pad_token_id, share_prefix=False)
        lp = token_logprobs(model, batch)
        mask = batch.scored_mask.to(lp.device, lp.dtype)
        out.append(torch.exp(-(lp * mask).sum(1) / mask.sum(1).clamp(min=1)).cpu().numpy())
    return np.concatenate(out)


@keeps_threads
def train_pda(source, config: PDAConfig = PDAConfig(), store=None) -> Path:
    set_seed(config.seed)
    set_threads(config.num_threads)
    out_dir = Path(config.out_dir) if config.out_dir else default_out_dir("pda")
    docs, titles = product_documents(source)
    order = list(range(len(docs)))
    random.Random(config.seed).shuffle(order)
    n_held = max(1, int(len(docs) * config.held_out_fraction))
    held, train = order[:n_held], [docs[i] for i in order[n_held:]]
    held_titles = [titles[i] for i in held[: config.eval_texts]]
    rewrites = good_rewrites(source)[: config.eval_texts]
    model, tok = load_for_training(config.base_model, config.trainable_layers)
    model.eval()
    before = {"title_ppl_before": float(np.median(perplexity(model, tok, held_titles)))}
    if rewrites:
        before["rewrite_ppl_before"] = float(np.median(perplexity(model, tok, rewrites)))
    model.train()
    opt = adamw(trainable_parameters(model), lr=config.lr, weight_decay=0.0)
    logger = TrainLogger(config.run_id, out_dir, store, live=config.live, title="PDA continued pre-training")
    rng, start = random.Random(config.seed), time.time()
    for step in range(1, config.steps + 1):
        batch = lm_batch(tok, rng.sample(train, config.batch_size), config.max_len)
        loss = masked_mean_nll(token_logprobs(model, batch), batch.scored_mask)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trainable_parameters(model), 1.0)
        opt.step(), opt.zero_grad(set_to_none=True)
        logger.log(step, {"loss": loss.item(), "ppl": float(np.exp(loss.item()))})
    logger.close()
    model.eval()
    summary = {**before, "title_ppl_after": float(np.median(perplexity(model, tok, held_titles)))}
    if rewrites:
        rewrite_ppl = float(np.median(perplexity(model, tok, rewrites)))
        summary.update(rewrite_ppl_after=rewrite_ppl, ref_ppl=rewrite_ppl)
    summary |= {"ppl_statistic": "median over texts", "train_docs": len(train), "held_out_products": n_held,
               "train_s": round(time.time() - start, 1), "steps": config.steps}
    save_model(model, tok, out_dir)
    write_summary(out_dir, {"config": asdict(config), **summary})
    return out_dir
