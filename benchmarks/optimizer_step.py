"""AdamW step time, fused kernel vs torch's default (foreach), on the models the trainers train.

Answers "what does ``tailsynth.optim.adamw`` buy": for the packaged MiniLM cross-encoder (the
general filter and business model, every parameter trained) and the packaged SmolLM2-135M with
its top layers trainable (SFT, QSR, RL), one training step (forward, backward, optimizer) and the
optimizer step alone, each timed with both optimizers in the same process on the same batch,
and the ratio. Writes JSON and markdown next to each other.

    python benchmarks/optimizer_step.py --steps 20 --batch-size 16
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch


@dataclass
class BenchConfig:
    steps: int = 20
    warmup: int = 3
    batch_size: int = 16
    lm_trainable_layers: int = 8
    out: str = "results/optimizer_step"


def cross_encoder_step(batch_size: int):
    from sentence_transformers.cross_encoder import CrossEncoder
    from sentence_transformers.cross_encoder.losses import BinaryCrossEntropyLoss

    from tailsynth.paths import minilm_dir

    model = CrossEncoder(str(minilm_dir()), num_labels=1, max_length=96)
    model.model.train()
    loss_fn = BinaryCrossEntropyLoss(model)
    pairs = [["nylon drywall anchors 1.5 inch"] * batch_size,
             ["Rextri 1-1/2 in. metal drywall anchors - 50 ct. zinc, 1-1/2 in., drywall"] * batch_size]
    labels = torch.ones(batch_size)
    return list(model.model.parameters()), lambda: loss_fn(pairs, labels)


def lm_step(batch_size: int, layers: int):
    from tailsynth.training.models import load_for_training, trainable_parameters

    model, tok = load_for_training(None, layers)
    model.train()
    ids = tok(["rewrite: weed killer that is not plant-based -> 1. synthetic weed killer"] * batch_size,
              return_tensors="pt")["input_ids"]
    return list(trainable_parameters(model)), lambda: model(input_ids=ids, labels=ids).loss


def time_steps(params, loss_of, fused: bool, config: BenchConfig) -> dict:
    opt = torch.optim.AdamW(params, lr=1e-5, fused=fused)
    total = opt_only = 0.0
    for i in range(config.warmup + config.steps):
        start = time.perf_counter()
        loss_of().backward()
        mid = time.perf_counter()
        opt.step()
        opt.zero_grad(set_to_none=True)
        end = time.perf_counter()
        if i >= config.warmup:
            total, opt_only = total + end - start, opt_only + end - mid
    return {"step_s": total / config.steps, "optimizer_s": opt_only / config.steps}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name, value in vars(BenchConfig()).items():
        parser.add_argument(f"--{name.replace('_', '-')}", type=type(value), default=value)
    config = BenchConfig(**vars(parser.parse_args()))
    rows = []
    for name, build in (("MiniLM cross-encoder (all 22.7M trained)", lambda: cross_encoder_step(config.batch_size)),
                        (f"SmolLM2-135M, top {config.lm_trainable_layers} layers", lambda: lm_step(config.batch_size, config.lm_trainable_layers))):
        params, loss_of = build()
        n = sum(p.numel() for p in params)
        foreach, fused = time_steps(params, loss_of, False, config), time_steps(params, loss_of, True, config)
        rows.append({"model": name, "trained_params": n, "foreach": foreach, "fused": fused,
                     "step_speedup": foreach["step_s"] / fused["step_s"],
                     "optimizer_speedup": foreach["optimizer_s"] / fused["optimizer_s"]})
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    meta = {"config": asdict(config), "threads": torch.get_num_threads(), "torch": torch.__version__}
    (out / "report.json").write_text(json.dumps({**meta, "rows": rows}, indent=2) + "\n")
    lines = ["# AdamW step: fused vs foreach", "", f"`python benchmarks/optimizer_step.py --steps {config.steps} --batch-size {config.batch_size}`, "
             f"batch {config.batch_size}, {meta['threads']} threads, torch {meta['torch']}, means over {config.steps} steps "
             f"after {config.warmup} untimed.", "",
             "| model | trained params | step s (foreach) | step s (fused) | step speedup | optimizer s (foreach) | optimizer s (fused) | optimizer speedup |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    lines += [f"| {r['model']} | {r['trained_params'] / 1e6:.1f}M | {r['foreach']['step_s']:.3f} | {r['fused']['step_s']:.3f} | "
              f"{r['step_speedup']:.2f}x | {r['foreach']['optimizer_s']:.3f} | {r['fused']['optimizer_s']:.3f} | "
              f"{r['optimizer_speedup']:.2f}x |" for r in rows]
    (out / "report.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
