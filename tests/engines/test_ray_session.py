"""The Ray engine shuts down only the Ray it started itself."""

import os

import pytest

from tailsynth.engines.config import EngineConfig
from tailsynth.engines.ray_data import ray_session


@pytest.mark.integration
def test_ray_session_leaves_the_callers_ray_running_and_stops_its_own(monkeypatch):
    ray = pytest.importorskip("ray")
    os.environ.setdefault("RAY_DISABLE_USAGE_STATS", "1")
    if ray.is_initialized():
        ray.shutdown()
    real_init = ray.init
    started = []

    def loopback_init(**kwargs):  # the real init, kept on loopback and 1 CPU as the tests' cluster is
        started.append(kwargs["address"])
        return real_init(**kwargs, num_cpus=1, _node_ip_address="127.0.0.1")

    monkeypatch.setattr(ray, "init", loopback_init)
    with ray_session(EngineConfig(kind="ray", address="local")):
        assert ray.is_initialized() and started == ["local"]
    assert not ray.is_initialized()  # its own session: shut down after the run

    real_init(num_cpus=1, include_dashboard=False, address="local", log_to_driver=False, _node_ip_address="127.0.0.1")
    try:
        with ray_session(EngineConfig(kind="ray", address="local")):
            assert ray.is_initialized()
        assert ray.is_initialized() and started == ["local"]  # the caller's session: joined, left running
    finally:
        ray.shutdown()
