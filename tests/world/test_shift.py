"""The shifted world: titles only, graded noisy judgements, unseen phrasings, other brands, loadable files."""

from __future__ import annotations

import csv
import json
import random
import re
from collections import Counter
from pathlib import Path

import pytest

from tailsynth.io.loaders import load_catalog, load_qrels, load_queries
from tailsynth.runner.config import load_run_config
from tailsynth.world import lexicon as L
from tailsynth.world.catalog import clean_phrases
from tailsynth.world.knowledge import KNOWLEDGE_BASE
from tailsynth.world.queries import _NEGATABLE, STANDARD, _neg_forms
from tailsynth.world.shift import SHIFTED, ShiftConfig, generate_shifted, rate, write_shifted_files

SMALL = ShiftConfig(n_products=3000, head_queries=600, train_queries_per_type=20, test_queries_per_type=20)
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "shifted_run.toml"


@pytest.fixture(scope="module")
def world():
    return generate_shifted(SMALL)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    return write_shifted_files(tmp_path_factory.mktemp("shifted") / "data", SMALL)


def _alt(words) -> str:
    return "(?:" + "|".join(re.escape(w.lower()) for w in sorted(set(words), key=len, reverse=True)) + ")"


def _standard_patterns() -> dict[str, list[re.Pattern]]:
    """Each standard template as a regex whose slots accept any value the generator could put there
    (every need, symptom, type synonym with an optional attribute phrase, brand of either set,
    negated feature), so a match means "a standard template could have written this text"."""
    from tailsynth.world.shift import shifted_brands

    syn = [s for t in L.TYPES for s in t.synonyms]
    phrases = [p for t in L.TYPES for a, vs in t.attrs.items() for v in vs for p in clean_phrases(a, v)]
    brands = list(L.BRAND_TIER) + [b for tiers in shifted_brands(SMALL).values() for bs in tiers.values() for b in bs]
    feats = [f for t in L.TYPES for a in list(_NEGATABLE) + ["scent"] if a in t.attrs for v in t.attrs[a]
             for f in sum(_neg_forms(a, v), [])]
    slots = {"n": _alt(n for k in KNOWLEDGE_BASE for n in k["needs"]), "s": _alt(s for k in KNOWLEDGE_BASE for s in k["symptoms"]),
             "t": f"(?:{_alt(phrases)} )?{_alt(syn)}", "b": _alt(brands), "f": _alt(feats)}

    def compile_(tpl: str) -> re.Pattern:
        parts = re.split(r"\{(\w)\}", tpl.lower())
        body = "".join(re.escape(p) if i % 2 == 0 else slots[p] for i, p in enumerate(parts))
        return re.compile(body)

    groups = {"qa": STANDARD.qa + STANDARD.qa_symptom, "knowledge": STANDARD.knowledge + STANDARD.knowledge_symptom,
              "alternative": STANDARD.alternative, "negative": STANDARD.negative_pre + STANDARD.negative_post}
    return {qt: [compile_(t) for t in tpls] for qt, tpls in groups.items()}


def _written_by_standard(patterns, qtype: str, text: str) -> bool:
    text = " ".join(text.lower().split())
    return any(p.fullmatch(text) for p in patterns[qtype])


def test_no_shifted_query_could_come_from_a_standard_template(world, small_world):
    patterns = _standard_patterns()
    # The check has power: the standard world's own queries are all matched.
    standard = small_world.query_rows("test", limit=15)
    assert all(_written_by_standard(patterns, q["qtype"], q["text"]) for q in standard)
    hits = [q["text"] for q in world.queries if _written_by_standard(patterns, q["qtype"], q["text"])]
    assert hits == []
    assert not {q["text"] for q in world.queries} & set(small_world.queries.column("text").to_pylist())
    assert not set(sum(vars(SHIFTED).values(), ())) & set(sum(vars(STANDARD).values(), ()))


def test_brands_differ_from_the_standard_world(world):
    used = {p["brand"] for p in world.products}
    assert len(used) > 50 and not used & set(L.BRAND_TIER)
    # Alternative queries name the shifted premium brands, and their truth excludes that brand.
    alt = [q for q in world.queries if q["qtype"] == "alternative"]
    premium = {b for tiers in world.brands.values() for b in tiers["premium"]}
    assert alt and all(any(b in q["text"] for b in premium) for q in alt)
    for q in alt:
        excluded = json.loads(q["spec"])["excluded_brand"]
        brands = {p["brand"] for p in world.products if p["product_id"] in world.qrels[q["query_id"]]}
        assert excluded in premium and excluded not in brands


def test_catalog_is_titles_only(files, world):
    with files["catalog"].open(encoding="utf-8") as f:
        reader = csv.DictReader(f)
        rows = list(reader)
    assert reader.fieldnames == ["product_id", "title"]
    catalog = load_catalog(files["catalog"], id_col="product_id")
    by_id = {p["product_id"]: p for p in world.products}
    assert len(catalog) == SMALL.n_products
    for pid, text in list(zip(catalog.ids, catalog.texts))[:200]:
        assert text == by_id[pid]["title"].rstrip(". ")
        assert by_id[pid]["description"] not in text
    assert len(rows) == SMALL.n_products


def test_head_judgements_are_means_of_noisy_raters(world):
    rows = world.head_judgements
    assert {len(r["ratings"]) for r in rows} == {SMALL.raters}
    assert all(r["grade"] == round(sum(r["ratings"]) / SMALL.raters, 2) for r in rows)
    assert set(Counter(r["true_grade"] for r in rows)) == {1, 2, 3}
    assert {r["grade"] for r in rows} <= {round(k / 3, 2) for k in range(3, 10)}
    # The documented noise: a rater departs from the true grade with probability rater_noise.
    ratings = [(g, r["true_grade"]) for r in rows for g in r["ratings"]]
    off = sum(g != t for g, t in ratings) / len(ratings)
    assert abs(off - SMALL.rater_noise) < 0.03
    # ... so the mean is noisy: some true 3s fall below the 2.67 positive line, some 2s reach it.
    assert any(r["true_grade"] == 3 and r["grade"] < 2.67 for r in rows)
    assert any(r["true_grade"] == 2 and r["grade"] >= 2.67 for r in rows)


def test_rate_without_noise_is_the_truth_and_with_noise_never_repeats_it_when_certain():
    rng = random.Random(0)
    assert rate(rng, 2, 5, 0.0) == [2] * 5
    assert all(g != 2 for g in rate(rng, 2, 50, 1.0))


def test_files_load_through_the_loaders_and_the_example_config(files, world, tmp_path):
    train = load_queries(files["train_queries"])
    test = load_queries(files["test_queries"])
    assert all(q["qtype"] is None for q in train) and {q["qtype"] for q in test} == set(SMALL_TYPES)
    assert len(test) == 4 * SMALL.test_queries_per_type
    qrels = load_qrels(files["qrels"])
    assert set(qrels) == {q["query_id"] for q in test}
    assert all(set(qrels[q]) == world.qrels[q] for q in qrels)
    truth = load_qrels(files["train_truth"])
    assert set(truth) == {q["query_id"] for q in train}
    # The example run config reads the same files through the runner's validation.
    from tailsynth.runner.validate import check_data

    text = EXAMPLE.read_text().replace("../.cache/tailsynth/shifted_run/data", str(files["catalog"].parent))
    (tmp_path / "run.toml").write_text(text)
    data, problems = check_data(load_run_config(tmp_path / "run.toml"))
    assert problems == []
    positives = sum(r["grade"] >= 2.67 for r in world.head_judgements)
    assert data.counts["baseline_pairs"] == positives and data.counts["business_positives"] == positives
    assert data.counts["business_labels"] == len(world.head_judgements)


def test_write_is_deterministic_and_skips_when_present(files):
    before = {role: p.read_bytes() for role, p in files.items()}
    again = write_shifted_files(files["catalog"].parent, SMALL)
    assert {role: p.read_bytes() for role, p in again.items()} == before


SMALL_TYPES = ("qa", "knowledge", "alternative", "negative")


def test_command_line_writes_the_files(tmp_path, capsys):
    from tailsynth.world.shift import main

    files = main(["--out", str(tmp_path / "d"), "--n-products", "1500", "--head-queries", "40", "--seed", "11",
                  "--train-queries-per-type", "2", "--test-queries-per-type", "2", "--rater-noise", "0.1"])
    assert all(p.exists() for p in files.values())
    assert "catalog: " in capsys.readouterr().out
    manifest = json.loads((tmp_path / "d" / "manifest.json").read_text())
    assert (manifest["seed"], manifest["n_products"], manifest["rater_noise"]) == (11, 1500, 0.1)
    assert len(load_queries(files["test_queries"])) == 8
