"""Checkpoints load without unpickling code; a saved model replaces the old one as a whole."""

import random

import pytest
import torch

from tailsynth.training.models import save_model
from tailsynth.training.reinforce import load_checkpoint, save_checkpoint


def test_rl_checkpoint_round_trips_with_weights_only(tmp_path):
    model = torch.nn.Linear(3, 2)
    opt = torch.optim.AdamW(model.parameters(), lr=0.1)
    model(torch.ones(1, 3)).sum().backward()
    opt.step()
    save_checkpoint(tmp_path / "ckpt.pt", model, opt, step=7)
    want = random.random()
    fresh = torch.nn.Linear(3, 2)
    fresh_opt = torch.optim.AdamW(fresh.parameters(), lr=0.1)
    assert load_checkpoint(tmp_path / "ckpt.pt", fresh, fresh_opt) == 7
    assert torch.equal(fresh.weight, model.weight) and random.random() == want


def test_checkpoint_with_pickled_code_is_refused(tmp_path):
    model = torch.nn.Linear(3, 2)
    opt = torch.optim.AdamW(model.parameters())
    torch.save({"step": 1, "trainable": {}, "optimizer": opt.state_dict(), "rng": random.getstate(),
                "torch_rng": torch.get_rng_state(), "payload": print}, tmp_path / "evil.pt")
    with pytest.raises(Exception, match="[Ww]eights only"):
        load_checkpoint(tmp_path / "evil.pt", model, opt)


class _Saver:
    def __init__(self, files):
        self.files = files

    def save_pretrained(self, path, **_):
        path.mkdir(parents=True, exist_ok=True)
        for name, text in self.files.items():
            (path / name).write_text(text)


def test_save_model_swaps_the_folder_and_keeps_other_files(tmp_path):
    out = tmp_path / "model"
    save_model(_Saver({"model.safetensors": "w1", "config.json": "c1"}), _Saver({"tokenizer.json": "t1"}), out)
    (out / "train_log.jsonl").write_text("log")
    save_model(_Saver({"model.safetensors": "w2", "config.json": "c2"}), _Saver({"tokenizer.json": "t2"}), out)
    assert {p.name: p.read_text() for p in out.iterdir()} == {
        "model.safetensors": "w2", "config.json": "c2", "tokenizer.json": "t2", "train_log.jsonl": "log"}
    assert [p.name for p in tmp_path.iterdir()] == ["model"]  # no temporary folders left
