"""How well the chain's rewrite judges read the program's own rewrites, on a finished run.

    python benchmarks/rewrite_judges.py --config examples/paper_small.toml

The rewrite filter drops rewrites before retrieval, and the QSR model is RL's relevance reward
(Eq. 1); both learn on the source's annotated rewrite examples, whose bad rewrites are made by
perturbing good ones. Here both score what the program actually wrote: every generated rewrite
of the run's calibration dev runs (one per ``[calibration] rewriters`` entry, dev queries only),
labelled by the chain source's rewrite judge (the demo world's truth). Reported per query type:
ROC AUC of the rewrite filter's p(relevant) as stored by the run, and of the run's trained QSR
p(yes), against "relevant", next to the AUCs each model reported on its own held-out rows; and
the precision of the dev candidates each kind of rewrite retrieved, which is why a judge that
tells them apart matters. Needs the run to have finished its calibration stage. Writes
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

TYPES = ("qa", "knowledge", "alternative", "negative")

_REWRITES_SQL = """
SELECT r.query_id, q.text, q.qtype, r.rank, r.rewrite, r.p_relevant
FROM rewrites r JOIN queries q ON q.run_id = r.run_id AND q.query_id = r.query_id
WHERE r.run_id = ? AND r.rank > 0 ORDER BY r.query_id, r.rank
"""
_CANDIDATES_SQL = "SELECT query_id, product_id, rewrite_rank FROM candidates WHERE run_id = ? ORDER BY query_id, product_id"


def auc(labels: list[bool], scores: list[float]) -> float | None:
    from sklearn.metrics import roc_auc_score

    return round(float(roc_auc_score(labels, scores)), 3) if len(set(labels)) == 2 else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(ROOT / "examples" / "paper_small.toml"))
    parser.add_argument("--out", default=str(ROOT / "results" / "rewrite_judges"))
    args = parser.parse_args()

    import tailsynth  # noqa: F401 - offline defaults
    from tailsynth.runner import calibrate, pipeline
    from tailsynth.runner.chain import chain_source
    from tailsynth.runner.config import load_run_config
    from tailsynth.serving.local_scorer import LocalScorer
    from tailsynth.signatures import QuerySemanticRelevance
    from tailsynth.store import Store

    config = load_run_config(args.config)
    keys = pipeline.stage_keys(config)
    source = chain_source(config)
    label, judge = source.require("rewrite_labeler"), source.require("judgements").judge
    qsr_dir = Path(keys.chain["qsr"].path)
    names = config.calibration.rewriters
    run_ids = {name: calibrate.dev_run_id(config, keys.calibration) + (f"-{name}" if len(names) > 1 else "")
               for name in names}
    with Store(config.output.store, read_only=True) as store:
        rewrites = {name: store.fetch(_REWRITES_SQL, [rid]) for name, rid in run_ids.items()}
        candidates = {name: store.fetch(_CANDIDATES_SQL, [rid]) for name, rid in run_ids.items()}
    if not any(rewrites.values()):
        raise SystemExit(f"no dev rewrites in {config.output.store} for runs {list(run_ids.values())}: run the config first")
    qsr = LocalScorer(str(qsr_dir))
    rows, precision = [], defaultdict(lambda: [0, 0])
    for name, found in rewrites.items():
        truth = [label(qid, rewrite) for qid, _, _, _, rewrite, _ in found]
        p_qsr = [float(p) for p in qsr.p_yes(QuerySemanticRelevance, [{"query": t, "rewrite": w} for _, t, _, _, w, _ in found])]
        by_rank = {(qid, rank): lab for (qid, _, _, rank, _, _), lab in zip(found, truth)}
        qtype = {qid: qt for qid, _, qt, _, _, _ in found}
        by_query = defaultdict(list)
        for qid, pid, rank in candidates[name]:
            by_query[qid].append((pid, rank))
        for qid, group in by_query.items():
            for (pid, rank), true in zip(group, judge(qid, [p for p, _ in group])):
                key = (qtype.get(qid), by_rank.get((qid, rank), "original"))
                precision[key][0] += 1
                precision[key][1] += bool(true)
        for qt in (*TYPES, "all"):
            idx = [i for i, r in enumerate(found) if qt == "all" or r[2] == qt]
            relevant = [truth[i] == "relevant" for i in idx]
            rows.append({"rewriter": name, "qtype": qt, "rewrites": len(idx),
                         "relevant": round(sum(relevant) / len(idx), 3) if idx else None,
                         "rewrite_filter_auc": auc(relevant, [found[i][5] if found[i][5] is not None else 0.5 for i in idx]),
                         "qsr_auc": auc(relevant, [p_qsr[i] for i in idx])})
    own = {"qsr_held_out_auc": json.loads((qsr_dir / "metrics.json").read_text()).get("auc"),
           "rewrite_filter_dev_auc": json.loads((Path(keys.chain["rewrite_filter"].path) / "classifier.json").read_text())
           .get("dev", {}).get("auc")}
    cand = [{"qtype": qt, "rewrite_label": lab, "candidates": n, "precision": round(t / n, 3)}
            for (qt, lab), (n, t) in sorted(precision.items(), key=lambda kv: (str(kv[0][0]), kv[0][1]))]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps({"config": args.config, "runs": run_ids, "own_metrics": own,
                                                 "auc": rows, "candidate_precision": cand}, indent=2))
    given = Path(args.config).resolve()
    cmd = "python benchmarks/rewrite_judges.py" + (f" --config {given.relative_to(ROOT)}" if given.is_relative_to(ROOT) else "")
    md = [f"# The chain's rewrite judges on the program's own rewrites (run `{config.name}`)", "",
          f"`{cmd}`: every generated rewrite of the calibration dev runs ({', '.join(f'`{r}`' for r in run_ids.values())}), "
          "labelled by the chain source's rewrite judge. AUC of each judge's score against \"relevant\"; for comparison, "
          f"the QSR model's own held-out AUC is {own['qsr_held_out_auc']:.3f} and the rewrite filter's own dev AUC "
          f"{own['rewrite_filter_dev_auc']:.3f} (rows drawn from the annotated rewrite examples).", "",
          "| rewriter | type | rewrites | relevant | rewrite filter AUC | QSR AUC |", "| --- | --- | ---: | ---: | ---: | ---: |"]
    fmt = lambda v: "-" if v is None else f"{v:.3f}"  # noqa: E731
    md += [f"| {r['rewriter']} | {r['qtype']} | {r['rewrites']} | {fmt(r['relevant'])} | {fmt(r['rewrite_filter_auc'])} | "
           f"{fmt(r['qsr_auc'])} |" for r in rows]
    md += ["", "Dev candidates by the label of the rewrite that retrieved them (every filter open): how many, and how many "
           "are relevant products.", "", "| type | rewrite label | candidates | precision |", "| --- | --- | ---: | ---: |"]
    md += [f"| {c['qtype']} | {c['rewrite_label']} | {c['candidates']} | {c['precision']:.1%} |" for c in cand]
    (out / "report.md").write_text("\n".join(md) + "\n")
    print("\n".join(md))


if __name__ == "__main__":
    main()
