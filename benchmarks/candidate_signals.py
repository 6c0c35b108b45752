"""Which score ranks the synthesis candidates: AUC against the dev truth, per query type, on the
calibration stage's dev runs of a run config (run it after `tailsynth run --config ...`).

    python benchmarks/candidate_signals.py --config examples/paper_small.toml --out results/candidate_signals

Every dev candidate of each rewriter's dev run (every filter open, so each has both models'
scores) is scored by: ``best_rewrite_sim`` (cosine similarity of the product to the best of the
query's generated rewrites, by the retrieval encoder), ``ann_score`` (the stored retrieval score:
the similarity to the text that ranked it best), ``query_sim`` (to the original query),
``general_p_yes`` (the general filter), ``business_query`` (the business model on the query, as
the program scores) and ``business_rewrite`` (on the rewrite that ranked it best). Why: the
calibration floors the retrieval score, which is only sound if it separates better than the
filters; this says by how much. Writes ``report.md`` and ``report.json`` under ``--out``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SIGNALS = ("best_rewrite_sim", "ann_score", "query_sim", "general_p_yes", "business_query", "business_rewrite")
TYPES = ("qa", "knowledge", "alternative", "negative", "all")

_SQL = """
SELECT c.query_id, q.text, q.qtype, c.product_id, c.ann_score, p.general_p_yes, p.business_score, r.rewrite
FROM candidates c
JOIN queries q ON q.run_id = c.run_id AND q.query_id = c.query_id
JOIN pairs p ON p.run_id = c.run_id AND p.query_id = c.query_id AND p.product_id = c.product_id
JOIN rewrites r ON r.run_id = c.run_id AND r.query_id = c.query_id AND r.rank = c.rewrite_rank
WHERE c.run_id = ? ORDER BY c.query_id, c.product_id
"""


def signals(store, run_id: str, catalog, encoder, business, judge) -> tuple[list[dict], list[str]]:
    import numpy as np

    rows = store.fetch(_SQL, [run_id])
    rewrites: dict[str, list[str]] = defaultdict(list)
    for qid, rw in store.fetch("SELECT query_id, rewrite FROM rewrites WHERE run_id = ? AND rank > 0 AND kept "
                               "ORDER BY query_id, rank", [run_id]):
        rewrites[qid].append(rw)
    by_query: dict[str, list[tuple]] = defaultdict(list)
    for row in rows:
        by_query[row[0]].append(row)
    out = []
    for qid, group in by_query.items():
        texts = [catalog.text(r[3]) for r in group]
        products = encoder.encode(texts)
        query = encoder.encode([group[0][1]])[0]
        gen = encoder.encode(rewrites[qid]) if rewrites[qid] else query[None, :]
        truth = judge(qid, [r[3] for r in group])
        on_rewrite: dict[str, list[int]] = defaultdict(list)
        for i, r in enumerate(group):
            on_rewrite[r[7]].append(i)
        bus_rw = np.zeros(len(group))
        for rw, idx in on_rewrite.items():
            bus_rw[idx] = business.score(rw, [texts[i] for i in idx])
        for i, r in enumerate(group):
            out.append({"qtype": r[2], "relevant": bool(truth[i]), "best_rewrite_sim": float((gen @ products[i]).max()),
                        "ann_score": float(r[4]), "query_sim": float(query @ products[i]),
                        "general_p_yes": float(r[5]), "business_query": float(r[6]), "business_rewrite": float(bus_rw[i])})
    return out, sorted(by_query)


def aucs(rows: list[dict]) -> dict[str, dict[str, float | None]]:
    from sklearn.metrics import roc_auc_score

    table = {}
    for t in TYPES:
        sub = [r for r in rows if t == "all" or r["qtype"] == t]
        y = [r["relevant"] for r in sub]
        ok = len(set(y)) == 2
        table[t] = {"candidates": len(sub), "true": sum(y),
                    **{s: (round(float(roc_auc_score(y, [r[s] for r in sub])), 3) if ok else None) for s in SIGNALS}}
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(ROOT / "examples" / "paper_small.toml"))
    parser.add_argument("--out", default=str(ROOT / "results" / "candidate_signals"))
    args = parser.parse_args()

    import tailsynth  # noqa: F401 - offline defaults
    from tailsynth.retrieval.business_relevance import BusinessRelevance
    from tailsynth.retrieval.encoder import Encoder
    from tailsynth.runner import calibrate, pipeline
    from tailsynth.runner.chain import chain_source
    from tailsynth.store import Store

    config, data, keys, chosen = calibrate.finished(args.config)
    runs = chosen["dev_runs"]
    encoder = Encoder(config.models.encoder or None)
    business = BusinessRelevance.load(pipeline.business_dir(config, keys.business))
    judge = chain_source(config).require("judgements").judge
    result = {"config": str(Path(args.config)), "command": f"python benchmarks/candidate_signals.py --config {args.config}",
              "runs": {}}
    with Store(config.output.store, read_only=True) as store:
        for name, run_id in runs.items():
            rows, queries = signals(store, run_id, data.catalog, encoder, business, judge)
            result["runs"][name] = {"run_id": run_id, "queries": len(queries), "auc": aucs(rows)}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(result, indent=2))
    lines = ["# Which score ranks the synthesis candidates (AUC against the dev truth)", "",
             f"Command: `{result['command']}` (after `tailsynth run --config {args.config}`); the calibration "
             "stage's dev runs, every filter open.", ""]
    for name, r in result["runs"].items():
        lines += [f"## Rewriter `{name}` (run `{r['run_id']}`, {r['queries']} dev queries)", "",
                  "| type | candidates | true | " + " | ".join(SIGNALS) + " |",
                  "| --- | ---: | ---: | " + " | ".join("---:" for _ in SIGNALS) + " |"]
        for t, m in r["auc"].items():
            lines.append(f"| {t} | {m['candidates']} | {m['true']} | "
                         + " | ".join("n/a" if m[s] is None else f"{m[s]:.3f}" for s in SIGNALS) + " |")
        lines.append("")
    (out / "report.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
