"""A shifted variant of the demo world, written as a user's files: the project's own transfer test.

Models trained on the standard world meet, through the user-files path, a store that differs the
way a real catalog does (issue 16): another seed and another brand set, titles only (no
descriptions or attributes in the product text), head judgements graded 1-3 as the mean over noisy
raters instead of clicks, and long-tail queries phrased with templates the standard world never
uses. It is the same generator (``catalog.generate_products``, ``queries.build_queries``) run with
a ``ShiftConfig``, not a copy of it.

Rater noise (documented, tested): each head (query, product) pair has a true grade -- 3 when the
product satisfies the head query's spec, 2 when it is of the query's product type but misses an
attribute or brand, 1 otherwise -- and each of ``raters`` raters reports it with probability
``1 - rater_noise`` and otherwise one of the two other grades, uniformly. The file holds the mean
over raters, rounded to 2 decimals (3, 2.67, 2.33, ...).

Command line::

    python -m tailsynth.world.shift --out DIR [--seed 7 --products 20000 ...]
    tailsynth run --config examples/shifted_run.toml    # reads DIR=.cache/tailsynth/shifted_run/data
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import random
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import lexicon as L
from .catalog import generate_products
from .logs import HEAD_FORBIDDEN, OverlapIndex, _head_query
from .queries import QTYPES, Phrasing, build_queries
from .truth import ProductIndex, tokenize

SHIFTED = Phrasing(
    qa=("any tips on how to {n}?", "what would a pro use to {n}?", "which supplies let me {n}?",
        "where do I start if I want to {n}?", "could you suggest a product to {n}?", "what's needed to {n}?",
        "what gear helps me {n}?", "recommend me something so I can {n}", "which one of your products will {n}?",
        "is there a product made to {n}?"),
    qa_symptom=("help: {s}", "{s} -- which product solves this?", "my problem: {s}. what do I get?", "{s}; what's the fix?"),
    knowledge=("{n} supplies needed", "kit for when you {n}", "{n} essentials", "everything required to {n}",
               "tools so i can {n}", "what to buy to {n}", "{n} shopping list", "materials to {n} myself"),
    knowledge_symptom=("{s} solution", "{s} repair stuff", "fix for when {s}", "{s} remedy"),
    alternative=("{t} that rivals {b} at a lower price", "{b}-level {t} for a smaller budget", "a {t} as good as {b} for less",
                 "lower priced pick instead of {b} {t}", "{t} to replace pricey {b}", "value pick vs {b} {t}",
                 "{b} {t} is over my budget, suggestions?", "wallet friendly swap for {b} {t}"),
    negative_pre=("shopping for a {f} {t}", "{f} {t} recommendations", "good {f} {t} to buy", "top rated {f} {t}",
                  "show me {f} {t}"),
    negative_post=("recommend a {t} {f}", "{t} {f} for my house", "which {t} {f} is best", "find me a {t} {f}"),
)
"""Long-tail templates the standard world (``queries.STANDARD``) never uses."""

_SYLLABLES = ("bo", "ru", "fen", "gal", "ith", "kor", "lum", "nex", "ord", "pra", "quin", "sev", "tor", "und", "wex",
              "yal", "zor", "hap", "jin", "mek")
GRADES = (1, 2, 3)


@dataclass(frozen=True)
class ShiftConfig:
    """What differs from the standard world, and how much of it to write."""

    seed: int = 7
    n_products: int = 20000
    brand_seed: int = 98765
    brand_syllables: tuple[str, ...] = _SYLLABLES
    phrasing: Phrasing = field(default=SHIFTED)
    raters: int = 3
    rater_noise: float = 0.25  # probability that one rater reports a grade other than the true one
    head_queries: int = 3000  # distinct head queries judged
    judged_per_query: int = 4  # products judged per head query: the clicked one, same-type and word-sharing others
    train_queries_per_type: int = 30
    test_queries_per_type: int = 40


@dataclass
class ShiftedWorld:
    """The shifted store's tables as Python rows; ``qrels`` covers train and test queries (the truth),
    the user files hold only the test queries' part."""

    config: ShiftConfig
    brands: dict[str, dict[str, tuple[str, ...]]]
    products: list[dict]
    queries: list[dict]  # query_id, text, qtype, split, spec
    qrels: dict[str, set[str]]
    head_judgements: list[dict]  # query, product_id, grade (mean over raters), true_grade, ratings

    def judge(self, query_id: str, product_ids: list[str]) -> list[bool]:
        """Ground truth ``(query_id, product_ids) -> [bool]``, e.g. for an automatic audit of kept pairs."""
        rel = self.qrels.get(query_id, set())
        return [p in rel for p in product_ids]


def shifted_brands(config: ShiftConfig) -> dict[str, dict[str, tuple[str, ...]]]:
    """A brand set per type and tier disjoint from ``lexicon.BRANDS`` (no fixed premium names)."""
    return L.make_brands(config.brand_seed, list(config.brand_syllables), fixed_premium={},
                         avoid=frozenset(L.BRAND_TIER))


def rate(rng: random.Random, true_grade: int, raters: int, noise: float) -> list[int]:
    """Each rater reports the true grade with probability ``1 - noise``, else another grade uniformly."""
    out = []
    for _ in range(raters):
        if rng.random() < noise:
            out.append(rng.choice([g for g in GRADES if g != true_grade]))
        else:
            out.append(true_grade)
    return out


def _head_judgements(config: ShiftConfig, products: list[dict], index: ProductIndex) -> list[dict]:
    """Per head query: the product it came from, one more of its type, then word-sharing products."""
    rng = random.Random(config.seed * 31 + 5)
    overlap = OverlapIndex([p["title"] for p in products])
    by_type = {t: np.flatnonzero(index.types == t) for t in set(index.types.tolist())}
    rows, seen = [], set()
    for _ in range(config.head_queries * 20):
        if len(seen) >= config.head_queries:
            break
        source = rng.randrange(len(products))
        query, spec = _head_query(rng, products[source])
        if query in seen or set(tokenize(query)) & HEAD_FORBIDDEN:
            continue
        seen.add(query)
        rel, same_type = index.mask(spec), np.isin(index.types, spec.types)
        chosen = [source]
        pool = by_type[products[source]["product_type"]]
        shared = np.flatnonzero(overlap.overlap(query) > 0)
        for candidates, want in ((pool, 2), (shared, config.judged_per_query)):
            for i in rng.sample(candidates.tolist(), min(len(candidates), 3 * config.judged_per_query)):
                if len(chosen) >= min(want, config.judged_per_query):
                    break
                if i not in chosen:
                    chosen.append(i)
        for i in chosen:
            true = 3 if rel[i] else 2 if same_type[i] else 1
            ratings = rate(rng, true, config.raters, config.rater_noise)
            rows.append({"query": query, "product_id": products[i]["product_id"],
                         "grade": round(sum(ratings) / len(ratings), 2), "true_grade": true, "ratings": ratings})
    return rows


def generate_shifted(config: ShiftConfig = ShiftConfig()) -> ShiftedWorld:
    """Build the shifted store (deterministic in ``config``; a few seconds for 20k products)."""
    brands = shifted_brands(config)
    products = generate_products(config.seed, config.n_products, brands=brands)
    index = ProductIndex([p["product_type"] for p in products], [p["brand"] for p in products],
                         [p["brand_tier"] for p in products], [p["price"] for p in products],
                         [json.loads(p["attributes"]) for p in products])
    sizes = (("test", config.test_queries_per_type), ("train", config.train_queries_per_type))
    rows, masks = build_queries(config.seed, index, config.phrasing, brands, sizes)
    ids = np.array([p["product_id"] for p in products])
    queries, qrels = [], {}
    for r in rows:
        qid = "s" + r["query_id"]
        queries.append({**r, "query_id": qid})
        qrels[qid] = set(ids[masks[r["spec"]]].tolist())
    return ShiftedWorld(config, brands, products, queries, qrels, _head_judgements(config, products, index))


# ------------------------------------------------------------------------------------ files
MANIFEST = "manifest.json"
FILES = {"catalog": "catalog.csv", "head_judgements": "head_judgements.csv", "train_queries": "train_queries.jsonl",
         "test_queries": "test_queries.csv", "qrels": "qrels.parquet", "train_truth": "audit/train_qrels.parquet"}


def _manifest(config: ShiftConfig) -> dict:
    return json.loads(json.dumps(dataclasses.asdict(config)))


def write_shifted_files(out_dir: str | Path, config: ShiftConfig = ShiftConfig()) -> dict[str, Path]:
    """Write the shifted store as a user's files; returns role -> path (skipped when already there).

    - ``catalog.csv``: ``product_id, title`` (titles only)
    - ``head_judgements.csv``: ``query, product_id, grade`` (mean of the raters, 1-3); the run config
      reads it both as baseline pairs (grade >= 2.67) and as business labels
    - ``train_queries.jsonl``: ``query_id, text`` (unlabelled, no type)
    - ``test_queries.csv``: ``query_id, text, qtype``; ``qrels.parquet``: ``query_id, product_id, grade`` (1 = relevant)
    - ``audit/train_qrels.parquet``: the train queries' truth, NOT user data: the judge of an
      automatic audit of the kept pairs (``tailsynth.guards.audit``)
    """
    out = Path(out_dir)
    files = {role: out / name for role, name in FILES.items()}
    manifest = out / MANIFEST
    params = _manifest(config)
    if manifest.exists() and json.loads(manifest.read_text()) == params and all(f.exists() for f in files.values()):
        return files
    import pyarrow as pa
    import pyarrow.parquet as pq

    world = generate_shifted(config)
    (out / "audit").mkdir(parents=True, exist_ok=True)
    with files["catalog"].open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, ["product_id", "title"])
        w.writeheader()
        w.writerows({"product_id": p["product_id"], "title": p["title"]} for p in world.products)
    with files["head_judgements"].open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, ["query", "product_id", "grade"])
        w.writeheader()
        w.writerows({k: r[k] for k in ("query", "product_id", "grade")} for r in world.head_judgements)
    with files["train_queries"].open("w", encoding="utf-8") as f:
        for q in world.queries:
            if q["split"] == "train":
                f.write(json.dumps({"query_id": q["query_id"], "text": q["text"]}) + "\n")
    test = [q for q in world.queries if q["split"] == "test"]
    with files["test_queries"].open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, ["query_id", "text", "qtype"])
        w.writeheader()
        w.writerows({k: q[k] for k in ("query_id", "text", "qtype")} for q in test)
    schema = pa.schema([("query_id", pa.string()), ("product_id", pa.string()), ("grade", pa.int64())])
    for role, split in (("qrels", "test"), ("train_truth", "train")):
        rows = [{"query_id": q["query_id"], "product_id": p, "grade": 1}
                for q in world.queries if q["split"] == split for p in sorted(world.qrels[q["query_id"]])]
        pq.write_table(pa.Table.from_pylist(rows, schema=schema), files[role])
    manifest.write_text(json.dumps(params))
    return files


def main(argv: list[str] | None = None) -> dict[str, Path]:
    parser = argparse.ArgumentParser(prog="python -m tailsynth.world.shift", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, help="directory for the files")
    defaults = ShiftConfig()
    for name in ("seed", "n_products", "raters", "head_queries", "judged_per_query", "train_queries_per_type",
                 "test_queries_per_type"):
        parser.add_argument("--" + name.replace("_", "-"), type=int, default=getattr(defaults, name))
    parser.add_argument("--rater-noise", type=float, default=defaults.rater_noise)
    args = parser.parse_args(argv)
    config = dataclasses.replace(defaults, **{k: v for k, v in vars(args).items() if k != "out"})
    files = write_shifted_files(args.out, config)
    for role, path in files.items():
        print(f"{role}: {path}")
    return files


if __name__ == "__main__":
    main()
