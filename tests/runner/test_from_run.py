"""Models that travel: ``[models] from_run`` gives a run another run's trained chain, at that
run's operating points, and refuses while that chain is not trained."""

import json
from types import SimpleNamespace
from pathlib import Path

import pytest

from tailsynth.runner import chain as chain_mod
from tailsynth.runner import calibrate, pipeline
from tailsynth.calibration import Calibration
from tailsynth.runner.config import load_run_config

FILES = {"catalog": ("catalog.csv", 'id_col = "product_id"\ntitle_col = "title"'),
         "train_queries": ("train_queries.jsonl", ""), "test_queries": ("test_queries.csv", ""),
         "baseline_pairs": ("baseline_pairs.parquet", 'query_col = "query"\nproduct_col = "product_id"'),
         "business_labels": ("business_labels.jsonl", 'label_col = "label"')}


def _toml(tmp_path: Path, name: str, extra: str) -> Path:
    data = "\n".join(f'[data.{k}]\npath = "{tmp_path / name / "data" / f}"\n{cols}' for k, (f, cols) in FILES.items())
    path = tmp_path / f"{name}.toml"
    path.write_text(f'name = "{name}"\n{extra}\n{data}\n[output]\nwork_dir = "{tmp_path / name / "work"}"\n'
                    f'store = "{tmp_path / name / "store.duckdb"}"\n')
    return path


TEACHER = """
[demo]
dir = "{dir}"
[chain]
source = "demo"
general_operating_point = "precision=0.95"
[sft]
steps = 2
[rewrite_filter]
steps = 2
[general_filter]
train_examples = 64
"""


def _finish(component, info: dict | None = None) -> None:
    path = Path(component.path)
    path.mkdir(parents=True)
    name = chain_mod.DONE_FILE[component.stage]
    (path / name).write_text(json.dumps(info or {"steps": 2}))


def test_from_run_gives_the_trained_rewriter_and_filters_at_that_runs_operating_point(tmp_path):
    teacher_toml = _toml(tmp_path, "teacher", TEACHER.format(dir=tmp_path / "teacher" / "data"))
    user_toml = _toml(tmp_path, "user", f'[models]\nfrom_run = "{teacher_toml}"\n[chain]\ngeneral_operating_point = "recall=0.95"')
    user = load_run_config(user_toml)
    with pytest.raises(chain_mod.ChainError, match="not trained yet.*sft"):
        chain_mod.resolve(user)

    theirs = chain_mod.resolve(load_run_config(teacher_toml))
    _finish(theirs["sft"])
    _finish(theirs["rewrite_filter"], {"task": "rewrite", "filter_threshold": 0.7,
                                       "dev": {"operating_points": {"recall=0.95": {"threshold": 0.2}}}})
    _finish(theirs["general_filter"], {"task": "general", "filter_threshold": 0.5,
                                       "dev": {"operating_points": {"precision=0.95": {"threshold": 0.81},
                                                                    "recall=0.95": {"threshold": 0.1}}}})
    ours = chain_mod.resolve(user)
    assert {s: c.mode for s, c in ours.items()} == {"sft": "given", "qsr": "off", "pda": "off", "rl": "off",
                                                  "rl_nopda": "off", "rewrite_filter": "given", "general_filter": "given"}
    assert ours["sft"].path == theirs["sft"].path and ours["sft"].from_run == str(teacher_toml.resolve())
    fields = chain_mod.synthesis_models(user, ours)
    assert fields["rewriter"].model == theirs["sft"].path
    assert fields["relevance_lm"].model == theirs["general_filter"].path
    assert fields["general_threshold"] == pytest.approx(0.81)  # the teacher run's point, not this run's
    assert fields["rewrite_drop_threshold"] == pytest.approx(0.7)  # its stored default (no point chosen there)
    # the chain's stages are skipped as given; synthesis is keyed on the models it runs with
    keys = pipeline.stage_keys(user)
    assert [s for s in pipeline.active_stages(user, keys) if s in chain_mod.MODEL_STAGES] == ["sft", "rewrite_filter", "general_filter"]
    assert keys.table3 is None


CALIBRATED_TEACHER = """
[demo]
dir = "{dir}"
[chain]
source = "demo"
[calibration]
queries_per_type = 2
rewriters = ["chain", "configured"]
[synthesis]
k = 3
rewrite_demo_selection = "nearest"
rewrite_demos = 2
[sft]
steps = 2
[general_filter]
train_examples = 64
"""


def _calibrated_teacher(tmp_path: Path) -> Path:
    toml = _toml(tmp_path, "teacher", CALIBRATED_TEACHER.format(dir=tmp_path / "teacher" / "data"))
    theirs = chain_mod.resolve(load_run_config(toml))
    _finish(theirs["sft"])
    _finish(theirs["general_filter"], {"task": "general", "filter_threshold": 0.5,
                                       "dev": {"operating_points": {"precision=0.9": {"threshold": 0.5}}}})
    return toml


def _write_calibration(teacher_toml: Path, rewriter: str) -> Calibration:
    from tailsynth.keep_rule import KeepRule

    teacher = load_run_config(teacher_toml)
    chosen = Calibration(business_recall=1.0, business_threshold=0.0, general_recall=0.7, general_threshold=0.68,
                         floor=0.6, floor_by_type={"qa": 0.45, "alternative": 0.79}, rule="combined",
                         keep_rule=KeepRule((2.0, 0.5, 3.0), -3.0, 0.1),
                         keep_rule_by_type={"qa": KeepRule((4.0, -0.2, 1.0), -2.5, 0.3)})
    out = calibrate.calibration_dir(teacher, pipeline.stage_keys(teacher).calibration)
    out.mkdir(parents=True, exist_ok=True)
    (out / calibrate.RESULT).write_text(json.dumps({"run_id": "teacher-cal", "queries": 8, "rewriter": rewriter,
                                                    "rewriters": {}, **chosen.to_dict()}))
    return chosen


def test_from_run_applies_the_other_runs_dev_calibration_with_its_own_business_threshold(tmp_path):
    teacher_toml = _calibrated_teacher(tmp_path)
    user = load_run_config(_toml(tmp_path, "user", f'[models]\nfrom_run = "{teacher_toml}"\n'
                                                    '[synthesis]\nbusiness_threshold = 0.25\ntop_k = 7'))
    with pytest.raises(pipeline.RunError, match="calibration has not run yet"):
        pipeline.stage_keys(user)

    teacher = load_run_config(teacher_toml)
    with pytest.raises(ValueError, match="run the calibration first"):
        calibrate.result_of(teacher, pipeline.stage_keys(teacher).calibration)
    chosen = _write_calibration(teacher_toml, "configured")
    assert calibrate.result_of(teacher, pipeline.stage_keys(teacher).calibration)["dev_runs"] == {"chain": "teacher-cal"}
    keys = pipeline.stage_keys(user)
    syn = pipeline.run_synthesis_config(user, keys)
    assert syn.rewriter == load_run_config(teacher_toml).models.rewriter  # the teacher's configured (packaged) one, as its dev run chose
    assert syn.rewriter.model is None
    assert (syn.k, syn.rewrite_demo_selection, syn.rewrite_demos) == (3, "nearest", 2)  # prompted as the teacher prompts it
    assert syn.top_k == 7  # this run's own retrieval setting
    assert syn.relevance_lm.model == chain_mod.resolve(user)["general_filter"].path
    assert syn.general_threshold == pytest.approx(chosen.general_threshold)  # not the filter's stored 0.5
    assert syn.min_retrieval_score == pytest.approx(chosen.floor)
    assert syn.min_retrieval_score_by_type == chosen.floor_by_type
    assert syn.keep_rule == chosen.keep_rule.to_dict()  # the keep rules travel with the operating point
    assert syn.keep_rule_by_type == {"qa": chosen.keep_rule_by_type["qa"].to_dict()}
    assert syn.business_threshold == pytest.approx(0.25)  # the business model is this run's own

    _write_calibration(teacher_toml, "chain")
    assert pipeline.run_synthesis_config(user, keys).rewriter.model == chain_mod.resolve(user)["sft"].path


def test_from_run_refuses_the_settings_that_travel(tmp_path):
    teacher_toml = _calibrated_teacher(tmp_path)
    _write_calibration(teacher_toml, "chain")
    for setting in ("k = 4", 'rewrite_demo_selection = "fixed"', "general_threshold = 0.3",
                    "keep_rule = { weights = { ann_score = 1.0 }, bias = 0.0, threshold = 0.5 }"):
        with pytest.raises(ValueError, match="from_run brings them"):
            load_run_config(_toml(tmp_path, "user", f'[models]\nfrom_run = "{teacher_toml}"\n[synthesis]\n{setting}'))
    user = load_run_config(_toml(tmp_path, "user", f'[models]\nfrom_run = "{teacher_toml}"\n[synthesis]\n'
                                                    'min_retrieval_score = 0.5'))
    assert [p.file for p in pipeline._travel_problems(user)] == ["[synthesis]"]


def test_untyped_training_queries_of_the_files_are_typed_for_the_floors(tmp_path):
    user = load_run_config(_toml(tmp_path, "user", '[eval]\nqtype_method = "rules"'))
    data = SimpleNamespace(train_queries=[{"query_id": "a", "text": "cheaper alternative to a festool sander"},
                                          {"query_id": "b", "text": "how do I stop a faucet from dripping"},
                                          {"query_id": "c", "text": "work gloves that are not leather", "qtype": "qa"}])
    typed = pipeline.train_queries(user, data)
    assert [q["qtype"] for q in typed] == ["alternative", "qa", "qa"]  # a type the files give is kept
    assert "qtype" not in data.train_queries[0]  # the loaded rows are not changed


def test_the_other_runs_config_is_parsed_once_per_version_of_its_file(tmp_path):
    from tailsynth.runner.config import load_from_run

    example = Path(__file__).resolve().parents[2] / "examples" / "demo_run.toml"
    path = tmp_path / "other.toml"
    path.write_text(example.read_text())
    first = load_from_run(path)
    assert load_from_run(str(path)) is first  # the chain, the synthesis models and the rewriter's home share it
    import os

    text = path.read_text().replace('name = "', 'name = "edited-', 1)
    path.write_text(text)
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1_000_000))
    assert load_from_run(path).name.startswith("edited-")  # an edited file is read again
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_from_run(tmp_path / "missing.toml")


def test_the_benchmarks_open_a_finished_calibration_or_are_told_to_run_it(tmp_path):
    toml = _toml(tmp_path, "teacher", CALIBRATED_TEACHER.format(dir=tmp_path / "teacher" / "data"))
    with pytest.raises(SystemExit, match="run the calibration first"):
        calibrate.finished(toml)  # writes the demo files: the keys below are the data's
    _write_calibration(toml, "configured")
    config, data, keys, result = calibrate.finished(toml)
    assert keys == pipeline.stage_keys(load_run_config(toml)) and result["dev_runs"] == {"chain": "teacher-cal"}
    assert config.name == "teacher" and len(data.catalog) > 0 and data.train_queries
