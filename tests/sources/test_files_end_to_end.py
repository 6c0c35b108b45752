"""Done means: every CLI command the demo world runs, on a user's CSV/JSONL files (real small models:
the packaged SmolLM2 rewriter and general filter, MiniLM cross-encoder and bi-encoder, FAISS, DuckDB)."""

import json

import pytest

from tailsynth.cli import main
from tailsynth.store import Store, reads

from .user_files import write_files

pytestmark = pytest.mark.integration


def _user_data(world, n_products: int = 200):
    """A slice of the small world, rewritten as the files a search team has: the catalog, head
    judgements (click logs and business labels), long-tail queries (one type left blank) and qrels."""
    train_q = world.query_rows("train", limit=1)
    test_q = world.query_rows("test", limit=1)
    keep: dict[str, None] = {}
    for q in test_q + train_q:
        for pid in sorted(world.relevant_ids(q["query_id"]))[:20]:
            keep.setdefault(pid)
    for pid in world.products.column("product_id").to_pylist():
        if len(keep) >= n_products:
            break
        keep.setdefault(pid)
    products = [{"product_id": r["product_id"], "title": r["title"], "attributes": r["attributes"]}
                for r in world.products.to_pylist() if r["product_id"] in keep]
    clicks: dict[tuple[str, str], int] = {}
    for r in world.head_pairs.to_pylist():
        if r["product_id"] in keep:
            clicks[r["query"], r["product_id"]] = clicks.get((r["query"], r["product_id"]), 0) + 1
    head = [{"query": q, "product_id": p, "clicks": n} for (q, p), n in list(clicks.items())[:80]]
    labels = [{"query": r["query"], "product_id": r["product_id"], "label": int(r["label"])}
              for r in world.relevance_labels.to_pylist() if r["split"] == "train" and r["product_id"] in keep][:64]
    train = [{"query_id": q["query_id"], "text": q["text"]} for q in train_q]
    test = [{"query_id": q["query_id"], "text": q["text"], "qtype": "" if i == 0 else q["qtype"]} for i, q in enumerate(test_q)]
    qrels = [{"query_id": q["query_id"], "product_id": p, "grade": 1}
             for q in test_q for p in sorted(world.relevant_ids(q["query_id"])) if p in keep]
    return products, head, labels, train, test, qrels


@pytest.mark.timeout(900)
def test_every_command_runs_on_the_users_files(small_world, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # default output dirs (table1 retrievers, reports) land here
    toml = write_files(tmp_path, *_user_data(small_world),
                       extra_toml="\n[business]\nepochs = 1\nbatch_size = 16\nmax_length = 32\neval_fraction = 0.25\n")
    data = ["--data", str(toml), "--store", str(tmp_path / "store.duckdb")]
    small = ["--k", "2", "--top-k", "10", "--max-general", "3", "--business-threshold", "0.05", "--general-threshold", "0.05"]
    retr = ["--steps", "2", "--batch-size", "8"]

    assert main(["train", "relevance", "--data", str(toml)]) == 0
    assert (tmp_path / "work").is_dir() and any(p.name.startswith("business-") for p in (tmp_path / "work").iterdir())

    assert main(["synthesize", *data, *small, "--split", "train"]) == 0
    with Store(tmp_path / "store.duckdb", read_only=True) as store:
        run_id = reads.latest_synthesis_run(store)
        funnel = reads.funnel(store, run_id)
        products = {r[0] for r in store.fetch("SELECT DISTINCT product_id FROM candidates WHERE run_id = ?", [run_id])}
    assert funnel["queries"] == 4 and funnel["candidates"] >= 10 and funnel["pairs_kept"] > 0
    catalog_ids = {line.split(",", 1)[0] for line in (tmp_path / "data" / "catalog.csv").read_text().splitlines()[1:]}
    assert products <= catalog_ids  # retrieval ran over the user's catalog, not the demo world's

    assert main(["inspect", "funnel", "--store", str(tmp_path / "store.duckdb")]) == 0

    assert main(["export", *data, "--out", str(tmp_path / "exports")]) == 0
    pairs = [json.loads(line) for line in (tmp_path / "exports" / "st_pairs.jsonl").read_text().splitlines()]
    assert len(pairs) == funnel["pairs_kept"]

    assert main(["train", "retriever", *data, *retr, "--out", str(tmp_path / "synthetic")]) == 0
    assert main(["train", "retriever", *data, *retr, "--recipe", "baseline", "--out", str(tmp_path / "baseline")]) == 0
    assert main(["eval", "retrieval", *data, "--model", str(tmp_path / "synthetic" / "model")]) == 0
    with Store(tmp_path / "store.duckdb", read_only=True) as store:
        recall = store.fetch("SELECT qtype, value FROM eval_results WHERE suite = 'retrieval' AND metric = 'recall@200'")
    assert dict(recall)["all"] > 0  # judged by the user's qrels: the full relevant set is known
    assert main(["eval", "sbs", *data, "--new", str(tmp_path / "synthetic" / "model"),
                 "--base", str(tmp_path / "baseline" / "model")]) == 0
    assert main(["eval", "table1", *data, *retr, "--run-id", run_id]) == 0
    assert main(["eval", "pairs", *data, *small, "--per-type", "1", "--out", str(tmp_path / "reports")]) == 0
    with Store(tmp_path / "store.duckdb", read_only=True) as store:
        suites = {r[0] for r in store.fetch("SELECT DISTINCT suite FROM eval_results")}
    assert {"retrieval", "sbs", "table1", "table2"} <= suites

    capsys.readouterr()
    assert main(["train", "rewriter-sft", "--data", str(toml), "--steps", "1"]) == 2  # files have no rewrite examples
    assert "annotated rewrite examples" in capsys.readouterr().out
