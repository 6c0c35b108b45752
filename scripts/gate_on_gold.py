"""How many of the demo world's gold rewrite lists (the SFT targets) pass the RL format gate.

The gate is inference's own cleaning (``training.rewards.gated_rewrites``); a gold list that fails
it teaches SFT a list that RL then scores 0 and inference shortens (near-duplicates such as
"drill driver" / "drill/driver"). Writes results/gate/gold_targets.json:

    python scripts/gate_on_gold.py
"""

from __future__ import annotations

import json
from pathlib import Path

from tailsynth.programs.rewriter import clean_rewrites
from tailsynth.training.rewards import gated_rewrites, parse_rewrites
from tailsynth.training.sft import rewrite_answer
from tailsynth.world import load_world

K = 5


def main(out: Path = Path("results/gate/gold_targets.json")) -> dict:
    rows = load_world().rewrite_examples.to_pylist()
    failed = []
    for r in rows:
        items = parse_rewrites(rewrite_answer(r["rewrites"], K))
        if gated_rewrites(items, K, r["query"]) is None:
            failed.append({"query": r["query"], "target": items, "inference_keeps": clean_rewrites(items, K, r["query"])})
    report = {"k": K, "gold_lists": len(rows), "pass_gate": len(rows) - len(failed), "fail_gate": len(failed),
              "fail_fewer_than_k_items": sum(len(f["target"]) < K for f in failed), "examples": failed[:10]}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1) + "\n")
    return report


if __name__ == "__main__":
    r = main()
    print({k: v for k, v in r.items() if k != "examples"})
