"""The two calibration rules against each other: on dev queries they were not chosen on, and on the
training queries with every candidate scored (run it after `tailsynth run --config ...`).

    python benchmarks/calibration_rules.py --config examples/paper_small.toml --out results/calibration_rules

Two readings of each rule (``floors``: thresholds, then a retrieval floor per type; ``combined``: a
keep rule per type over the three scores; ``tailsynth.calibration``):

- **Dev halves.** Each rewriter's dev candidates are split in two halves of the queries of each
  type, ``--splits`` times at random; each rule is chosen on one half at the run's
  ``[calibration]`` settings and read on the other, both ways: the pairs it keeps on the unseen
  half (mean per half) and their precision against the dev truth.
- **Training queries.** The program runs once more over the run's training queries with every
  filter open (the calibration's chosen rewriter; into ``work_dir/benchmarks/``, not the run's
  store), so every candidate has all three scores; each rule, chosen on all the dev queries at
  each ``--targets`` precision, is read on them against the truth: the precision / pairs curve
  the synthesis run moves along (``frontier.png``). A synthesis run at a floor scores only what
  passes it, so its own pairs cannot compare the rules.

Writes ``report.md``, ``report.json`` and ``frontier.png`` under ``--out``.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TYPES = ("qa", "knowledge", "alternative", "negative", "all")


def tally(rows, keep) -> dict[str, list[int]]:
    """Type (and all) → [kept, kept true]."""
    out = {t: [0, 0] for t in TYPES}
    for r, k in zip(rows, keep):
        if k:
            for t in (r.qtype, "all"):
                if t in out:
                    out[t][0] += 1
                    out[t][1] += int(r.relevant)
    return out


def compare(rows: list[tuple[str, object]], settings: dict, splits: int, seed: int) -> dict:
    from tailsynth.calibration import RULES, calibrate

    qtype = {qid: r.qtype for qid, r in rows}
    by_type: dict[str, list[str]] = defaultdict(list)
    for qid in sorted(qtype):
        by_type[qtype[qid]].append(qid)
    held_out = {rule: {t: [0, 0] for t in TYPES} for rule in RULES}
    for split in range(splits):
        rng, half = random.Random(seed + split), {}
        for t, qids in sorted(by_type.items(), key=lambda kv: str(kv[0])):
            qids = list(qids)
            rng.shuffle(qids)
            half.update({q: i % 2 for i, q in enumerate(qids)})
        for fold in (0, 1):
            chosen_on = [r for q, r in rows if half[q] == fold]
            read_on = [r for q, r in rows if half[q] != fold]
            for rule in RULES:
                chosen = calibrate(chosen_on, rule=rule, **settings)
                for t, (k, kt) in tally(read_on, [chosen.keeps(r) for r in read_on]).items():
                    held_out[rule][t][0] += k
                    held_out[rule][t][1] += kt
    all_rows = [r for _, r in rows]
    full = {}
    for rule in RULES:
        chosen = calibrate(all_rows, rule=rule, **settings)
        full[rule] = {t: {"kept": m["kept"], "precision": m["precision"]} for t, m in chosen.dev.items()}
    halves = 2 * splits
    return {"queries": len(qtype), "candidates": len(rows),
            "held_out": {rule: {t: {"kept_per_half": round(k / halves, 1), "precision": (kt / k if k else None)}
                                for t, (k, kt) in per.items()} for rule, per in held_out.items()},
            "full_dev": full}


def train_rows(config, keys, data, work: Path, progress: bool) -> tuple[str, list]:
    """(run id, ``DevRow``s) of the program over the training queries with every filter open."""
    from tailsynth.runner import calibrate, pipeline
    from tailsynth.runner.calibrate import dev_rows
    from tailsynth.runner.chain import chain_source
    from tailsynth.store import Store

    syn = calibrate.open_config(pipeline.run_synthesis_config(config, keys))
    spec = pipeline._program_spec(config, syn, data)
    queries = pipeline.train_queries(config, data)
    work.mkdir(parents=True, exist_ok=True)
    run_id = f"{config.name}-open-train-{keys.calibration}"
    with Store(work / "calibration_rules.duckdb") as store:
        spec.program().run(queries, store, run_id=run_id, progress=progress, kind="calibration", label="train, open")
        rows = dev_rows(store, run_id, chain_source(config).require("judgements").judge)
    return run_id, [r for _, r in rows]


def frontier(dev: list, train: list, settings: dict, targets: list[float]) -> dict:
    """Rule → one point per target: pairs kept on the training queries and their precision, per type."""
    from tailsynth.calibration import RULES, calibrate

    out = {}
    for rule in RULES:
        points = []
        for target in targets:
            chosen = calibrate(dev, rule=rule, **{**settings, "target_precision": target})
            per = tally(train, [chosen.keeps(r) for r in train])
            points.append({"target": target, "dev_kept": chosen.dev["all"]["kept"],
                           **{t: {"kept": k, "precision": (kt / k if k else None)} for t, (k, kt) in per.items()}})
        out[rule] = points
    return out


def plot(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for rule, points in result["train"]["frontier"].items():
        xs = [p["all"]["kept"] for p in points]
        ys = [100 * (p["all"]["precision"] or 0) for p in points]
        ax.plot(xs, ys, marker="o", label=rule)
        for p, x, y in zip(points, xs, ys):
            ax.annotate(f"{p['target']:.2f}", (x, y), fontsize=7, xytext=(3, 3), textcoords="offset points")
    ax.set_xlabel(f"pairs kept on the {result['train']['queries']} training queries")
    ax.set_ylabel("precision (%)")
    ax.set_title("Calibration rules on the training queries (labels: target)")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(ROOT / "examples" / "paper_small.toml"))
    parser.add_argument("--out", default=str(ROOT / "results" / "calibration_rules"))
    parser.add_argument("--splits", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--targets", default="0.84,0.86,0.88,0.9,0.92,0.94,0.96",
                        help="target precisions the training-query curve is read at")
    args = parser.parse_args()
    targets = [float(t) for t in args.targets.split(",")]

    import tailsynth  # noqa: F401 - offline defaults
    from tailsynth.runner import calibrate, pipeline
    from tailsynth.runner.calibrate import dev_rows
    from tailsynth.runner.chain import chain_source
    from tailsynth.store import Store

    config, data, keys, chosen = calibrate.finished(args.config)
    runs = chosen["dev_runs"]
    c = config.calibration
    settings = {"target_precision": c.target_precision, "per_type": c.per_type, "min_pairs": c.min_pairs,
                "business_recalls": c.business_recalls, "general_recalls": c.general_recalls}
    judge = chain_source(config).require("judgements").judge
    command = (f"python benchmarks/calibration_rules.py --config {args.config} --splits {args.splits} --seed {args.seed} "
               f"--targets {args.targets}")
    result = {"config": str(Path(args.config)), "command": command, "target_precision": c.target_precision,
              "rule_of_the_run": c.rule, "rewriter_chosen": chosen.get("rewriter"), "runs": {}}
    dev_of: dict[str, list] = {}
    with Store(config.output.store, read_only=True) as store:
        for name, run_id in runs.items():
            dev_of[name] = dev_rows(store, run_id, judge)
            result["runs"][name] = {"run_id": run_id, **compare(dev_of[name], settings, args.splits, args.seed)}
    rewriter = chosen.get("rewriter") if chosen.get("rewriter") in dev_of else next(iter(dev_of))
    train_run, train = train_rows(config, keys, data, pipeline.work_dir(config) / "benchmarks", progress=True)
    result["train"] = {"rewriter": rewriter, "run_id": train_run, "queries": len(pipeline.train_queries(config, data)),
                       "candidates": len(train),
                       "true": sum(r.relevant for r in train),
                       "frontier": frontier([r for _, r in dev_of[rewriter]], train, settings, targets)}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(result, indent=2))
    plot(result, out / "frontier.png")
    (out / "report.md").write_text(markdown(result))
    print(markdown(result))


def markdown(result: dict) -> str:
    def cell(m: dict, key: str) -> str:
        p = "n/a" if m["precision"] is None else f"{100 * m['precision']:.1f}%"
        return f"{m[key]} ({p})"

    lines = ["# Calibration rules on dev queries they were not chosen on", "",
             f"Command: `{result['command']}` (after `tailsynth run --config {result['config']}`); target precision "
             f"{result['target_precision']:.2f}; this run calibrates with `{result['rule_of_the_run']}` and chose the "
             f"`{result['rewriter_chosen']}` rewriter.", "",
             "Each rule is chosen on half the dev queries of each type and read on the other half (both ways, over "
             "random halvings): pairs kept per half (precision against the dev truth). Below it, each rule chosen on "
             "all the dev queries, read on the same queries (what the run does; its precision is optimistic).", ""]
    for name, r in result["runs"].items():
        lines += [f"## Rewriter `{name}` (run `{r['run_id']}`, {r['queries']} dev queries, {r['candidates']} candidates)",
                  "", "| rule | " + " | ".join(TYPES) + " |", "| --- | " + " | ".join("---:" for _ in TYPES) + " |"]
        for rule, per in r["held_out"].items():
            lines.append(f"| {rule}, unseen half | " + " | ".join(cell(per[t], "kept_per_half") for t in TYPES) + " |")
        for rule, per in r["full_dev"].items():
            lines.append(f"| {rule}, all dev (in-sample) | "
                         + " | ".join(cell(per[t], "kept") if t in per else "n/a" for t in TYPES) + " |")
        lines.append("")
    t = result["train"]
    lines += [f"## Training queries, every candidate scored (rewriter `{t['rewriter']}`, run `{t['run_id']}` in "
              f"work_dir/benchmarks/, {t['queries']} queries, {t['candidates']} candidates, {t['true']} true)", "",
              "Each rule chosen on all the dev queries at each target precision, read on the training queries: pairs "
              "kept (precision against the truth). The synthesis run keeps the `floors` row at the run's target.", "",
              "![frontier](frontier.png)", "",
              "| rule | target | dev pairs | " + " | ".join(TYPES) + " |",
              "| --- | ---: | ---: | " + " | ".join("---:" for _ in TYPES) + " |"]
    for rule, points in t["frontier"].items():
        for p in points:
            lines.append(f"| {rule} | {p['target']:.2f} | {p['dev_kept']} | "
                         + " | ".join(cell(p[ty], "kept") for ty in TYPES) + " |")
    lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
