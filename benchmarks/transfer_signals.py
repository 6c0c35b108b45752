"""Do the trained components travel? Each scoring signal's AUC against the truth, per query type,
on the candidates the synthesis run scored, for a run and for a run that borrows its models.

    python benchmarks/transfer_signals.py --configs examples/paper.toml examples/shifted_run.toml

For each run config (run both first: `tailsynth run --config ...`), every candidate of its synthesis
run that the general filter scored (so it carries the general filter's ``general_p_yes``, the business
model's score and the retrieval score ``ann_score``) is judged by the run's judge of its training
queries (``runner.tables.train_judge``: the demo world's truth, or ``[chain] audit_qrels``). AUC per
signal and type (sklearn) says how well a component ranks what it meets there: the same general
filter on the world it was trained on and on a shifted one. The rewrite filter is read by the share
of rewrites it drops. Nothing here chooses anything; the test split is not read. Writes
``report.md`` and ``report.json`` under ``--out``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SIGNALS = ("general_p_yes", "ann_score", "business_score")
TYPES = ("qa", "knowledge", "alternative", "negative", "all")

_SQL = """
SELECT p.query_id, q.qtype, p.product_id, p.general_p_yes, c.ann_score, p.business_score, p.kept
FROM pairs p
JOIN queries q ON q.run_id = p.run_id AND q.query_id = p.query_id
JOIN candidates c ON c.run_id = p.run_id AND c.query_id = p.query_id AND c.product_id = p.product_id
WHERE p.run_id = ? AND p.general_p_yes IS NOT NULL
ORDER BY p.query_id, p.product_id
"""


def measure(config_path: str) -> dict:
    from sklearn.metrics import roc_auc_score

    from tailsynth.runner import pipeline, tables
    from tailsynth.store import Store

    config = pipeline.load_run_config(config_path)
    plan, data = pipeline.make_plan(config)
    keys = pipeline.stage_keys(config)
    run_id = pipeline.synthesis_run_id(config, keys)
    judge, who = tables.train_judge(config, data)
    if judge is None:
        raise SystemExit(f"{config_path}: {who}")
    with Store(config.output.store, read_only=True) as store:
        rows = store.fetch(_SQL, [run_id])
        dropped = store.fetch("SELECT count(*) FILTER (WHERE NOT kept), count(*) FROM rewrites WHERE run_id = ? AND rank > 0",
                              [run_id])[0]
    by_query: dict[str, list[tuple]] = defaultdict(list)
    for r in rows:
        by_query[r[0]].append(r)
    per_type: dict[str, list[tuple]] = defaultdict(list)
    for qid, group in by_query.items():
        for r, truth in zip(group, judge(qid, [g[2] for g in group])):
            per_type[r[1]].append((*r[3:7], bool(truth)))
            per_type["all"].append((*r[3:7], bool(truth)))
    out = {"config": str(Path(config_path)), "run_id": run_id, "judge": who,
           "rewrites_dropped": dropped[0], "rewrites": dropped[1], "types": {}}
    for qtype in TYPES:
        group = per_type.get(qtype, [])
        truth = [g[4] for g in group]
        m = {"scored": len(group), "true": sum(truth), "kept": sum(bool(g[3]) for g in group),
             "kept_true": sum(bool(g[3]) and g[4] for g in group)}
        for i, name in enumerate(SIGNALS):
            values = [g[i] for g in group]
            ok = len(set(truth)) == 2 and all(v is not None for v in values)
            m[f"auc_{name}"] = float(roc_auc_score(truth, values)) if ok else None
        out["types"][qtype] = m
    return out


def markdown(results: list[dict], command: str) -> str:
    def auc(v):
        return "n/a" if v is None else f"{v:.3f}"

    lines = ["# Do the trained components travel? Signal AUC on the candidates each run's general filter scored", "",
             f"Command: `{command}`", "",
             "| run | type | scored | true | kept (true) | AUC general filter | AUC retrieval score | AUC business model |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in results:
        name = Path(r["config"]).stem
        for qtype, m in r["types"].items():
            lines.append(f"| {name} | {qtype} | {m['scored']} | {m['true']} | {m['kept']} ({m['kept_true']}) | "
                         f"{auc(m['auc_general_p_yes'])} | {auc(m['auc_ann_score'])} | {auc(m['auc_business_score'])} |")
    lines += ["", "Rewrites the rewrite filter dropped: " + "; ".join(
        f"{Path(r['config']).stem} {r['rewrites_dropped']} of {r['rewrites']}" for r in results) + ".",
              "", "Judges: " + "; ".join(f"{Path(r['config']).stem}: {r['judge']}" for r in results) + "."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", nargs="+", default=[str(ROOT / "examples" / "paper.toml"),
                                                         str(ROOT / "examples" / "shifted_run.toml")])
    parser.add_argument("--out", default=str(ROOT / "results" / "transfer_signals"))
    args = parser.parse_args()
    results = [measure(c) for c in args.configs]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(results, indent=2) + "\n")
    shown = " ".join(str(Path(c).relative_to(ROOT)) if Path(c).resolve().is_relative_to(ROOT) else c for c in args.configs)
    (out / "report.md").write_text(markdown(results, f"python benchmarks/transfer_signals.py --configs {shown}"))
    print((out / "report.md").read_text())


if __name__ == "__main__":
    main()
