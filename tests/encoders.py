"""A bag-of-words hashing encoder for tests: texts sharing words are close, no model is loaded.

It satisfies ``tailsynth.retrieval.encoder.TextEncoder`` and counts the texts it encodes, so
cache tests can tell whether a second build re-encoded.
"""

import hashlib

import numpy as np


class HashEncoder:
    model_id = "hash-bow"
    dim = 64

    def __init__(self):
        self.encoded = 0

    def encode(self, texts, show_progress=False):
        self.encoded += len(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in text.lower().split():
                out[row, int(hashlib.md5(word.encode()).hexdigest(), 16) % self.dim] += 1
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms == 0, 1, norms)
