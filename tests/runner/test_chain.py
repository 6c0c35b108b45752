"""The paper's whole chain from one config on a tiny slice of the demo world: every stage trains
on the world with tiny steps, each one's output is what the next one uses, and a rerun skips all."""

import json
import tomllib
from pathlib import Path

import pytest

from tailsynth.runner import chain as chain_mod
from tailsynth.runner import pipeline, run, run_config_from_dict

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "demo_run.toml"

TINY_CHAIN = {
    # recall=0.95: a 64-example filter is noise, and its precision=0.9 point can keep nothing of 3 pairs a query
    "chain": {"source": "demo", "table3_per_type": 1, "audit_pairs": 20, "general_operating_point": "recall=0.95"},
    "sft": {"num_threads": 1, "steps": 2, "batch_size": 2, "max_len": 64, "trainable_layers": 1, "eval_queries": 0, "eval_zero_shot": False,
            "dev_loss_examples": 2, "train_limit": 8, "max_new_tokens": 24, "k": 2},
    "qsr": {"num_threads": 1, "steps": 2, "batch_size": 2, "trainable_layers": 1, "eval_pairs": 4, "eval_baseline": False},
    "pda": {"num_threads": 1, "steps": 2, "batch_size": 2, "max_len": 32, "trainable_layers": 1, "eval_texts": 4},
    "rl": {"num_threads": 1, "steps": 2, "queries_per_step": 1, "samples_per_query": 2, "max_new_tokens": 24, "query_pool": 4,
           "trainable_layers": 1, "save_every": 1, "k": 2},
    "rewrite_filter": {"num_threads": 1, "steps": 2, "batch_size": 2, "trainable_layers": 1, "train_examples": 16, "dev_examples": 8},
    "general_filter": {"train_examples": 64, "dev_examples": 48,
                       "model": {"epochs": 1, "batch_size": 16, "max_length": 32, "eval_fraction": 0.0}},
}


def chain_config(tmp_path, **overrides):
    data = tomllib.loads(EXAMPLE.read_text())
    data["demo"].update(dir=str(tmp_path / "data"), products=150, train_queries_per_type=1,
                        test_queries_per_type=1, baseline_pairs=120, business_labels=48)
    for section in data["data"].values():
        section["path"] = str(tmp_path / "data" / Path(section["path"]).name)
    data["business"].update(batch_size=16, max_length=32, eval_fraction=0.25)
    # the 64-example general filter is noise: it judges 10 a query so the retrievers get a few synthetic rows
    data["synthesis"].update(k=2, top_k=10, max_general_per_query=10, rewrite_max_tokens=32,
                             rewrite_demo_selection="nearest", rewrite_demos=2)
    data["synthesis"].pop("general_threshold")  # the trained general filter's operating point sets it
    data["eval"].update(k=10, sbs_top=3)
    data["retriever"].update(batch_size=4, dev_every=1, dev_queries_per_type=1)  # 2 synthetic rows a batch; a dev point a step
    data["output"] = {"store": str(tmp_path / "store.duckdb"), "report_dir": str(tmp_path / "report"),
                      "work_dir": str(tmp_path / "work")}
    data |= json.loads(json.dumps(TINY_CHAIN)) | overrides
    if "calibration" in overrides:  # it chooses the thresholds
        data["synthesis"].pop("business_threshold", None)
        data["chain"] = {k: v for k, v in data.get("chain", {}).items() if not k.endswith("operating_point")}
    return run_config_from_dict(data, EXAMPLE.parent)


def test_chain_keys_are_chained_and_given_models_skip_their_stage(tmp_path):
    config = chain_config(tmp_path)
    base = chain_mod.resolve(config)
    assert {s: c.mode for s, c in base.items()} == {s: "train" for s in chain_mod.MODEL_STAGES}
    import dataclasses

    more_qsr = dataclasses.replace(config, qsr=dataclasses.replace(config.qsr, steps=3))
    changed = chain_mod.resolve(more_qsr)
    assert changed["sft"].key == base["sft"].key and changed["pda"].key == base["pda"].key
    assert changed["rl"].key != base["rl"].key and changed["rl_nopda"].key != base["rl_nopda"].key
    assert changed["rewrite_filter"].key == base["rewrite_filter"].key
    assert pipeline.stage_keys(more_qsr).synthesis != pipeline.stage_keys(config).synthesis  # the rewriter changed

    given = chain_config(tmp_path, models={"encoder": "", "rewriter": str(tmp_path / "my-rewriter"),
                                           "qsr": str(tmp_path / "my-qsr")})
    resolved = chain_mod.resolve(given)
    assert resolved["sft"].mode == resolved["rl"].mode == resolved["qsr"].mode == "given"
    assert resolved["pda"].mode == "train"


def test_a_source_without_rewrite_examples_falls_back_in_one_line(tmp_path):
    config = chain_config(tmp_path, chain={"source": "data"})
    resolved = chain_mod.resolve(config)
    assert resolved["sft"].mode == "fallback" and "rewriter:" in resolved["sft"].note
    assert resolved["qsr"].mode == "fallback" and "QSR reward model" in resolved["qsr"].note
    assert resolved["rl"].mode == "fallback"
    assert resolved["pda"].mode == "train"  # the catalog feeds the PDA LM
    assert resolved["general_filter"].mode == "fallback"  # no dev split in the files


def test_chain_sections_refuse_what_the_chain_sets(tmp_path):
    with pytest.raises(ValueError, match="set by the chain"):
        chain_config(tmp_path, rl={**TINY_CHAIN["rl"], "policy": "somewhere"})
    data = tomllib.loads(EXAMPLE.read_text())
    data["general_filter"] = {}
    with pytest.raises(ValueError, match="general_operating_point"):
        run_config_from_dict(data, EXAMPLE.parent)


def test_business_operating_point_is_the_one_home_of_the_business_threshold(tmp_path):
    data = tomllib.loads(EXAMPLE.read_text())
    data["chain"] = {"business_operating_point": "recall=0.9"}
    assert "business_threshold" in data["synthesis"]
    with pytest.raises(ValueError, match="business_operating_point"):
        run_config_from_dict(data, EXAMPLE.parent)
    data["synthesis"].pop("business_threshold")
    assert run_config_from_dict(data, EXAMPLE.parent).chain.business_operating_point == "recall=0.9"
    data["chain"] = {"business_operating_point": "recall=90%"}
    with pytest.raises(ValueError, match="operating point"):
        run_config_from_dict(data, EXAMPLE.parent)


@pytest.mark.integration
@pytest.mark.timeout(900)
def test_whole_chain_each_stage_feeds_the_next_and_a_rerun_skips_all(tmp_path):
    # the operating point is chosen on a dev run (plumbing only: the tiny slice has 4 dev queries, so
    # one floor for all, kept down to where the dev pairs are 1 % precise); both rewriters are tried
    # the model stages train side by side in two worker processes ([engine] stage_workers)
    # with the keep rule over the three scores ([calibration] rule = "combined"), which synthesis then applies
    config = chain_config(tmp_path, calibration={"queries_per_type": 1, "target_precision": 0.01, "per_type": False,
                                                 "min_pairs": 5, "rewriters": ["chain", "configured"],
                                                 "rule": "combined"},
                          engine={"stage_workers": 2})
    report = run(config, progress=False)
    keys = pipeline.stage_keys(config)
    expected = ["business", *chain_mod.MODEL_STAGES, "calibration", "synthesis", "retrievers", "evaluate", "table3"]
    assert list(report.stages) == expected
    assert all(v["state"] == "ran" for v in report.stages.values())
    chain = keys.chain
    # RL trained after the three it needs; each worker's train log reached the run's store
    finished = {s: json.loads(pipeline._marker(config, s, keys[s]).read_text())["finished_at"] for s in expected[:9]}
    assert finished["rl"] > max(finished["sft"], finished["qsr"], finished["pda"])
    from tailsynth.store import Store

    with Store(config.output.store, read_only=True) as store:
        logged = dict(store.fetch("SELECT run_id, count(DISTINCT step) FROM train_log GROUP BY run_id"))
    assert logged["rewriter-sft"] == len((Path(chain["sft"].path) / "train_log.jsonl").read_text().splitlines())
    assert logged["qsr"] == len((Path(chain["qsr"].path) / "train_log.jsonl").read_text().splitlines())

    # RL starts from the SFT dir and scores with the trained QSR (and PDA for the w/ PDA run)
    rl_cfg = json.loads((Path(chain["rl"].path) / "metrics.json").read_text())["config"]
    assert rl_cfg["policy"] == chain["sft"].path and rl_cfg["qsr_model"] == chain["qsr"].path
    assert rl_cfg["pda_model"] == chain["pda"].path and rl_cfg["use_pda"]
    nopda = json.loads((Path(chain["rl_nopda"].path) / "metrics.json").read_text())["config"]
    assert nopda["policy"] == chain["sft"].path and not nopda["use_pda"]

    # the synthesis run names the RL rewriter and the trained filters, at the general filter's operating point
    from tailsynth.classifiers.finetune import filter_threshold

    with Store(config.output.store, read_only=True) as store:
        cfg_json, ids_json = store.fetch("SELECT config, model_ids FROM runs WHERE run_id = ?",
                                         [pipeline.synthesis_run_id(config, keys)])[0]
    model_ids, syn = json.loads(ids_json), json.loads(cfg_json)
    from tailsynth.runner import calibrate

    chosen = json.loads((calibrate.calibration_dir(config, keys.calibration) / calibrate.RESULT).read_text())
    assert set(chosen["rewriters"]) == {"chain", "configured"} and chosen["rewriter"] in chosen["rewriters"]
    from tailsynth.config import LMConfig

    assert model_ids["rewriter"] == (chain["rl"].path if chosen["rewriter"] == "chain" else LMConfig().model_id)
    assert model_ids["rewrite_filter"] == chain["rewrite_filter"].path
    assert model_ids["relevance"] == chain["general_filter"].path
    assert (syn["business_threshold"], syn["general_threshold"], syn["min_retrieval_score"]) == pytest.approx(
        (chosen["business_threshold"], chosen["general_threshold"], chosen["floor"]))
    assert chosen["rule"] == "combined" and chosen["keep_rule"]  # the synthesis run applies the rule chosen on dev
    assert (syn["keep_rule"], syn["keep_rule_by_type"]) == (chosen["keep_rule"], chosen["keep_rule_by_type"])
    assert syn["min_retrieval_score_by_type"] == chosen["floor_by_type"]
    # the dev run scored with both models every candidate the negation rule leaves (it is no threshold: it stays on)
    with Store(config.output.store, read_only=True) as store:
        dev = store.fetch("SELECT count(*) FILTER (WHERE decided_by IS DISTINCT FROM 'negation'), count(general_p_yes), "
                          "count(DISTINCT query_id) FROM pairs WHERE run_id = ?", [chosen["run_id"]])[0]
        kinds = dict(store.fetch("SELECT run_id, kind FROM runs"))
    assert kinds[chosen["run_id"]] == "calibration" and kinds[pipeline.synthesis_run_id(config, keys)] == "synthesis"
    # the two dev runs and the two retrievers ran side by side, each into a store file of its own: their rows reached
    # the run's store and the files are gone
    assert sorted(k for k in kinds.values() if k in ("calibration", "train_retriever")) == ["calibration"] * 2 + ["train_retriever"] * 2
    assert all(logged.get(r) for r, k in kinds.items() if k == "train_retriever")
    assert not (calibrate.calibration_dir(config, keys.calibration) / "dev-runs").exists()
    assert not (pipeline.work_dir(config) / f"retrievers-{keys.retrievers}" / "stores").exists()
    assert dev[0] == dev[1] > 0 and dev[2] == chosen["queries"] == 4
    assert chosen["dev"]["all"]["candidates"] == dev[0]
    assert syn["rewrite_drop_threshold"] == pytest.approx(filter_threshold(chain["rewrite_filter"].path))
    assert syn["rewrite_demo_selection"] == "nearest"  # each query's demos picked from the chain source's pool

    # the report has every table, the guard rails and the audit, and a JSON of the numbers
    md = report.markdown.read_text()
    for heading in ("## Operating point chosen on dev", "## Table 1 layout", "## Table 2: synthesized pairs", "## Table 3: rewriter variants",
                    "## Table 4 (side-by-side)", "## Guard rails", "## Kept-pair audit", "## Models the synthesis run used"):
        assert heading in md
    numbers = json.loads((tmp_path / "report" / "report.json").read_text())
    assert set(numbers["table3"]) == {"zero-shot", "SFT", "RL w/o PDA", "RL w/ PDA"}
    assert {g["check"] for g in numbers["guards"]} >= {"general_filter_keeps_all", "business_at_threshold"}
    assert numbers["audit"]["judge"] == "the demo world's ground truth"
    assert set(numbers["table2"]) >= {"all"}
    # the funnel's true pairs agree with Table 2, and every gain / rewrite accuracy has an interval
    kept, true_kept = numbers["true_funnel"]["all"]["kept"]
    assert kept == numbers["table2"]["all"]["pairs_kept"]
    assert true_kept == round(numbers["table2"]["all"]["pair_accuracy"] * kept)
    assert numbers["true_funnel"]["all"]["relevant"][0] >= numbers["true_funnel"]["all"]["candidates"][1] >= true_kept
    gain = numbers["table1_gains"]["all"]["item_goodrate"]
    assert gain["low"] <= gain["estimate"] <= gain["high"] and gain["n"] == numbers["table1"]["baseline"]["all"]["n_queries"]
    assert set(numbers["table3_intervals"]) <= set(numbers["table3"])
    assert "paired bootstrap 95 % interval" in md and "## Funnel with true pairs" in md
    # each retriever's dev curve, measured on the chain source's judged dev queries at every step
    for recipe in ("baseline", "baseline+synthetic"):
        assert [p["step"] for p in numbers["retrievers"][recipe]["dev_curve"]] == [0, 1, 2]
    assert "## Retrievers' dev curve (item_goodrate@10" in md
    for png in ("table1.png", "table2.png", "table3.png", "dev_curve.png"):
        assert (tmp_path / "report" / png).stat().st_size > 0

    again = run(config, progress=False)
    assert all(v["state"] == "skipped" for v in again.stages.values())
    assert json.dumps(again.details["table3"], sort_keys=True) == json.dumps(report.details["table3"], sort_keys=True)
    assert "| sft | skipped |" in again.markdown.read_text()


def test_a_demo_chain_learns_nothing_of_the_queries_it_synthesizes_for(tmp_path):
    from tailsynth.sources.world import write_demo_slice

    config = chain_config(tmp_path, demo={**tomllib.loads(EXAMPLE.read_text())["demo"], "dir": str(tmp_path / "data"),
                                          "train_queries_per_type": 2})
    files = write_demo_slice(config.demo)
    synthesized = {json.loads(line)["query_id"] for line in files["train_queries"].read_text().splitlines()}
    source = chain_mod.chain_source(config)
    assert len(synthesized) == 8
    assert not synthesized & {q["query_id"] for q in source.queries("train")}
    assert not synthesized & {r["query_id"] for r in source.rewrite_examples("train")}
    assert synthesized <= set(chain_mod.world_query_types(config))  # still typed by the world's truth
    _, data = pipeline.make_plan(config)
    typed = pipeline.train_queries(config, data)
    assert {q["query_id"] for q in typed} == synthesized and all(q["qtype"] for q in typed)


def test_the_general_filter_learns_on_the_catalog_synthesis_judges(tmp_path):
    from tailsynth.sources.files import FileSource
    from tailsynth.sources.world import write_demo_slice

    config = chain_config(tmp_path)
    files = write_demo_slice(config.demo)
    index = chain_mod.judged_catalog_index(config)
    assert list(index.index.ids) == FileSource(config).catalog().ids
    assert index.index.ntotal < len(chain_mod.chain_source(config).catalog())
    before = chain_mod.resolve(config)
    lines = files["catalog"].read_text().splitlines()
    files["catalog"].write_text("\n".join(lines[:-1]) + "\n")
    after = chain_mod.resolve(config)
    assert after["general_filter"].key != before["general_filter"].key
    assert after["sft"].key == before["sft"].key and after["rewrite_filter"].key == before["rewrite_filter"].key


def test_table3_per_type_zero_leaves_table3_out(tmp_path):
    config = chain_config(tmp_path, chain={**TINY_CHAIN["chain"], "table3_per_type": 0, "rl_without_pda": False})
    keys = pipeline.stage_keys(config)
    assert keys.table3 is None and "table3" not in pipeline.active_stages(config, keys)
    assert "rl_nopda" not in pipeline.active_stages(config, keys)
    with pytest.raises(ValueError, match="table3_per_type"):
        chain_config(tmp_path, chain={**TINY_CHAIN["chain"], "table3_per_type": -1})


def test_nearest_demos_come_from_the_chain_source_without_the_synthesized_queries(tmp_path):
    import dataclasses

    from tailsynth.sources.world import write_demo_slice

    config = chain_config(tmp_path)
    fixed = dataclasses.replace(config, synthesis=dataclasses.replace(config.synthesis, rewrite_demo_selection="fixed"))
    files = write_demo_slice(config.demo)
    synthesized = {json.loads(line)["text"] for line in files["train_queries"].read_text().splitlines()}
    pool = pipeline.rewrite_pool(config)
    assert pool and not synthesized & {d.query for d in pool}
    assert all(len(d.rewrites) <= fixed.synthesis.k for d in pool)
    assert pipeline.stage_keys(config).synthesis != pipeline.stage_keys(fixed).synthesis
    no_pool = dataclasses.replace(config, chain=dataclasses.replace(config.chain, source="data"))
    with pytest.raises(pipeline.RunError, match="rewrite_demo_selection"):
        pipeline.rewrite_pool(no_pool)


def test_calibration_is_the_one_home_of_the_synthesis_thresholds(tmp_path):
    data = tomllib.loads(EXAMPLE.read_text())
    data["calibration"] = {"queries_per_type": 2}
    with pytest.raises(ValueError, match=r"\[calibration\] chooses them"):
        run_config_from_dict(data, EXAMPLE.parent)  # the example sets [synthesis] business_threshold
    data["synthesis"].pop("business_threshold")
    data["synthesis"].pop("general_threshold", None)
    data["chain"] = {"general_operating_point": "precision=0.8"}
    with pytest.raises(ValueError, match="general_operating_point"):
        run_config_from_dict(data, EXAMPLE.parent)
    data["chain"] = {}
    assert run_config_from_dict(data, EXAMPLE.parent).calibration.queries_per_type == 2
    data["calibration"] = {"target_precision": 1.5}
    with pytest.raises(ValueError, match="target_precision"):
        run_config_from_dict(data, EXAMPLE.parent)


def test_calibration_keys_synthesis_and_needs_a_demo_source(tmp_path):
    config = chain_config(tmp_path)
    keys = pipeline.stage_keys(config)
    assert keys.calibration is None and "calibration" not in pipeline.active_stages(config, keys)
    calibrated = chain_config(tmp_path, calibration={"queries_per_type": 1})
    ckeys = pipeline.stage_keys(calibrated)
    assert ckeys.calibration and "calibration" in pipeline.active_stages(calibrated, ckeys)
    assert ckeys.synthesis != keys.synthesis
    stricter = chain_config(tmp_path, calibration={"queries_per_type": 1, "target_precision": 0.95})
    assert pipeline.stage_keys(stricter).synthesis != ckeys.synthesis  # the operating point decides the pairs
    files = chain_config(tmp_path, chain={"source": "data"}, calibration={})
    assert any(p.file == "[calibration]" and "dev queries" in p.message for p in pipeline._calibration_problems(files))
    curve = chain_config(tmp_path, chain={"source": "data"})
    assert [p.file for p in pipeline._calibration_problems(curve)] == ["[retriever]"]  # its dev curve (dev_every)
    assert chain_config(tmp_path, retriever={"steps": 2, "batch_size": 4}).retriever.dev_every == 0
    assert pipeline.stage_keys(chain_config(tmp_path, retriever={"steps": 2, "batch_size": 4})).retrievers != keys.retrievers
