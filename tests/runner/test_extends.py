"""A run config that ``extends`` another holds only what differs: tables merge key by key, any
other value replaces, and the GPU profile is the paper run with bigger budgets."""

from pathlib import Path

import pytest

from tailsynth.runner import pipeline
from tailsynth.runner.config import load_run_config, read_toml

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_tables_merge_key_by_key_and_other_values_replace(tmp_path):
    (tmp_path / "base.toml").write_text('name = "base"\n[sft]\nsteps = 10\nlr = 1e-4\n[synthesis]\nnegation_synonyms = [["a", "b"]]\n')
    (tmp_path / "mid.toml").write_text('extends = "base.toml"\n[sft]\nsteps = 20\n')
    (tmp_path / "top.toml").write_text('extends = "mid.toml"\nname = "top"\n[synthesis]\nnegation_synonyms = [["c", "d"]]\n')
    assert read_toml(tmp_path / "top.toml") == {"name": "top", "sft": {"steps": 20, "lr": 1e-4},
                                                 "synthesis": {"negation_synonyms": [["c", "d"]]}}


def test_a_base_elsewhere_or_a_circle_is_refused(tmp_path):
    (tmp_path / "a.toml").write_text('extends = "b.toml"\n')
    (tmp_path / "b.toml").write_text('extends = "a.toml"\n')
    with pytest.raises(ValueError, match="circle"):
        read_toml(tmp_path / "a.toml")
    (tmp_path / "c.toml").write_text('extends = "../elsewhere/base.toml"\n')
    with pytest.raises(ValueError, match="same directory"):
        read_toml(tmp_path / "c.toml")
    (tmp_path / "d.toml").write_text('extends = "missing.toml"\n')
    with pytest.raises(FileNotFoundError, match="missing.toml"):
        read_toml(tmp_path / "d.toml")


def test_the_gpu_profile_is_the_paper_run_with_bigger_budgets():
    paper, gpu = load_run_config(EXAMPLES / "paper.toml"), load_run_config(EXAMPLES / "paper_gpu.toml")
    assert gpu.name == "paper-gpu" and gpu.source.endswith("paper_gpu.toml")
    assert gpu.sft.steps > paper.sft.steps and gpu.retriever.steps > paper.retriever.steps
    assert gpu.demo.train_queries_per_type > paper.demo.train_queries_per_type
    # what it does not set is the paper run's: the chain, the prompts, the calibration's target
    assert (gpu.chain.source, gpu.chain.rl_without_pda) == (paper.chain.source, paper.chain.rl_without_pda)
    assert gpu.synthesis.rewrite_demo_selection == paper.synthesis.rewrite_demo_selection == "nearest"
    assert gpu.calibration.target_precision == paper.calibration.target_precision
    assert gpu.general_filter.pair_input == paper.general_filter.pair_input == "rewrite"
    assert gpu.data.catalog.id_col == paper.data.catalog.id_col
    # its own caches: no stage of one run is mistaken for the other's
    assert Path(gpu.output.work_dir).name == "work" and "paper_gpu" in gpu.output.work_dir
    assert "paper_gpu" in gpu.data.catalog.path and "paper_gpu" in gpu.demo.dir
    assert pipeline.stage_keys(gpu).chain["sft"].key != pipeline.stage_keys(paper).chain["sft"].key
