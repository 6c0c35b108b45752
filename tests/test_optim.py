"""The shared AdamW: fused where torch has the kernel, the same update as the default one."""

import pytest
import torch

from tailsynth.optim import adamw, can_fuse


def test_fused_on_cpu_float_params_and_groups():
    w, b = torch.nn.Parameter(torch.randn(4, 3)), torch.nn.Parameter(torch.zeros(3))
    assert can_fuse([w, b]) and can_fuse([{"params": [w], "lr": 1e-3}, {"params": [b]}])
    opt = adamw([{"params": [w], "lr": 1e-3}, {"params": [b], "lr": 1e-2}], weight_decay=0.01)
    assert all(g["fused"] for g in opt.param_groups) and [g["lr"] for g in opt.param_groups] == [1e-3, 1e-2]


def test_not_fused_without_float_params():
    assert not can_fuse([]) and not can_fuse([torch.zeros(2, dtype=torch.int64)])
    with pytest.raises(ValueError):  # AdamW's own refusal of an empty list, not ours
        adamw([])


def test_fused_update_matches_default():
    torch.manual_seed(0)
    start, grads = torch.randn(64, 16), [torch.randn(64, 16) for _ in range(5)]
    out = []
    for fused in (True, False):
        p = torch.nn.Parameter(start.clone())
        opt = adamw([p], lr=1e-2, weight_decay=0.01) if fused else torch.optim.AdamW([p], lr=1e-2, weight_decay=0.01)
        for g in grads:
            p.grad = g.clone()
            opt.step()
        out.append(p.detach())
    assert not torch.equal(out[0], start)
    torch.testing.assert_close(out[0], out[1], rtol=1e-5, atol=1e-6)
