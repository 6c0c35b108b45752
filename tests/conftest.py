"""Shared fixtures. Real-model fixtures are session-scoped: a model loads once per test run."""

from __future__ import annotations

import os

import pytest

import tailsynth  # noqa: F401 - offline defaults

os.environ.setdefault("TAILSYNTH_CACHE", os.path.join(os.path.dirname(__file__), "..", ".cache", "tailsynth"))


@pytest.fixture(scope="session")
def small_world():
    from tailsynth.world import load_world

    return load_world(seed=0, n_products=3000)
