"""The real packaged MiniLM encoder (integration: loads the model, a few seconds)."""

import numpy as np
import pytest

from tailsynth.retrieval.encoder import Encoder


@pytest.fixture(scope="module")
def encoder():
    return Encoder(device="cpu")


@pytest.mark.integration
def test_minilm_semantics_and_shape(encoder):
    vectors = encoder.encode(["cordless drill", "battery powered drill", "bath towel", ""])
    assert vectors.shape == (4, 384) and vectors.dtype == np.float32 and encoder.dim == 384
    np.testing.assert_allclose(np.linalg.norm(vectors[:3], axis=1), 1.0, atol=1e-5)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]
    assert encoder.encode([]).shape == (0, 384)
    assert isinstance(encoder.model_id, str) and encoder.model_id


@pytest.mark.integration
def test_rejects_non_strings(encoder):
    with pytest.raises(ValueError):
        encoder.encode(["ok", 3])
