"""Dev AUC of the general filter's cross-encoder for a few training recipes, on a run config's chain source.

    python benchmarks/general_filter_recipes.py --config examples/paper_small.toml --out results/general_filter_recipes

Each recipe ``EXAMPLES:PER_QUERY:EPOCHS:LR`` trains the run's ``[general_filter]`` section (its
sources, dev rows and seeds) with that many label-balanced training examples, that many
synthesis-shaped candidates per judged training query (``train_candidates_per_query``), epochs and
body learning rate, through ``train_cross_encoder_classifier`` on the run's catalog index (as the
runner does), and reads back its ``classifier.json``: dev AUC overall and per query type, and the
recall at the ``precision=0.8`` point. The dev rows are the same for every recipe (8 candidates a
dev query, ``dev_seed``), so the AUCs compare. Writes ``report.md`` and ``report.json`` under ``--out``.
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

RECIPES = ("6000:12:2:1e-4", "6000:12:1:2e-4", "4000:12:2:1e-4")
"""The small profile's recipe, then the two cheaper ones tried to shorten its longest lane (2026-12-07)."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=str(ROOT / "examples" / "paper_small.toml"))
    parser.add_argument("--out", default=str(ROOT / "results" / "general_filter_recipes"))
    parser.add_argument("--recipe", action="append", help=f"EXAMPLES:PER_QUERY:EPOCHS:LR (default: {' '.join(RECIPES)})")
    args = parser.parse_args()

    import tailsynth  # noqa: F401 - offline defaults
    from tailsynth.classifiers.cross_encoder import CrossEncoderClassifierConfig, train_cross_encoder_classifier
    from tailsynth.runner import chain as chain_mod
    from tailsynth.runner.config import load_run_config

    config = load_run_config(args.config)
    source = chain_mod.chain_source(config)
    index = chain_mod.judged_catalog_index(config)
    section = config.general_filter or CrossEncoderClassifierConfig()
    rows = []
    for recipe in args.recipe or RECIPES:
        n, per_query, epochs, lr = recipe.split(":")
        with tempfile.TemporaryDirectory() as tmp:
            cfg = dataclasses.replace(section, train_examples=int(n), train_candidates_per_query=int(per_query),
                                      model=dataclasses.replace(section.model, epochs=int(epochs), lr=float(lr)),
                                      out_dir=str(Path(tmp) / "ce"))
            start = time.time()
            info = json.loads((train_cross_encoder_classifier(source, cfg, index=index) / "classifier.json").read_text())
        dev = info["dev"]
        point = dev["operating_points"].get("precision=0.8", {})
        rows.append({"recipe": recipe, "train_examples": info.get("train_examples"), "per_query": int(per_query),
                     "epochs": int(epochs), "lr": float(lr), "train_s": info.get("train_s"),
                     "wall_s": round(time.time() - start, 1), "dev_examples": dev["examples"],
                     "dev_auc": round(dev["auc"], 3), "dev_auc_by_qtype": {t: round(v, 3) for t, v in dev["auc_by_qtype"].items()},
                     "recall_at_precision_0.8": round(point.get("recall", 0.0), 3)})
        print(f"{recipe:18s} dev AUC {rows[-1]['dev_auc']:.3f} {rows[-1]['dev_auc_by_qtype']} "
              f"train {rows[-1]['train_s']} s", flush=True)

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps({"config": args.config, "rows": rows}, indent=2))
    types = sorted({t for r in rows for t in r["dev_auc_by_qtype"]})
    lines = ["# General filter (cross-encoder) recipes: dev AUC", "",
             f"`python benchmarks/general_filter_recipes.py --config {args.config}`: the run's `[general_filter]` "
             f"section trained per recipe on the {source.name}, candidates from the run's catalog index; dev: "
             f"{rows[0]['dev_examples']:.0f} synthesis-shaped candidates of the dev queries (the same rows for every "
             "recipe). train s: training wall seconds on this machine (whatever else it ran).", "",
             "| examples | per query | epochs | lr | dev AUC | " + " | ".join(types) + " | recall at precision 0.8 | train s |",
             "| ---: | ---: | ---: | ---: | ---: | " + " | ".join("---:" for _ in types) + " | ---: | ---: |"]
    for r in rows:
        lines.append(f"| {r['train_examples']} | {r['per_query']} | {r['epochs']} | {r['lr']:g} | {r['dev_auc']:.3f} | "
                     + " | ".join(f"{r['dev_auc_by_qtype'].get(t, float('nan')):.3f}" for t in types)
                     + f" | {r['recall_at_precision_0.8']:.3f} | {r['train_s']} |")
    (out / "report.md").write_text("\n".join(lines) + "\n")
    print(f"wrote {out / 'report.md'}")


if __name__ == "__main__":
    main()
