"""A trainer's pinned thread count stays inside it: torch's count is process-wide, so a 1 left
behind by an LM trainer would run every later stage of a run on one core."""

import torch

from tailsynth.training.models import keeps_threads, set_threads


def test_a_trainer_leaves_torch_threads_as_it_found_them():
    seen = []

    @keeps_threads
    def trainer(num_threads, fail=False):
        set_threads(num_threads)
        seen.append(torch.get_num_threads())
        if fail:
            raise RuntimeError("stopped")
        return "model"

    before = torch.get_num_threads()
    other = 1 if before != 1 else 2
    assert trainer(other) == "model" and seen == [other]
    assert torch.get_num_threads() == before
    try:
        trainer(other, fail=True)
    except RuntimeError:
        pass
    assert torch.get_num_threads() == before  # also when the trainer fails
