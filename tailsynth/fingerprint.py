"""Fingerprints of what a synthesis run reads: its config, its input data, its models' files.

The run id is ``syn-<hash of all three>``, so a different catalog, new texts under the same
query ids, or a model retrained in place at the same path start a new run instead of resuming
(and silently mixing with) the old one.

Model contents are fingerprinted cheaply and documented as such: for every file under a local
model directory, its relative name, size and modification time (``mtime_ns``), plus the full
bytes of small files (<= 1 MiB: ``config.json``, tokenizer files, ``rewriter.json``, ...).
Reading multi-GB weights on every run would cost more than the stages it guards; a retrain
rewrites the weights (new mtime) and usually its metadata. Copying a model dir without keeping
mtimes (``cp`` without ``-p``) therefore gives a new run id: a redo, never a mix.
A name that is not a local path (a served model, the packaged default) is fingerprinted by name.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

SMALL_FILE_BYTES = 1 << 20


def _digest(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def data_fingerprint(queries: Iterable, catalog) -> str:
    """Query ids, texts and types in order, and the catalog's ids and texts."""
    h = hashlib.sha256()
    for q in queries:
        h.update(json.dumps([q.query_id, q.text, q.qtype]).encode() + b"\n")
    h.update(b"--catalog--\n")
    for pid, text in zip(catalog.ids, catalog.texts):
        h.update(json.dumps([pid, text]).encode() + b"\n")
    return h.hexdigest()


def path_fingerprint(name: str | os.PathLike | None) -> str:
    """A local model file or directory by its files (see the module docstring); anything else by name."""
    if name is None:
        return "default"
    path = Path(name).expanduser()
    if not path.exists():
        return f"name:{name}"
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    h = hashlib.sha256()
    for f in files:
        st = f.stat()
        h.update(json.dumps([str(f.relative_to(path)) if f != path else f.name, st.st_size, st.st_mtime_ns]).encode())
        if st.st_size <= SMALL_FILE_BYTES:
            h.update(f.read_bytes())
    return h.hexdigest()


def models_fingerprint(model_ids: dict[str, str | None]) -> str:
    """Each named model's ``path_fingerprint``, by role."""
    return _digest({role: path_fingerprint(name) for role, name in sorted(model_ids.items())})


def config_models(config) -> dict[str, str | None]:
    """The local model paths a ``SynthesisConfig`` names, by role."""
    return {"rewriter": config.rewriter.model, "rewrite_filter": config.rewrite_filter.model,
            "relevance": config.relevance.model, "encoder": config.encoder, "business": config.business_model}


def synthesis_run_id(config, queries: list, catalog, model_ids: dict[str, str | None] | None = None) -> str:
    """``syn-`` + 12 hex of (config, data, model contents): the default run id of ``SynthesisProgram.run``.
    ``model_ids``: what the program was built with (paths are fingerprinted by their files)."""
    models = {**{f"config.{k}": v for k, v in config_models(config).items()}, **(model_ids or {})}
    return "syn-" + _digest(config.to_dict(), data_fingerprint(queries, catalog), models_fingerprint(models))[:12]
