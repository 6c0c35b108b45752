"""GPU throughput of tailsynth's heavy steps, each against its baseline measured in the same run.

Models are randomly initialised from configs (no model hub on the GPU machine): throughput does
not depend on the weights' values. Sections:

  (a) rewrite generation, k samples per query: HF ``generate`` batched over queries vs one query
      at a time (and one sample at a time);
  (b) yes/no scoring of 200 candidates per query: one forward with the shared prefix's KV cache
      (``LocalScorer.next_token_logits``' technique) vs generate-and-parse (2 new tokens per
      candidate, batched) vs a plain padded forward of the full prompts;
  (c) encoder embedding throughput, bf16 autocast vs fp32 (and TF32);
  (d) exact top-200 over 1M×384: faiss-cpu flat vs torch brute force on the GPU;
  (e) training step throughput and MFU: bi-encoder InfoNCE (BERT-110M) and a policy-gradient
      step on the 0.5B causal LM, bf16 autocast, AdamW.

Imports only torch, numpy and transformers (faiss optional), so it runs where tailsynth's other
dependencies (dspy, litellm, duckdb) are missing:

    PYTHONPATH=. python benchmarks/gpu_bench.py --out benchmarks/results/gpu_h100.md
    PYTHONPATH=. python benchmarks/gpu_bench.py --tiny --out /tmp/gpu_tiny.md   # CPU smoke test
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import inspect
import os
import platform
import sys
import time
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
import transformers
from transformers import BertConfig, BertModel, Qwen2Config, Qwen2ForCausalLM

H100_BF16_DENSE_TFLOPS = 989.0


# --------------------------------------------------------------------------- configuration


@dataclass
class Sizes:
    decoders: dict[str, dict] = field(default_factory=dict)
    encoder: dict = field(default_factory=dict)
    gen_queries: int = 32
    gen_k: int = 5
    gen_prompt: int = 64
    gen_new: int = 64
    gen_unbatched_queries: int = 4
    score_queries: int = 4
    score_candidates: int = 200
    score_prefix: int = 192
    score_suffix: tuple[int, int] = (24, 48)
    enc_batch: int = 512
    enc_seq: int = 32
    enc_batches: int = 10
    ann_n: int = 1_000_000
    ann_dim: int = 384
    ann_queries: int = 1_000
    ann_k: int = 200
    train_enc_batch: int = 256
    train_enc_seq: int = 32
    train_lm_batch: int = 16
    train_lm_seq: int = 128
    train_steps: int = 10
    warmup: int = 2


def full_sizes() -> Sizes:
    return Sizes(
        decoders={
            "qwen2-0.5B": dict(hidden_size=896, num_hidden_layers=24, num_attention_heads=14, num_key_value_heads=2,
                               intermediate_size=4864, vocab_size=151936, tie_word_embeddings=True),
            "qwen2-1.5B": dict(hidden_size=1536, num_hidden_layers=28, num_attention_heads=12, num_key_value_heads=2,
                               intermediate_size=8960, vocab_size=151936, tie_word_embeddings=True),
        },
        encoder=dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072, vocab_size=30522),
    )


def tiny_sizes() -> Sizes:
    return Sizes(
        decoders={
            "tiny-dec-a": dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                               intermediate_size=128, vocab_size=1000, tie_word_embeddings=True),
            "tiny-dec-b": dict(hidden_size=96, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                               intermediate_size=192, vocab_size=1000, tie_word_embeddings=True),
        },
        encoder=dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, intermediate_size=128, vocab_size=1000),
        gen_queries=4, gen_k=3, gen_prompt=16, gen_new=8, gen_unbatched_queries=2,
        score_queries=2, score_candidates=20, score_prefix=24, score_suffix=(4, 8),
        enc_batch=16, enc_seq=16, enc_batches=2,
        ann_n=20_000, ann_queries=50,
        train_enc_batch=8, train_enc_seq=16, train_lm_batch=2, train_lm_seq=16, train_steps=2, warmup=1,
    )


# --------------------------------------------------------------------------- helpers


class Bench:
    def __init__(self, device: torch.device):
        self.device = device
        self.lines: list[str] = []

    def sync(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize()

    def time(self, fn, repeat: int = 1, warmup: int = 1) -> float:
        """Seconds per call (mean over ``repeat`` after ``warmup`` untimed calls)."""
        for _ in range(warmup):
            fn()
        self.sync()
        start = time.perf_counter()
        for _ in range(repeat):
            fn()
        self.sync()
        return (time.perf_counter() - start) / repeat

    def say(self, text: str = "") -> None:
        print(text, flush=True)
        self.lines.append(text)

    def table(self, header: list[str], rows: list[list]) -> None:
        self.say("| " + " | ".join(header) + " |")
        self.say("| " + " | ".join("---" for _ in header) + " |")
        for row in rows:
            self.say("| " + " | ".join(_fmt(v) for v in row) + " |")
        self.say()


def _fmt(v) -> str:
    if isinstance(v, float):
        if v == 0 or abs(v) >= 100:
            return f"{v:,.0f}"
        if abs(v) >= 1:
            return f"{v:,.2f}"
        return f"{v:.3g}"
    return str(v)


def build_decoder(spec: dict, device: torch.device, dtype: torch.dtype) -> Qwen2ForCausalLM:
    config = Qwen2Config(**spec, max_position_embeddings=4096, pad_token_id=0, bos_token_id=1, eos_token_id=2)
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        with torch.device(device):  # initialise on the device: a 1.5B fp32 init on CPU takes a minute
            model = Qwen2ForCausalLM(config)
    finally:
        torch.set_default_dtype(previous)
    return model.eval()


def build_encoder(spec: dict, device: torch.device) -> BertModel:
    with torch.device(device):
        return BertModel(BertConfig(**spec), add_pooling_layer=False)


def matmul_params(model: torch.nn.Module) -> int:
    """Weights that take part in a matmul per token: every nn.Linear (a tied LM head counts once)."""
    return sum(m.weight.numel() for m in model.modules() if isinstance(m, torch.nn.Linear))


def cache_kwarg(model) -> str:
    """transformers >= 5.2x renamed ``past_key_values`` to ``cache``; accept either."""
    return "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"


def out_cache(out):
    return out.cache if "cache" in out.keys() else out.past_key_values


# --------------------------------------------------------------------------- (b) scoring kernels


@torch.no_grad()
def prefix_cached_logits(model, pad_id: int, ids: list[list[int]], shared: int, last_only: bool = False) -> torch.Tensor:
    """Minimal copy of ``LocalScorer.next_token_logits`` (tailsynth/serving/local_scorer.py): run the
    shared prefix once, repeat its KV cache over the batch, forward only the suffixes.

    A copy because tailsynth.serving imports dspy, which the GPU machine lacks; ``check_against_local_scorer``
    asserts equal logits wherever tailsynth imports. ``last_only``: apply the LM head to each row's
    last real token only, instead of every suffix position (a variant worth measuring)."""
    dev = model.device
    key = cache_kwarg(model)
    prefix = torch.tensor([ids[0][:shared]], device=dev)
    cache = copy.deepcopy(out_cache(model(input_ids=prefix, use_cache=True)))
    cache.batch_repeat_interleave(len(ids))
    suffixes = [s[shared:] for s in ids]
    width = max(len(s) for s in suffixes)
    input_ids = torch.tensor([s + [pad_id] * (width - len(s)) for s in suffixes], device=dev)
    mask = torch.tensor([[1] * (shared + len(s)) + [0] * (width - len(s)) for s in suffixes], device=dev)
    positions = torch.arange(shared, shared + width, device=dev).expand(len(ids), -1)
    last = torch.tensor([len(s) - 1 for s in suffixes], device=dev)
    rows = torch.arange(len(ids), device=dev)
    kwargs = dict(input_ids=input_ids, attention_mask=mask, position_ids=positions, use_cache=True, **{key: cache})
    if last_only:
        hidden = model.model(**kwargs).last_hidden_state
        return model.lm_head(hidden[rows, last])
    return model(**kwargs).logits[rows, last]


@torch.no_grad()
def full_forward_logits(model, pad_id: int, ids: list[list[int]]) -> torch.Tensor:
    """No prefix sharing: left-padded full prompts, one forward, LM head on the last position only."""
    dev = model.device
    width = max(len(s) for s in ids)
    input_ids = torch.tensor([[pad_id] * (width - len(s)) + s for s in ids], device=dev)
    mask = torch.tensor([[0] * (width - len(s)) + [1] * len(s) for s in ids], device=dev)
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    return model(input_ids=input_ids, attention_mask=mask, position_ids=positions, logits_to_keep=1).logits[:, -1]


@torch.no_grad()
def generate_and_parse(model, pad_id: int, ids: list[list[int]], yes_id: int) -> np.ndarray:
    """The baseline: generate 2 tokens per candidate (greedy, batched, left-padded) and parse 'yes'."""
    dev = model.device
    width = max(len(s) for s in ids)
    input_ids = torch.tensor([[pad_id] * (width - len(s)) + s for s in ids], device=dev)
    mask = torch.tensor([[0] * (width - len(s)) + [1] * len(s) for s in ids], device=dev)
    out = model.generate(input_ids=input_ids, attention_mask=mask, max_new_tokens=2, min_new_tokens=2,
                         do_sample=False, pad_token_id=pad_id)
    return (out[:, width:] == yes_id).any(-1).cpu().numpy()


def check_against_local_scorer(model, pad_id: int, ids: list[list[int]], shared: int) -> str:
    """Where tailsynth imports (not on the GPU machine), the copy must give LocalScorer's logits."""
    try:
        from tailsynth.serving.local_scorer import LocalScorer
    except Exception as exc:  # noqa: BLE001 - dspy etc. missing on the GPU machine
        return f"not checked here (tailsynth.serving.local_scorer does not import: {type(exc).__name__}: {exc})"

    class InMemoryScorer(LocalScorer):
        @property
        def hf(self):
            return model, type("Tok", (), {"pad_token_id": pad_id})()

    want = InMemoryScorer().next_token_logits(ids).float()
    got = prefix_cached_logits(model, pad_id, ids, shared).float()
    got_last = prefix_cached_logits(model, pad_id, ids, shared, last_only=True).float()
    plain = full_forward_logits(model, pad_id, ids).float()
    err = max((got - want).abs().max().item(), (got_last - want).abs().max().item())
    err_plain = (plain - want).abs().max().item()
    if err > 1e-4 or err_plain > 1e-3:
        raise AssertionError(f"benchmark copy disagrees with LocalScorer: {err} (prefix) {err_plain} (plain)")
    return f"equal to LocalScorer.next_token_logits (max |Δ| {err:.1e}; plain forward {err_plain:.1e})"


# --------------------------------------------------------------------------- sections


def bench_generation(b: Bench, name: str, model, s: Sizes, gen: torch.Generator) -> None:
    vocab = model.config.vocab_size
    prompts = [torch.randint(3, vocab, (s.gen_prompt - int(torch.randint(0, 8, (1,), generator=gen)),), generator=gen).tolist()
               for _ in range(s.gen_queries)]
    common = dict(max_new_tokens=s.gen_new, min_new_tokens=s.gen_new, do_sample=True, temperature=1.0, top_k=0,
                  pad_token_id=0)

    def run(batch: list[list[int]], n: int):
        width = max(len(p) for p in batch)
        ids = torch.tensor([[0] * (width - len(p)) + p for p in batch], device=model.device)
        mask = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in batch], device=model.device)
        with torch.no_grad():
            return model.generate(input_ids=ids, attention_mask=mask, num_return_sequences=n, **common)

    t_batched = b.time(lambda: run(prompts, s.gen_k), warmup=1)
    few = prompts[: s.gen_unbatched_queries]
    run([few[0]], 1)  # untimed warm-up at the small batch shapes
    t_per_query = b.time(lambda: [run([p], s.gen_k) for p in few], warmup=0) / len(few)
    t_per_sample = b.time(lambda: [run([p], 1) for p in few[:2] for _ in range(s.gen_k)], warmup=0) / len(few[:2])
    tok_batched = s.gen_queries * s.gen_k * s.gen_new / t_batched
    tok_query = s.gen_k * s.gen_new / t_per_query
    tok_sample = s.gen_k * s.gen_new / t_per_sample
    b.say(f"**{name}**, prompt ≈{s.gen_prompt} tokens, {s.gen_new} new tokens per sample, k = {s.gen_k}, sampling")
    b.say()
    b.table(
        ["mode", "sequences per generate call", "s per query", "generated tokens/s", "× vs one query at a time"],
        [
            [f"batched: {s.gen_queries} queries × num_return_sequences={s.gen_k}", s.gen_queries * s.gen_k,
             t_batched / s.gen_queries, tok_batched, tok_batched / tok_query],
            [f"one query at a time, num_return_sequences={s.gen_k}", s.gen_k, t_per_query, tok_query, 1.0],
            ["one sample at a time", 1, t_per_sample, tok_sample, tok_sample / tok_query],
        ],
    )


def bench_scoring(b: Bench, name: str, model, s: Sizes, gen: torch.Generator) -> None:
    vocab = model.config.vocab_size
    queries = []
    for _ in range(s.score_queries):
        prefix = torch.randint(3, vocab, (s.score_prefix,), generator=gen).tolist()
        lo, hi = s.score_suffix
        queries.append([prefix + torch.randint(3, vocab, (int(torch.randint(lo, hi + 1, (1,), generator=gen)),),
                                               generator=gen).tolist() for _ in range(s.score_candidates)])
    shared = s.score_prefix
    yes_id = 5
    note = check_against_local_scorer(model, 0, queries[0][:8], shared) if name == b.first_decoder else None
    n_pairs = s.score_queries * s.score_candidates
    rows = []
    t_prefix = b.time(lambda: [prefix_cached_logits(model, 0, q, shared) for q in queries])
    t_last = b.time(lambda: [prefix_cached_logits(model, 0, q, shared, last_only=True) for q in queries])
    t_plain = b.time(lambda: [full_forward_logits(model, 0, q) for q in queries])
    t_gen = b.time(lambda: [generate_and_parse(model, 0, q, yes_id) for q in queries])
    for label, t in (
        ("generate 2 tokens and parse (batched, left-padded)", t_gen),
        ("one forward of the full prompts (no prefix sharing, last-position head)", t_plain),
        ("shared-prefix KV cache, one forward of the suffixes (LocalScorer technique)", t_prefix),
        ("shared-prefix KV cache + LM head on the last token only", t_last),
    ):
        rows.append([label, n_pairs / t, t_gen / t])
    b.say(f"**{name}**, {s.score_candidates} candidates per query, shared prefix {s.score_prefix} tokens, "
          f"candidate suffix {s.score_suffix[0]}–{s.score_suffix[1]} tokens, {s.score_queries} queries")
    b.say()
    b.table(["method", "pairs/s", "× vs generate-and-parse"], rows)
    if note:
        b.say(f"Correctness: the benchmark's copy of the prefix-cache forward is {note}.")
        b.say()


def bench_encoder(b: Bench, s: Sizes) -> None:
    model = build_encoder(s.encoder, b.device).eval()
    gen = torch.Generator().manual_seed(1)
    batches = [torch.randint(100, s.encoder["vocab_size"], (s.enc_batch, s.enc_seq), generator=gen).to(b.device)
               for _ in range(s.enc_batches)]
    mask = torch.ones(s.enc_batch, s.enc_seq, dtype=torch.long, device=b.device)

    @torch.no_grad()
    def embed_all(autocast: bool):
        ctx = torch.autocast(b.device.type, dtype=torch.bfloat16) if autocast else contextlib.nullcontext()
        with ctx:
            for ids in batches:
                h = model(input_ids=ids, attention_mask=mask).last_hidden_state
                F.normalize((h * mask[..., None]).sum(1) / mask.sum(1, keepdim=True), dim=-1)

    n = s.enc_batch * s.enc_batches
    t_fp32 = b.time(lambda: embed_all(False))
    tf32 = b.device.type == "cuda"
    if tf32:
        torch.backends.cuda.matmul.allow_tf32 = True
        t_tf32 = b.time(lambda: embed_all(False))
        torch.backends.cuda.matmul.allow_tf32 = False
    t_bf16 = b.time(lambda: embed_all(True))
    rows = [["fp32 (no TF32)", n / t_fp32, 1.0]]
    if tf32:
        rows.append(["fp32 with TF32 matmuls", n / t_tf32, t_fp32 / t_tf32])
    rows.append(["bf16 autocast", n / t_bf16, t_fp32 / t_bf16])
    b.say(f"BERT encoder ({sum(p.numel() for p in model.parameters()) / 1e6:.0f}M params), "
          f"batch {s.enc_batch}, {s.enc_seq} tokens, mean pooling")
    b.say()
    b.table(["precision", "sentences/s", "× vs fp32"], rows)
    del model


def bench_ann(b: Bench, s: Sizes) -> None:
    rng = np.random.default_rng(0)
    data = rng.standard_normal((s.ann_n, s.ann_dim), dtype=np.float32)
    data /= np.linalg.norm(data, axis=1, keepdims=True)
    queries = data[rng.integers(0, s.ann_n, s.ann_queries)] + rng.standard_normal((s.ann_queries, s.ann_dim), dtype=np.float32) / np.sqrt(s.ann_dim)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    rows = []
    exact = None
    try:
        import faiss

        index = faiss.IndexFlatIP(s.ann_dim)
        index.add(data)
        index.search(queries[:10], s.ann_k)
        start = time.perf_counter()
        _, exact = index.search(queries, s.ann_k)
        t_faiss = time.perf_counter() - start
        rows.append([f"faiss-cpu {faiss.__version__} IndexFlatIP, {faiss.omp_get_max_threads()} threads", s.ann_queries / t_faiss, 1.0, "exact"])
        faiss_gpu = hasattr(faiss, "StandardGpuResources") and faiss.get_num_gpus() > 0
    except ImportError:
        t_faiss, faiss_gpu = None, False
        rows.append(["faiss-cpu: not importable here", "-", "-", "-"])

    def torch_topk(device: torch.device, dtype: torch.dtype, chunk: int):
        d = torch.from_numpy(data).to(device, dtype)
        q = torch.from_numpy(queries).to(device, dtype)

        def search():
            out = []
            for start in range(0, len(q), chunk):
                out.append((q[start : start + chunk] @ d.T).topk(s.ann_k, dim=1).indices)
            return torch.cat(out)

        return search

    def recall(found: torch.Tensor) -> str:
        if exact is None:
            return "-"
        f = found.cpu().numpy()
        return f"{np.mean([len(set(a) & set(e)) / s.ann_k for a, e in zip(f, exact)]):.4f}"

    cpu_search = torch_topk(torch.device("cpu"), torch.float32, 256)
    t_cpu = b.time(cpu_search, warmup=0)
    base = t_faiss or t_cpu
    rows.append([f"torch CPU matmul + topk fp32, {torch.get_num_threads()} threads", s.ann_queries / t_cpu, base / t_cpu, recall(cpu_search())])
    if b.device.type == "cuda":
        for dtype in (torch.float32, torch.float16):
            search = torch_topk(b.device, dtype, 1000)
            t = b.time(search, repeat=3)
            rows.append([f"torch GPU matmul + topk {str(dtype).split('.')[-1]} (index resident on GPU)", s.ann_queries / t, base / t, recall(search())])
            del search
            torch.cuda.empty_cache()
    b.say(f"{s.ann_n:,}×{s.ann_dim} unit vectors, {s.ann_queries} queries in one call, exact top-{s.ann_k} by inner product. "
          f"faiss-gpu {'present' if faiss_gpu else 'not available on this machine: the GPU side is torch brute force'}.")
    b.say()
    b.table(["search", "queries/s", "× vs faiss-cpu flat" if t_faiss else "× vs torch CPU", "recall@200 vs faiss flat"], rows)


def bench_training(b: Bench, s: Sizes, peak_tflops: float) -> None:
    rows = []
    dev = b.device
    auto = lambda: torch.autocast(dev.type, dtype=torch.bfloat16)  # noqa: E731
    fused = dict(fused=True) if dev.type == "cuda" else {}
    gen = torch.Generator().manual_seed(2)

    # bi-encoder InfoNCE, in-batch negatives (as tailsynth.retrieval's trainer / MNRL)
    enc = build_encoder(s.encoder, dev).train()
    opt = torch.optim.AdamW(enc.parameters(), lr=2e-5, **fused)
    vocab = s.encoder["vocab_size"]
    q = torch.randint(100, vocab, (s.train_enc_batch, s.train_enc_seq), generator=gen).to(dev)
    p = torch.randint(100, vocab, (s.train_enc_batch, s.train_enc_seq), generator=gen).to(dev)
    labels = torch.arange(s.train_enc_batch, device=dev)

    def enc_step():
        with auto():
            eq = F.normalize(enc(input_ids=q).last_hidden_state.mean(1), dim=-1)
            ep = F.normalize(enc(input_ids=p).last_hidden_state.mean(1), dim=-1)
            loss = F.cross_entropy(eq @ ep.T / 0.05, labels)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    t = b.time(enc_step, repeat=s.train_steps, warmup=s.warmup)
    tokens = 2 * s.train_enc_batch * s.train_enc_seq
    n = matmul_params(enc)
    rows.append([f"bi-encoder InfoNCE, BERT ({n / 1e6:.0f}M matmul params), batch {s.train_enc_batch} pairs × {s.train_enc_seq} tokens × 2 towers",
                 t * 1e3, tokens / t, 6 * n * tokens / t / 1e12, f"{100 * 6 * n * tokens / t / 1e12 / peak_tflops:.2f}%"])
    del enc, opt

    # causal-LM policy-gradient step (REINFORCE-style): -(advantage · log π(token)) over sampled tokens
    name, spec = next(iter(s.decoders.items()))
    lm = build_decoder(spec, dev, torch.float32).train()
    lm.config.use_cache = False
    opt = torch.optim.AdamW(lm.parameters(), lr=1e-6, **fused)
    ids = torch.randint(3, spec["vocab_size"], (s.train_lm_batch, s.train_lm_seq), generator=gen).to(dev)
    adv = torch.randn(s.train_lm_batch, 1, generator=gen).to(dev)
    resp = torch.zeros(s.train_lm_batch, s.train_lm_seq - 1, device=dev)
    resp[:, s.train_lm_seq // 2 :] = 1  # loss on the response half only

    def lm_step():
        with auto():
            logits = lm(input_ids=ids, use_cache=False).logits[:, :-1]
        logp = torch.log_softmax(logits.float(), -1).gather(-1, ids[:, 1:, None]).squeeze(-1)
        loss = -(adv * logp * resp).sum() / resp.sum()
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    t = b.time(lm_step, repeat=s.train_steps, warmup=s.warmup)
    tokens = s.train_lm_batch * s.train_lm_seq
    n = matmul_params(lm)
    rows.append([f"policy-gradient step, {name} ({n / 1e6:.0f}M matmul params incl. LM head), batch {s.train_lm_batch} × {s.train_lm_seq} tokens",
                 t * 1e3, tokens / t, 6 * n * tokens / t / 1e12, f"{100 * 6 * n * tokens / t / 1e12 / peak_tflops:.2f}%"])
    del lm, opt
    b.say(f"bf16 autocast, fp32 master weights, AdamW{' (fused)' if fused else ''}, optimizer step included. "
          f"FLOPs = 6 · matmul params · tokens (attention score FLOPs not counted); MFU against {peak_tflops:g} TFLOP/s.")
    b.say()
    b.table(["step", "ms/step", "tokens/s", "achieved TFLOP/s", "MFU"], rows)


# --------------------------------------------------------------------------- main


def guarded(b: Bench, fn, *args) -> None:
    """One failing section is reported and the others still run (device time is scarce)."""
    try:
        fn(*args)
    except Exception as exc:  # noqa: BLE001
        import traceback

        traceback.print_exc()
        b.say(f"**{fn.__name__} failed:** `{type(exc).__name__}: {str(exc)[:500]}`")
        b.say()
        if b.device.type == "cuda":
            torch.cuda.empty_cache()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="tiny configs and sizes (CPU smoke test)")
    parser.add_argument("--out", default="benchmarks/results/gpu_h100.md")
    parser.add_argument("--device", default=None, help="default: cuda when available, else cpu")
    parser.add_argument("--sections", default="abcde")
    parser.add_argument("--peak-tflops", type=float, default=H100_BF16_DENSE_TFLOPS)
    args = parser.parse_args(argv)
    s = tiny_sizes() if args.tiny else full_sizes()
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    b = Bench(device)
    b.first_decoder = next(iter(s.decoders))
    lm_dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    gpu = torch.cuda.get_device_name(device) if device.type == "cuda" else f"none (CPU: {platform.processor() or platform.machine()}, {os.cpu_count()} cores)"
    b.say(f"# tailsynth GPU benchmark{' (--tiny smoke test)' if args.tiny else ''}")
    b.say()
    b.say(f"GPU: {gpu}. torch {torch.__version__}, transformers {transformers.__version__}, Python {platform.python_version()}. "
          f"Inference models in {str(lm_dtype).split('.')[-1]}, randomly initialised (throughput does not depend on weight values). "
          f"transformers' KV-cache keyword here: `{cache_kwarg(Qwen2ForCausalLM)}`.")
    b.say()
    b.say(f"Command: `python {' '.join(sys.argv)}`")
    b.say()
    wall = time.perf_counter()
    gen = torch.Generator().manual_seed(0)
    if "a" in args.sections or "b" in args.sections:
        for name, spec in s.decoders.items():
            model = build_decoder(spec, device, lm_dtype)
            b.say(f"## {name}: {sum(p.numel() for p in model.parameters()) / 1e6:.0f}M params")
            b.say()
            if "a" in args.sections:
                b.say("### (a) rewrite generation (HF generate)")
                b.say()
                guarded(b, bench_generation, b, name, model, s, gen)
            if "b" in args.sections:
                b.say("### (b) yes/no scoring")
                b.say()
                guarded(b, bench_scoring, b, name, model, s, gen)
            del model
            if device.type == "cuda":
                torch.cuda.empty_cache()
    if "c" in args.sections:
        b.say("## (c) encoder embedding")
        b.say()
        guarded(b, bench_encoder, b, s)
    if "d" in args.sections:
        b.say("## (d) exact top-200 retrieval")
        b.say()
        guarded(b, bench_ann, b, s)
    if "e" in args.sections:
        b.say("## (e) training step throughput")
        b.say()
        guarded(b, bench_training, b, s, args.peak_tflops)
    b.say(f"Total benchmark wall time: {time.perf_counter() - wall:.0f} s.")
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as fh:
        fh.write("\n".join(b.lines) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
