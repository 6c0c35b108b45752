"""A few cases of each drill of benchmarks/reliability.py (the full run's report is under results/reliability/)."""

import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _module():
    spec = importlib.util.spec_from_file_location("reliability", ROOT / "benchmarks" / "reliability.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_reliability_drills_lose_nothing(tmp_path):
    results = _module().run_all(tmp_path / "out", kills=2, malformed=60, faults=["500", "no_label"], readers=4,
                                command="smoke")
    assert set(results["categories"]) == {"kills", "inputs", "faults", "readers"}
    for name, counts in results["categories"].items():
        assert counts["tried"] > 0 and counts["lost"] == 0, (name, results[name])
    assert (tmp_path / "out" / "reliability.png").exists()
    assert json.loads((tmp_path / "out" / "report.json").read_text())["command"] == "smoke"
