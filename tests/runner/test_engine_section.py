"""``[engine]`` in a run config: the engine's own dataclass, validated, no part of any key (the
runner on Ray: ``tests/engines/test_runner_on_ray.py``)."""

import tomllib
from pathlib import Path

import pytest

from tailsynth.engines import EngineConfig
from tailsynth.runner import pipeline, run_config_from_dict

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "demo_run.toml"


def _config(engine=None):
    data = tomllib.loads(EXAMPLE.read_text())
    if engine is not None:
        data["engine"] = engine
    return run_config_from_dict(data, EXAMPLE.parent)


def test_engine_section_is_the_engine_config_and_is_validated():
    assert _config().engine == EngineConfig()
    ray = _config({"kind": "ray", "address": "auto", "num_workers": 4, "index_shards": 2})
    assert ray.engine == EngineConfig(kind="ray", address="auto", num_workers=4, index_shards=2)
    for bad, message in (({"kind": "spark"}, "engine kind must be 'local' or 'ray', got 'spark'"),
                         ({"workers": 2}, "unknown keys \\['workers'\\]"),
                         ({"num_workers": 0}, "num_workers must be >= 1"),
                         ({"index_shards": 0}, "index_shards must be >= 1")):
        with pytest.raises(ValueError, match=r"\[engine\]: " + message):
            _config(bad)


def test_the_engine_is_no_part_of_any_key():
    keys = pipeline.stage_keys(_config())
    for engine in ({"kind": "local"}, {"kind": "ray", "num_workers": 2, "index_shards": 3}):
        other = pipeline.stage_keys(_config(engine))
        assert (other.business, other.synthesis, other.retrievers, other.evaluate) == (
            keys.business, keys.synthesis, keys.retrievers, keys.evaluate)
