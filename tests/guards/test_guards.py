"""Guard rails over real synthesis runs (the program on the tiny fakes, a DuckDB file store) and the audit."""

from __future__ import annotations

import csv
import json

import pytest

from tailsynth.guards import (GuardConfig, GuardError, GuardWarning, automatic_audit, check_run, enforce, export_audit_sample,
                              import_audit_labels, precision_by_type)
from tailsynth.guards.audit import proportion_interval, wilson_interval
from tailsynth.guards.checks import findings_markdown
from tailsynth.io.loaders import DataFileError
from tailsynth.store import Store

from ..programs.test_synthesis import QUERIES, make_program

SMALL = GuardConfig(min_scored=3)  # the fake run scores 5-7 items per stage
TRUTH = {("a", "p1"), ("a", "p2"), ("b", "p3"), ("c", "p7")}


def _run(tmp_path, name, **config):
    store = Store(tmp_path / f"{name}.duckdb")
    # The fixture's shares were laid out before the negation rule existed; it would take the oil based
    # paint of "paint not oil based" out of the business scores these checks read.
    make_program(tmp_path / name, negation_filter=False, **config).run(QUERIES, store, run_id=name, progress=False)
    return store


@pytest.fixture
def keeps_everything(tmp_path):
    return _run(tmp_path, "all", general_threshold=0.0, rewrite_drop_threshold=1.0)


@pytest.fixture
def healthy(tmp_path):
    return _run(tmp_path, "ok", general_threshold=0.7)


def _fired(findings):
    return {f.check for f in findings if f.fired}


def test_guards_fire_on_a_run_whose_filters_keep_everything(keeps_everything):
    findings = check_run(keeps_everything, "all", SMALL)
    assert _fired(findings) == {"rewrite_filter_keeps_all", "general_filter_keeps_all"}
    by = {f.check: f for f in findings}
    assert by["general_filter_keeps_all"].value == 1.0 and by["general_filter_keeps_all"].n == 5
    assert by["rewrite_filter_keeps_all"].value == 1.0 and by["rewrite_filter_keeps_all"].n == 7
    with pytest.raises(GuardError, match="general filter kept 100.0% of 5"):
        enforce(findings, GuardConfig(min_scored=3, action="stop"))
    with pytest.warns(GuardWarning) as caught:
        assert len(enforce(findings, SMALL)) == 2
    assert sorted(str(w.message).split(":")[1].strip() for w in caught) == ["general_filter_keeps_all",
                                                                            "rewrite_filter_keeps_all"]
    assert "| general_filter_keeps_all | 100.0% | 90% | 5 | FIRED |" in findings_markdown(findings)


def test_guards_stay_quiet_on_a_healthy_run(healthy):
    findings = check_run(healthy, "ok", SMALL)
    assert _fired(findings) == set()
    by = {f.check: f for f in findings}
    assert by["general_filter_keeps_all"].value == pytest.approx(2 / 5)  # p_yes 0.58, 0.58, 0.65 < 0.7 <= 0.73, 0.88
    assert by["business_at_threshold"].value == pytest.approx(2 / 5)  # 0.333, 0.333 in [0.3, 0.35)
    assert enforce(findings, GuardConfig(min_scored=3, action="stop")) == []


def test_business_scores_at_the_threshold_fire(healthy):
    # Passing scores 0.333, 0.333, 0.4, 0.5, 0.75: within 0.15 of the 0.3 threshold are three of five.
    findings = check_run(healthy, "ok", GuardConfig(min_scored=3, business_margin=0.15))
    assert _fired(findings) == {"business_at_threshold"}
    assert {f.check: f for f in findings}["business_at_threshold"].value == pytest.approx(3 / 5)
    # The threshold can be given instead of read from the run's config.
    assert {f.check: f.n for f in check_run(healthy, "ok", SMALL, business_threshold=0.45)}["business_at_threshold"] == 2


def test_most_rewrites_dropped_fires(tmp_path):
    # Every rewrite dropped: retrieval runs on the original query alone (include_original).
    store = _run(tmp_path, "drop", rewrite_drop_threshold=0.0, general_threshold=0.7)
    findings = check_run(store, "drop", SMALL)
    assert _fired(findings) == {"rewrites_mostly_dropped"}
    assert {f.check: f for f in findings}["rewrites_mostly_dropped"].value == 1.0


def test_default_min_scored_leaves_a_tiny_run_unjudged(keeps_everything):
    findings = check_run(keeps_everything, "all")
    assert not any(f.judged or f.fired for f in findings)
    assert "| general_filter_keeps_all | 100.0% | 90% | 5 | not judged |" in findings_markdown(findings)


def test_unknown_or_unfinished_runs_are_refused(keeps_everything):
    with pytest.raises(ValueError, match="no run"):
        check_run(keeps_everything, "missing")
    keeps_everything.con.execute("UPDATE runs SET finished_at = NULL WHERE run_id = ?", ["all"])
    with pytest.raises(ValueError, match="not finished"):
        check_run(keeps_everything, "all")


# ------------------------------------------------------------------------------------ audit
def test_interval_values():
    low, high = proportion_interval(8, 10)
    assert (round(low, 4), round(high, 4)) == (0.4902, 0.9433)  # Wilson 95 %, Brown-Cai-DasGupta table
    for k, n in ((0, 5), (5, 5), (3, 40), (37, 40), (1, 1)):
        assert wilson_interval(k, n) == pytest.approx(proportion_interval(k, n), abs=1e-9)
    assert proportion_interval(0, 5)[0] == 0.0 and proportion_interval(5, 5)[1] == pytest.approx(1.0)


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_audit_export_import_round_trip(keeps_everything, tmp_path, suffix):
    path = tmp_path / f"audit{suffix}"
    rows = export_audit_sample(keeps_everything, "all", path, n=10, seed=3, product_text=lambda pid: f"text of {pid}")
    kept = keeps_everything.fetch("SELECT query_id, product_id FROM pairs WHERE run_id = ? AND kept", ["all"])
    assert {(r.query_id, r.product_id) for r in rows} == set(kept)  # n above the pool: every kept pair
    assert all(r.product_text == f"text of {r.product_id}" for r in rows)
    # The reviewer fills the label column; one row stays blank (not reviewed).
    if suffix == ".csv":
        with path.open(encoding="utf-8") as f:
            sheet = list(csv.DictReader(f))
        assert {r["label"] for r in sheet} == {""}
        for i, r in enumerate(sheet):
            r["label"] = "" if i == 0 else ("yes" if (r["query_id"], r["product_id"]) in TRUTH else "no")
        with path.open("w", newline="", encoding="utf-8") as f:
            w = csv.DictWriter(f, list(sheet[0]))
            w.writeheader()
            w.writerows(sheet)
    else:
        sheet = [json.loads(line) for line in path.read_text().splitlines()]
        assert {r["label"] for r in sheet} == {None}
        for i, r in enumerate(sheet):
            r["label"] = None if i == 0 else int((r["query_id"], r["product_id"]) in TRUTH)
        path.write_text("".join(json.dumps(r) + "\n" for r in sheet))
    back = import_audit_labels(path)
    assert [(r.query_id, r.product_id, r.qtype, r.type_kept) for r in back] == \
           [(r.query_id, r.product_id, r.qtype, r.type_kept) for r in rows]
    assert back[0].label is None
    report = precision_by_type(back)
    expected = {}
    for r in back[1:]:
        expected.setdefault(r.qtype, []).append(int((r.query_id, r.product_id) in TRUTH))
    for qtype, labels in expected.items():
        assert report[qtype].labelled == len(labels) and report[qtype].precision == sum(labels) / len(labels)
        assert (report[qtype].low, report[qtype].high) == proportion_interval(sum(labels), len(labels))


def test_audit_sample_is_stratified_and_seeded(keeps_everything, tmp_path):
    rows = export_audit_sample(keeps_everything, "all", tmp_path / "a.csv", n=3, seed=0)
    assert sorted(r.qtype for r in rows) == ["alternative", "knowledge", "negative"]
    again = export_audit_sample(keeps_everything, "all", tmp_path / "b.csv", n=3, seed=0)
    assert rows == again
    seeds = {tuple((r.query_id, r.product_id) for r in export_audit_sample(keeps_everything, "all", tmp_path / "c.csv",
                                                                           n=3, seed=s)) for s in range(8)}
    assert len(seeds) > 1


def test_automatic_audit_with_a_judge(keeps_everything):
    calls = []

    def judge(query_id, product_ids):
        calls.append(query_id)
        return [(query_id, p) in TRUTH for p in product_ids]

    report, rows = automatic_audit(keeps_everything, "all", judge)
    kept = keeps_everything.fetch(
        "SELECT q.qtype, p.query_id, p.product_id FROM pairs p JOIN queries q USING (run_id, query_id) "
        "WHERE p.run_id = ? AND p.kept", ["all"])
    per_type = {}
    for qtype, qid, pid in kept:
        per_type.setdefault(qtype, []).append((qid, pid) in TRUTH)
    for qtype, labels in per_type.items():
        assert report[qtype].precision == sum(labels) / len(labels) and report[qtype].kept == len(labels)
    weights = {t: len(v) / len(kept) for t, v in per_type.items()}
    assert report["all"].precision == pytest.approx(sum(weights[t] * report[t].precision for t in per_type))
    assert report["all"].low <= report["all"].precision <= report["all"].high
    assert sorted(set(calls)) == sorted({qid for _, qid, _ in kept})
    with pytest.raises(ValueError, match="verdicts"):
        automatic_audit(keeps_everything, "all", lambda q, ps: [])


def test_bad_labels_name_the_row(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("run_id,query_id,qtype,query,product_id,label\nr,a,qa,x,p1,yes\nr,a,qa,x,p2,maybe\n")
    with pytest.raises(DataFileError, match="row 2: column 'label'"):
        import_audit_labels(path)


def test_automatic_audit_of_a_shifted_run_with_its_train_truth(tmp_path):
    # The transfer test's pair-precision audit: kept pairs of the shifted world's train queries,
    # judged by the truth file written next to the user files (not part of them).
    from tailsynth.io.loaders import load_qrels, load_queries, qrels_judge
    from tailsynth.world.shift import ShiftConfig, generate_shifted, write_shifted_files

    config = ShiftConfig(n_products=1500, head_queries=50, train_queries_per_type=3, test_queries_per_type=1)
    files = write_shifted_files(tmp_path / "data", config)
    world = generate_shifted(config)
    train = load_queries(files["train_queries"])
    store = Store(tmp_path / "s.duckdb")
    store.start_run("shift", "synthesis", {"business_threshold": 0.5}, {})
    qtype = {q["query_id"]: q["qtype"] for q in world.queries}
    store.insert("queries", [("shift", q["query_id"], q["text"], qtype[q["query_id"]]) for q in train])
    rows = []
    for q in train:  # one relevant and one irrelevant kept pair per query
        rel = sorted(world.qrels[q["query_id"]])[0]
        other = next(p["product_id"] for p in world.products if p["product_id"] not in world.qrels[q["query_id"]])
        rows += [("shift", q["query_id"], pid, 1, 1, 0.9, 0.9, True) for pid in (rel, other)]
    store.insert("pairs", rows)
    store.finish_run("shift")
    report, _ = automatic_audit(store, "shift", qrels_judge(load_qrels(files["train_truth"])))
    assert {t: (p.labelled, p.relevant) for t, p in report.items() if t != "all"} == {
        t: (6, 3) for t in ("alternative", "knowledge", "negative", "qa")}
    assert report["all"].precision == pytest.approx(0.5)
