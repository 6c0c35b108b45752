"""The demo world's tables as the files a user would bring (CSV, JSONL, Parquet), so the example
config exercises the real file path: catalog, head-query pairs, business labels, train/test
queries (one test query's type left blank for the classifier) and qrels.

The catalog's ``attributes`` column holds the attribute text the world shows its models
(``world.catalog.attribute_string``: "stainless steel, 2 in., framing"), not the JSON behind it,
so a product's text read back from the files is the text a demo-world chain was trained on. With
the JSON there ("material stainless, size 2 in, use framing", "co_combo") every model the chain
trained on the world judged text it had never seen: 84 of 2,000 products read the same.
The JSON stays in ``attributes_json`` for SQL. ``brand`` and ``price`` are the columns most
catalogs carry; the alternative filter reads them (``programs.alternatives``)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from tailsynth.world.catalog import attribute_string

MANIFEST = "manifest.json"


def write_demo_files(
    world,
    out_dir: str | Path,
    products: int | None = 300,
    train_queries_per_type: int = 2,
    test_queries_per_type: int = 2,
    baseline_pairs: int | None = 400,
    business_labels: int | None = 400,
) -> dict[str, Path]:
    """Write the slice; returns file role → path. Skipped when the same slice is already there."""
    out = Path(out_dir)
    params = {"format": 3, "seed": world.seed if hasattr(world, "seed") else None, "world_products": world.products.num_rows,
              "products": products, "train": train_queries_per_type, "test": test_queries_per_type,
              "baseline_pairs": baseline_pairs, "business_labels": business_labels}
    files = {"catalog": out / "catalog.csv", "baseline_pairs": out / "baseline_pairs.parquet",
             "business_labels": out / "business_labels.jsonl", "train_queries": out / "train_queries.jsonl",
             "test_queries": out / "test_queries.csv", "qrels": out / "qrels.parquet"}
    manifest = out / MANIFEST
    if manifest.exists() and json.loads(manifest.read_text()) == params and all(f.exists() for f in files.values()):
        return files
    out.mkdir(parents=True, exist_ok=True)
    import pyarrow as pa
    import pyarrow.parquet as pq

    train = world.query_rows("train", limit=train_queries_per_type)
    test = world.query_rows("test", limit=test_queries_per_type)
    rows = world.products.to_pylist()
    if products is not None and products < len(rows):
        # Relevant products of the test queries first (so the metrics have something to find), then
        # the catalog in order.
        share = max(1, products // (2 * max(1, len(test))))
        chosen: dict[str, None] = {}
        for q in test + train:
            for pid in sorted(world.relevant_ids(q["query_id"]))[:share]:
                chosen.setdefault(pid)
        for r in rows:
            if len(chosen) >= products:
                break
            chosen.setdefault(r["product_id"])
        keep = set(list(chosen)[:products])
        rows = [r for r in rows if r["product_id"] in keep]
    keep = {r["product_id"] for r in rows}

    with files["catalog"].open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, ["product_id", "title", "description", "attributes", "brand", "price", "attributes_json"])
        w.writeheader()
        for r in rows:
            w.writerow({"product_id": r["product_id"], "title": r["title"], "description": r["description"],
                        "attributes": attribute_string(json.loads(r["attributes"])), "brand": r["brand"],
                        "price": f"{r['price']:.2f}", "attributes_json": r["attributes"]})

    # Head logs repeat (query, product) per click; a user's file aggregates them: one row, a count.
    clicks: dict[tuple[str, str], int] = {}
    for r in world.head_pairs.to_pylist():
        if r["product_id"] in keep:
            clicks[r["query"], r["product_id"]] = clicks.get((r["query"], r["product_id"]), 0) + 1
    head = list(clicks.items())[:baseline_pairs]
    pq.write_table(pa.Table.from_pylist([{"query": q, "product_id": p, "clicks": n} for (q, p), n in head]),
                   files["baseline_pairs"])

    labels = [r for r in world.relevance_labels.to_pylist() if r["split"] == "train" and r["product_id"] in keep]
    with files["business_labels"].open("w", encoding="utf-8") as f:
        for r in labels[:business_labels]:
            f.write(json.dumps({"query": r["query"], "product_id": r["product_id"], "label": int(r["label"])}) + "\n")

    with files["train_queries"].open("w", encoding="utf-8") as f:
        for q in train:
            f.write(json.dumps({"query_id": q["query_id"], "text": q["text"]}) + "\n")

    with files["test_queries"].open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, ["query_id", "text", "qtype"])
        w.writeheader()
        for i, q in enumerate(test):
            w.writerow({"query_id": q["query_id"], "text": q["text"], "qtype": "" if i == 0 else q["qtype"]})

    qrels = [{"query_id": q["query_id"], "product_id": p, "grade": 1}
             for q in test for p in sorted(world.relevant_ids(q["query_id"])) if p in keep]
    pq.write_table(pa.Table.from_pylist(qrels, schema=pa.schema([("query_id", pa.string()), ("product_id", pa.string()),
                                                                  ("grade", pa.int64())])), files["qrels"])
    manifest.write_text(json.dumps(params))
    return files
