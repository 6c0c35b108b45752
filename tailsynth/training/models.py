"""Load a causal LM for training (top layers trainable), save it as a Hugging Face directory.

On CPU a 135M model's full backward is ~10 s per batch of 16; freezing the lower decoder layers
(and the tied embedding / LM head) means autograd only records the top of the stack, which is
what makes SFT, the classifiers and RL run in minutes. ``trainable_layers=None`` trains all.
"""

from __future__ import annotations

import functools
import json
import random
import shutil
import time
from pathlib import Path

import numpy as np
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase
from transformers import logging as transformers_logging

from tailsynth.paths import cache_dir
from tailsynth.serving.hf_model import resolve_lm_dir

SUMMARY_FILE = "metrics.json"
"""One-line summary metrics of a training run, written into its output directory."""


def default_out_dir(name: str) -> Path:
    return cache_dir() / "models" / name


def keeps_threads(train):
    """A trainer that pins torch's CPU threads (``set_threads``) leaves them as it found them:
    the count is process-wide, and a 1 left behind by an LM trainer ran every later stage of a run
    (the cross-encoder filter, synthesis, the retrievers) on one of two cores (1.38 s vs 0.81 s a
    MiniLM cross-encoder step of 16 x 96 tokens)."""

    @functools.wraps(train)
    def wrapper(*args, **kwargs):
        before = torch.get_num_threads()
        try:
            return train(*args, **kwargs)
        finally:
            torch.set_num_threads(before)

    return wrapper


def set_threads(num_threads: int | None) -> None:
    """Pin torch's CPU threads. On a CPU shared with other jobs, 1 thread is several times faster
    than oversubscribed OpenMP threads spinning against each other (measured 5 s vs 16-27 s for a
    forward+backward of 8x40 tokens on 2 busy cores); None leaves torch's default."""
    if num_threads:
        torch.set_num_threads(num_threads)


def set_seed(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def load_for_training(
    name_or_path: str | Path | None, trainable_layers: int | None = None, device: str | None = None
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """A fresh (uncached, mutable) fp32 copy of the model, lower layers frozen, in train mode."""
    transformers_logging.set_verbosity_error()
    path = resolve_lm_dir(None if name_or_path is None else str(name_or_path))
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    tok = AutoTokenizer.from_pretrained(path)
    if tok.pad_token_id is None:
        tok.pad_token = tok.eos_token
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32).to(device)
    _drop_gguf_marker(model)
    freeze_lower_layers(model, trainable_layers)
    model.train()
    return model, tok


def _drop_gguf_marker(model: PreTrainedModel) -> None:
    """The converted SmolLM2 keeps the GGUF ``quantization_config`` although its weights are plain
    fp32; transformers then refuses ``save_pretrained``. Our copy is plain, so drop the marker."""
    if getattr(model.config, "quantization_config", None) is not None:
        del model.config.quantization_config
    model.hf_quantizer = None
    model.is_quantized = False


def freeze_lower_layers(model: PreTrainedModel, trainable_layers: int | None) -> None:
    """Train the top ``trainable_layers`` decoder layers and the final norm; None trains everything."""
    if trainable_layers is None:
        for p in model.parameters():
            p.requires_grad_(True)
        return
    for p in model.parameters():
        p.requires_grad_(False)
    layers = model.model.layers
    for layer in layers[max(0, len(layers) - trainable_layers):]:
        for p in layer.parameters():
            p.requires_grad_(True)
    for p in model.model.norm.parameters():
        p.requires_grad_(True)


def trainable_parameters(model: torch.nn.Module) -> list[torch.nn.Parameter]:
    return [p for p in model.parameters() if p.requires_grad]


def save_model(model: PreTrainedModel, tok: PreTrainedTokenizerBase, out_dir: Path) -> Path:
    """safetensors + tokenizer, written to a temporary folder that replaces ``out_dir`` by rename.

    A reader sees the old model or the new one, never new weights with an old config: files of
    ``out_dir`` the save does not write (logs, checkpoints, plots) move into the new folder
    first, then two renames swap the folders (between them ``out_dir`` is briefly absent)."""
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    stamp = time.time_ns()
    tmp = out_dir.with_name(out_dir.name + f".tmp{stamp}")
    model.save_pretrained(tmp, safe_serialization=True)
    tok.save_pretrained(tmp)
    if out_dir.exists():
        for item in out_dir.iterdir():  # keep logs, checkpoints and plots already in out_dir
            if not (tmp / item.name).exists():
                item.rename(tmp / item.name)
        old = out_dir.with_name(out_dir.name + f".old{stamp}")
        out_dir.rename(old)
        tmp.rename(out_dir)
        shutil.rmtree(old, ignore_errors=True)
    else:
        tmp.rename(out_dir)
    return out_dir


def write_summary(out_dir: Path, metrics: dict) -> Path:
    path = Path(out_dir) / SUMMARY_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(metrics, sort_keys=True) + "\n")
    return path


def read_summary(out_dir: Path) -> dict:
    path = Path(out_dir) / SUMMARY_FILE
    return json.loads(path.read_text()) if path.exists() else {}
