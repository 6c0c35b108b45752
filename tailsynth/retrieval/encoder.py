"""Text encoder: turns queries, rewrites and product texts into unit vectors for inner-product search.

One class over ``sentence_transformers.SentenceTransformer`` so the packaged all-MiniLM-L6-v2 and
any local sentence-transformers / Hugging Face directory behave the same. Vectors are L2-normalised
float32, so FAISS inner product equals cosine similarity.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from tailsynth.paths import minilm_dir


@runtime_checkable
class TextEncoder(Protocol):
    """What the index layer needs from an encoder (lets tests pass a cheap fake)."""

    model_id: str
    dim: int

    def encode(self, texts: list[str], show_progress: bool = False) -> np.ndarray: ...


def encoder_id(model_path: str | Path | None = None, max_seq_length: int = 64) -> str:
    """``Encoder.model_id`` without loading the model (index caches are keyed on it).

    Path-derived: two encoders over the same files and truncation give the same vectors, so caches
    keyed on it stay valid across processes."""
    path = Path(model_path) if model_path is not None else minilm_dir()
    return f"{path.resolve()}@{max_seq_length}"


class Encoder:
    """A local sentence-transformers model; nothing is downloaded (the path must exist)."""

    def __init__(
        self,
        model_path: str | Path | None = None,
        device: str | None = None,
        batch_size: int = 128,
        max_seq_length: int = 64,
    ) -> None:
        from sentence_transformers import SentenceTransformer  # heavy import, only when used

        path = Path(model_path) if model_path is not None else minilm_dir()
        if not path.exists():
            raise FileNotFoundError(f"encoder model directory {path} does not exist")
        self.model = SentenceTransformer(str(path), device=device, local_files_only=True)
        self.model.max_seq_length = max_seq_length
        self.batch_size = batch_size
        self.model_id = encoder_id(path, max_seq_length)
        self.dim = int(self.model.get_embedding_dimension())

    def encode(self, texts: list[str], show_progress: bool = False) -> np.ndarray:
        """Embed ``texts`` into an ``[n, dim]`` float32 array of unit rows (empty strings allowed)."""
        bad = [type(t).__name__ for t in texts if not isinstance(t, str)]
        if bad:
            raise ValueError(f"Encoder.encode takes strings only, got {sorted(set(bad))}")
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self.model.encode(
            list(texts),
            batch_size=self.batch_size,
            show_progress_bar=show_progress,
            convert_to_numpy=True,
            normalize_embeddings=True,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)
