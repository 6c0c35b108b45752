"""The whole chain on a tiny demo slice, through files, interrupted between stages and resumed."""

import json
import tomllib
from pathlib import Path

import pytest

from tailsynth.runner import pipeline, plan, read_markers, run, run_config_from_dict

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "demo_run.toml"


def _tiny_config(tmp_path):
    data = tomllib.loads(EXAMPLE.read_text())
    data["demo"].update(dir=str(tmp_path / "data"), products=150, train_queries_per_type=1,
                        test_queries_per_type=1, baseline_pairs=120, business_labels=48)
    for section in data["data"].values():
        section["path"] = str(tmp_path / "data" / Path(section["path"]).name)
    data["business"].update(batch_size=16, max_length=32, eval_fraction=0.25)
    data["synthesis"].update(k=2, top_k=10, max_general_per_query=3, rewrite_max_tokens=32)
    data["synthesis"].pop("business_threshold")  # the business model's held-out recall=0.95 point sets it
    data["chain"] = {**data.get("chain", {}), "business_operating_point": "recall=0.95"}
    data["eval"].update(k=10, sbs_top=3)
    data["sft"] = {"steps": 2}  # the files have no annotated rewrites: SFT falls back (said in one line)
    data["output"] = {"store": str(tmp_path / "store.duckdb"), "report_dir": str(tmp_path / "report"),
                      "work_dir": str(tmp_path / "work")}
    return run_config_from_dict(data, EXAMPLE.parent)


@pytest.mark.timeout(600)
def test_run_interrupted_after_synthesis_resumes_and_reports(tmp_path, monkeypatch):
    config = _tiny_config(tmp_path)
    dry = run(config, dry_run=True)
    assert dry.plan.ok and [s[:2] for s in dry.plan.stages] == [
        ("business", "to run"), ("sft", "fallback"), ("synthesis", "to run"), ("retrievers", "to run"),
        ("evaluate", "to run")]
    assert not (tmp_path / "store.duckdb").exists()

    def crash(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setitem(pipeline.STAGE_FUNCS, "retrievers", crash)
    with pytest.raises(KeyboardInterrupt):
        run(config, progress=False)
    assert set(read_markers(config)) == {"business", "synthesis"}
    assert [s[1] for s in plan(config).stages] == ["done", "fallback", "done", "to run", "to run"]
    monkeypatch.undo()

    report = run(config, progress=False)
    assert {s: v["state"] for s, v in report.stages.items()} == {
        "business": "skipped", "sft": "fallback", "synthesis": "skipped", "retrievers": "ran", "evaluate": "ran"}
    assert set(report.table1) == {"bm25", "untrained", "baseline", "baseline+synthetic"}
    assert set(report.table1["bm25"]) >= {"qa", "knowledge", "alternative", "negative", "all"}
    assert report.stages["evaluate"]["classified_qtypes"] == 1  # the blank type in test_queries.csv
    assert "all" in report.sbs
    md = report.markdown.read_text()
    assert "| BM25 | Untrained encoder | Baseline | Baseline + synthetic |" in md and "GSB" in md
    assert (tmp_path / "report" / "table1.png").stat().st_size > 0
    assert set(read_markers(config)) == {"business", "synthesis", "retrievers", "evaluate"}
    assert "sft: fallback: rewriter: no teacher rewrites" in md  # the fallback, in one line
    assert "## Guard rails" in md and "audit_sample.csv" in md  # no judge for the training queries: a review sheet
    assert (tmp_path / "report" / "audit_sample.csv").exists()
    assert "Table 3" in md and "Not computed" in md
    business = json.loads((pipeline.business_dir(config, pipeline.stage_keys(config).business)
                           / "business_relevance.json").read_text())
    point = business["metrics"]["operating_points"]["recall=0.95"]
    assert point["recall"] >= 0.95
    assert report.details["synthesis_config"]["business_threshold"] == pytest.approx(point["threshold"])
    assert "Operating points on held-out rows: recall=0.95: threshold" in md

    again = run(config, progress=False)  # everything done: only the report is rebuilt from the store
    assert all(v["state"] in ("skipped", "fallback") for v in again.stages.values())
    for system, rows in report.table1.items():
        assert again.table1[system]["all"]["item_goodrate"] == pytest.approx(rows["all"]["item_goodrate"])
