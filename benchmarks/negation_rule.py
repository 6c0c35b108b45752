"""What the negation rule (``tailsynth.programs.negation``) rejects, against the demo world's truth.

For every query of a split, the products of the query's own product type (its truth spec's types:
the products a good rewrite retrieves, and where the retriever's mistakes on a negated property
live) are split into relevant and wrong, and the rule's decision is counted for each: the share of
wrong ones it rejects (what it removes from the pairs), and the share of relevant ones (what it
costs). Per query type, for the dev and train splits (the test split stays unread: nothing is
chosen on it). Three times: with the default synonym groups (``SynthesisConfig.negation_synonyms``)
and the catalog's implications (``programs.implications``: what the synthesis program does by
default), with the synonyms only, and with neither. Writes JSON and markdown next to each other.

    python benchmarks/negation_rule.py --splits dev train
"""

from __future__ import annotations

import argparse
import json
from collections import Counter, defaultdict
from pathlib import Path

from tailsynth.catalog import Catalog
from tailsynth.config import SynthesisConfig
from tailsynth.programs.negation import excluded_terms
from tailsynth.programs.queries import Query
from tailsynth.programs.stages import BusinessStage
from tailsynth.world import load_world

QTYPES = ("qa", "knowledge", "alternative", "negative")


def measure(world, split: str, stage: BusinessStage) -> dict[str, dict[str, float]]:
    """Per query type, what ``stage``'s negation filter (``BusinessStage.rules_out``, the synthesis
    program's own rule) rejects among the products of each query's own type."""
    ids = world.products.column("product_id").to_pylist()
    by_type: dict[str, list[dict]] = defaultdict(list)
    for pid, ptype in zip(ids, world.products.column("product_type").to_pylist()):
        by_type[ptype].append({"product_id": pid})
    out = {}
    for qtype in QTYPES:
        c: Counter = Counter()
        for q in world.query_rows(split, qtype=qtype):
            query, relevant = Query(q["query_id"], q["text"], qtype), world.relevant_ids(q["query_id"])
            c["queries"] += 1
            c["queries_with_terms"] += bool(stage.synonyms.expand(excluded_terms(q["text"])))
            for ptype in world.spec(q["query_id"]).types:
                for cand, rejected in zip(by_type[ptype], stage.rules_out(query, by_type[ptype])):
                    kind = "relevant" if cand["product_id"] in relevant else "wrong"
                    c[kind] += 1
                    c[f"{kind}_rejected"] += rejected
        out[qtype] = {**c, "wrong_rejected_share": c["wrong_rejected"] / max(1, c["wrong"]),
                      "relevant_rejected_share": c["relevant_rejected"] / max(1, c["relevant"])}
    return out


def markdown(results: dict, command: str) -> str:
    lines = ["# The negation rule against the demo world's truth", "", f"Command: `{command}`", "",
             "Products of each query's own product type; the rule rejects a product whose text states what the "
             "query rules out (`tailsynth.programs.negation`), with the default synonym groups "
             f"(`SynthesisConfig.negation_synonyms`: {SynthesisConfig().negation_synonyms}) and the attribute phrases "
             "the excluded phrase implies in the catalog (`tailsynth.programs.implications`, the default), with the "
             "synonyms only, and with neither.", "",
             "| rule | split | query type | queries | with an excluded term | wrong rejected | relevant rejected |",
             "| --- | --- | --- | ---: | ---: | ---: | ---: |"]
    for (synonyms, split), per_type in ((tuple(k.split("/")), v) for k, v in results.items()):
        for qtype, m in per_type.items():
            lines.append(f"| {synonyms} | {split} | {qtype} | {m['queries']} | {m['queries_with_terms']} | "
                         f"{m['wrong_rejected']:,} of {m['wrong']:,} ({m['wrong_rejected_share']:.1%}) | "
                         f"{m['relevant_rejected']:,} of {m['relevant']:,} ({m['relevant_rejected_share']:.2%}) |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--splits", nargs="+", default=["dev", "train"], choices=["dev", "train"])
    ap.add_argument("--out", default="results/negation_rule")
    args = ap.parse_args()
    world = load_world(seed=0, n_products=20000)
    catalog = Catalog(world.products.column("product_id").to_pylist(), world.product_texts(), world.product_attributes())
    synonyms = SynthesisConfig().negation_synonyms
    rules = {name: BusinessStage(None, catalog, 0.0, negation=True, synonyms=groups, implications=implied)
             for name, groups, implied in (("synonyms + implications", synonyms, True), ("synonyms", synonyms, False),
                                           ("none", [], False))}
    results = {f"{name}/{split}": measure(world, split, stage) for name, stage in rules.items() for split in args.splits}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(results, indent=2) + "\n")
    (out / "report.md").write_text(markdown(results, "python benchmarks/negation_rule.py --splits " + " ".join(args.splits)))
    print((out / "report.md").read_text())


if __name__ == "__main__":
    main()
