"""bf16 autocast on GPU and the throughput numbers every trainer logs (tokens/s, MFU).

MFU = achieved training FLOPs (6 · parameters · tokens) / the accelerator's peak. On CPU there
is no meaningful peak, so MFU is logged only on CUDA; tokens/s always.
"""

from __future__ import annotations

import contextlib

import torch

PEAK_FLOPS = {"H100": 989e12, "H200": 989e12, "A100": 312e12}
"""Dense bf16 peak per device family (FLOP/s)."""


def autocast(device: torch.device | str):
    """bf16 autocast on CUDA, a no-op elsewhere (CPU training stays fp32)."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def peak_flops(device: torch.device | str) -> float | None:
    device = torch.device(device)
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    return next((peak for family, peak in PEAK_FLOPS.items() if family in name), None)


def throughput(model: torch.nn.Module, tokens: int, seconds: float) -> dict[str, float]:
    """``tokens_per_s`` and, on a known GPU, ``mfu`` for one training step."""
    seconds = max(seconds, 1e-9)
    metrics = {"tokens_per_s": tokens / seconds}
    device = next(model.parameters()).device
    peak = peak_flops(device)
    if peak:
        params = sum(p.numel() for p in model.parameters())
        metrics["mfu"] = 6 * params * tokens / seconds / peak
    return metrics
