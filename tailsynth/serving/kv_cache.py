"""The KV-cache argument and output field across transformers releases.

transformers >= 5.2x calls them ``cache``; earlier releases (the GPU image has 5.17) ``past_key_values``.
"""

from __future__ import annotations

import inspect
from functools import lru_cache


@lru_cache(maxsize=16)
def _kwarg_for(forward) -> str:
    return "cache" if "cache" in inspect.signature(forward).parameters else "past_key_values"


def cache_kwarg(model) -> str:
    """Name of the forward() argument that takes a KV cache (the signature is read once per class)."""
    return _kwarg_for(type(model).forward)


def output_cache(output):
    """The KV cache a forward returned, whatever the release calls it."""
    cache = getattr(output, "cache", None)
    return cache if cache is not None else output.past_key_values
