"""Models that travel: ``[models] from_run`` gives a run another run's trained chain, at that
run's operating points, and refuses while that chain is not trained."""

import json
from pathlib import Path

import pytest

from tailsynth.runner import chain as chain_mod
from tailsynth.runner import pipeline
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
