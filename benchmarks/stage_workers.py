"""The chain's model stages trained one after another vs side by side (``[engine] stage_workers``).

    python benchmarks/stage_workers.py --config examples/paper_small.toml --scale 0.25

Both variants train the same stages of the config (business, SFT, QSR, PDA, RL, the two filters)
from scratch into their own temporary work dirs, in the same invocation: first in this process one
after another (what ``stage_workers = 1`` does), then in two worker processes. ``--scale`` shrinks
every stage's steps and examples (and the business model's labels) alike so the comparison fits a few minutes; the ratio is what it
measures, not any model's quality. Writes ``report.md`` and ``report.json`` under ``--out``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SCALED = {"sft": ("steps",), "qsr": ("steps",), "pda": ("steps",), "rl": ("steps",), "rl_nopda": ("steps",),
          "rewrite_filter": ("steps",), "general_filter": ("train_examples", "dev_examples")}


def scaled(config, scale: float, work: Path):
    """The config with every trained stage's budget times ``scale`` and its outputs under ``work``."""
    changes = {"output": dataclasses.replace(config.output, work_dir=str(work / "work"), store=str(work / "store.duckdb"),
                                             report_dir=str(work / "report"))}
    for section, fields in SCALED.items():
        current = getattr(config, section, None)
        if current is not None:
            changes[section] = dataclasses.replace(current, **{f: max(2, round(getattr(current, f) * scale)) for f in fields})
    return dataclasses.replace(config, **changes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(ROOT / "examples" / "paper_small.toml"))
    parser.add_argument("--scale", type=float, default=0.25)
    parser.add_argument("--out", default=str(ROOT / "results" / "stage_workers"))
    args = parser.parse_args()

    from tailsynth.runner import pipeline
    from tailsynth.runner.side_by_side import AHEAD, train_stage, train_stages

    base = pipeline.load_run_config(args.config)
    _, data = pipeline.make_plan(base)
    labels = data.business_labels[: max(64, round(len(data.business_labels) * args.scale))]
    seconds, stage_seconds = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for workers in (1, 2):
            config = scaled(base, args.scale, Path(tmp) / f"workers-{workers}")
            keys = pipeline.stage_keys(config)
            stages = [s for s in pipeline.active_stages(config, keys) if s in AHEAD]
            started = time.perf_counter()
            if workers == 1:
                stage_seconds[workers] = {s: train_stage(config, s, labels, False).seconds for s in stages}
            else:
                done = train_stages(config, stages, labels, workers, False, lambda s: None, lambda s, r: None)
                stage_seconds[workers] = {s: r.seconds for s, r in done.items()}
            seconds[workers] = round(time.perf_counter() - started, 1)
            print(f"[stage_workers] {workers} worker(s): {seconds[workers]} s", flush=True)
    result = {"config": args.config, "scale": args.scale, "wall_s": seconds, "stage_s": stage_seconds,
              "speedup": round(seconds[1] / seconds[2], 2)}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(result, indent=2))
    rows = "\n".join(f"| {s} | {stage_seconds[1][s]:.1f} | {stage_seconds[2].get(s, float('nan')):.1f} |"
                     for s in stage_seconds[1])
    (out / "report.md").write_text(
        f"# The chain's model stages: one after another vs side by side\n\n"
        f"`python benchmarks/stage_workers.py --config {Path(args.config).relative_to(ROOT) if Path(args.config).is_absolute() else args.config} "
        f"--scale {args.scale}`: every stage's steps and examples x {args.scale}, trained from scratch twice in one "
        f"invocation on this machine.\n\n"
        f"| | 1 worker | 2 workers |\n| --- | ---: | ---: |\n| wall s | {seconds[1]} | {seconds[2]} |\n\n"
        f"Speedup **{result['speedup']}x**. Each stage's own seconds (in a worker, the other running beside it):\n\n"
        f"| stage | 1 worker | 2 workers |\n| --- | ---: | ---: |\n{rows}\n")
    print((out / "report.md").read_text())


if __name__ == "__main__":
    main()
