"""What the alternative filter (``tailsynth.programs.alternatives``) rejects, against the demo world's truth.

For every alternative query of a split, the products of the query's own product type (its truth
spec's types: what a good rewrite retrieves) are split into relevant and wrong, the wrong ones by
why the world says so: the brand the query names, another premium brand, a mid-range or budget
product dearer than the named brand's median, or an attribute the query asks for that the product
lacks. The synthesis program's own rule (``BusinessStage.no_alternative``) is run on them, and its
decision is counted for each kind: what it removes from the pairs and what it costs. With the
price class (``SynthesisConfig.alternative_price_class``, the default 0.75) and without it. Over
every product of the type (the price to beat is then the named brand's median over the catalog,
the world's own definition) and over a random fifth of them (as in a top-k candidate list, where
the median is estimated from the named brand's few candidates). Dev and train splits (the test split
stays unread). Writes JSON and markdown next to each other.

    python benchmarks/alternative_rule.py --splits dev train
"""

from __future__ import annotations

import argparse
import json
import random
from collections import Counter
from pathlib import Path

from tailsynth.config import SynthesisConfig
from tailsynth.programs.queries import Query
from tailsynth.programs.stages import BusinessStage
from tailsynth.sources import load_source

KINDS = ("relevant", "named brand", "other premium brand", "dearer mid/budget", "missing attribute")


def kind(product: dict, relevant: bool, spec) -> str:
    """Why the world judges ``product`` as it does for an alternative query (first reason wins)."""
    if relevant:
        return "relevant"
    if product["brand"] == spec.excluded_brand:
        return "named brand"
    if product["brand_tier"] == "premium":
        return "other premium brand"
    if spec.max_price is not None and product["price"] >= spec.max_price:
        return "dearer mid/budget"
    return "missing attribute"


def measure(world, split: str, stage: BusinessStage, share: float, seed: int = 0) -> dict[str, dict]:
    """Kind → products, and how many the rule rejects, over ``share`` of each query's own-type products."""
    rows = world.products.to_pylist()
    by_type: dict[str, list[dict]] = {}
    for r in rows:
        by_type.setdefault(r["product_type"], []).append(r)
    rng, c = random.Random(seed), Counter()
    queries = world.query_rows(split, qtype="alternative")
    for q in queries:
        spec, relevant = world.spec(q["query_id"]), world.relevant_ids(q["query_id"])
        products = [p for t in spec.types for p in by_type[t] if share >= 1 or rng.random() < share]
        out = stage.no_alternative(Query(q["query_id"], q["text"], "alternative"), products)
        for p, rejected in zip(products, out):
            k = kind(p, p["product_id"] in relevant, spec)
            c[k] += 1
            c[f"{k} rejected"] += rejected
    return {"queries": len(queries), **{k: {"products": c[k], "rejected": c[f"{k} rejected"],
                                           "rejected_share": c[f"{k} rejected"] / max(1, c[k])} for k in KINDS}}


def markdown(results: dict, command: str) -> str:
    lines = ["# The alternative filter against the demo world's truth", "", f"Command: `{command}`", "",
             "Alternative queries; the products of each query's own product type, by the world's reason for its "
             "judgement; the filter (`tailsynth.programs.alternatives`, the synthesis program's `BusinessStage`) "
             "rejects the brand the query names and products priced at or above the median of that brand's products "
             "among the candidates, and with a price class the products of every brand whose median price among the "
             "candidates is at least that share of the named brand's. `all` reads every product of the type, "
             "`a fifth` a random fifth of them.", "",
             "| price class | candidates | split | queries | " + " | ".join(KINDS) + " |",
             "| --- | --- | --- | ---: | " + " | ".join(["---:"] * len(KINDS)) + " |"]
    for key, m in results.items():
        price_class, cands, split = key.split("/")
        cells = [f"{m[k]['rejected']:,} of {m[k]['products']:,} ({m[k]['rejected_share']:.1%})" for k in KINDS]
        lines.append(f"| {price_class} | {cands} | {split} | {m['queries']} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--splits", nargs="+", default=["dev", "train"], choices=["dev", "train"])
    ap.add_argument("--out", default="results/alternative_rule")
    args = ap.parse_args()
    source = load_source("world")
    classes = (SynthesisConfig().alternative_price_class, None)
    stages = {pc: BusinessStage(None, source.catalog(), 0.0, alternatives=True, price_class=pc) for pc in classes}
    results = {f"{pc}/{name}/{split}": measure(source.world, split, stages[pc], share) for pc in classes
               for name, share in (("all", 1.0), ("a fifth", 0.2)) for split in args.splits}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(results, indent=2) + "\n")
    (out / "report.md").write_text(markdown(results, "python benchmarks/alternative_rule.py --splits " + " ".join(args.splits)))
    print((out / "report.md").read_text())


if __name__ == "__main__":
    main()
