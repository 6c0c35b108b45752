import os

import pytest


@pytest.fixture(scope="module")
def ray_cluster():
    """A local Ray cluster on loopback with 2 CPUs, started and stopped by the tests."""
    ray = pytest.importorskip("ray")
    os.environ.setdefault("RAY_DISABLE_USAGE_STATS", "1")
    ray.init(num_cpus=2, include_dashboard=False, address="local", log_to_driver=False,
             _node_ip_address="127.0.0.1")
    yield ray
    ray.shutdown()
