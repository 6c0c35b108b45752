"""A Ray-engine driver to be killed: ``python -m tests.engines.driver ROOT INDEX_DIR`` runs the fake
spec over ``MORE`` with one query per shard and a slow general stage, on its own local cluster."""

import sys

import ray

from tailsynth.engines import EngineConfig, run_synthesis

from .specs import FakeSpec
from .test_ray_engine import MORE

if __name__ == "__main__":
    root, index_dir = sys.argv[1], sys.argv[2]
    ray.init(num_cpus=2, include_dashboard=False, address="local", log_to_driver=False, _node_ip_address="127.0.0.1")
    spec = FakeSpec(index_dir, slow_stage="general", delay_s=4.0)
    run_synthesis(spec, MORE, root, EngineConfig(kind="ray", shard_size=1), run_id="k", progress=False)
