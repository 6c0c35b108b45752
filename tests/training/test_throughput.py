import torch

from tailsynth.training.throughput import autocast, peak_flops, throughput


def test_cpu_logs_tokens_per_s_and_no_mfu():
    model = torch.nn.Linear(4, 4)
    assert throughput(model, tokens=1000, seconds=2.0) == {"tokens_per_s": 500.0}
    assert peak_flops("cpu") is None
    with autocast("cpu"):
        assert model(torch.ones(1, 4)).dtype == torch.float32
