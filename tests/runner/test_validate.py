"""Validation of a run's input files: every problem with file, row and column, before any work."""

import json

import pytest

from tailsynth.runner import RunError, plan, run, run_config_from_dict


def _write(path, text):
    path.write_text(text, encoding="utf-8")
    return str(path)


def _config(tmp_path, **overrides):
    files = {
        "catalog": _write(tmp_path / "catalog.csv", "id,title\np1,cordless drill\np2,toilet flapper\np3,LED bulb\n"),
        "pairs": _write(tmp_path / "pairs.csv", "query,product_id\ndrill,p1\nflapper,p2\n"),
        "labels": _write(tmp_path / "labels.jsonl", "\n".join(json.dumps(r) for r in [
            {"query": "drill", "product_id": "p1", "label": 1}, {"query": "drill", "product_id": "p2", "label": 0}])),
        "train": _write(tmp_path / "train.csv", "query_id,text\nt1,what stops a running toilet\n"),
        "test": _write(tmp_path / "test.csv", "query_id,text,qtype\ne1,bulbs that are not dimmable,negative\n"),
        "qrels": _write(tmp_path / "qrels.csv", "query_id,product_id,grade\ne1,p3,2\n"),
    }
    files.update(overrides)
    data = {"data": {"catalog": {"path": files["catalog"]}, "baseline_pairs": {"path": files["pairs"]},
                     "business_labels": {"path": files["labels"]}, "train_queries": {"path": files["train"]},
                     "test_queries": {"path": files["test"]}, "qrels": {"path": files["qrels"]}},
            "output": {"store": str(tmp_path / "s.duckdb"), "report_dir": str(tmp_path / "r"),
                       "work_dir": str(tmp_path / "w")}}
    return run_config_from_dict(data, tmp_path)


def test_good_files_validate_and_plan_everything_to_run(tmp_path):
    p = plan(_config(tmp_path))
    assert p.ok, p.render()
    assert [(s, state) for s, state, _ in p.stages] == [
        ("business", "to run"), ("synthesis", "to run"), ("retrievers", "to run"), ("evaluate", "to run")]
    assert p.counts["products"] == 3 and p.counts["qrels"] == 1
    text = p.render()
    assert "input files: OK" in text and "judge: qrels qrels.csv" in text
    assert not (tmp_path / "s.duckdb").exists()  # a dry run writes nothing


def test_every_problem_is_reported_with_file_row_and_column(tmp_path):
    config = _config(
        tmp_path,
        catalog=_write(tmp_path / "cat.csv", "id,title\np1,drill\np1,drill again\np2,\np3,LED bulb\n"),
        labels=_write(tmp_path / "lab.jsonl", "\n".join(json.dumps(r) for r in [
            {"query": "drill", "product_id": "p9", "label": 1}, {"query": "drill", "product_id": "p1", "label": 7},
            {"query": "x", "product_id": "p1", "label": 1}, {"query": "x", "product_id": "p1", "label": 1}])),
        qrels=_write(tmp_path / "qr.csv", "query_id,product\ne1,p3\n"),
        test=_write(tmp_path / "te.csv", "query_id,text\ne1,   \n"),
    )
    problems = [str(p) for p in plan(config).problems]
    text = "\n".join(problems)
    assert "cat.csv: row 2: column 'id': duplicate product id 'p1' (first on row 1)" in text
    assert "cat.csv: row 3: column 'title': empty value" in text
    assert "lab.jsonl: row 1: column 'product_id': unknown product id 'p9' (not in the catalog)" in text
    assert "lab.jsonl: row 2: column 'label': grade 7 is out of range [0, 1]" in text
    assert "lab.jsonl: row 4: duplicate row ('x', 'p1') (first on row 3)" in text
    assert "qr.csv: column 'product_id': missing column 'product_id'" in text
    assert "te.csv: row 1: column 'text': empty value" in text
    with pytest.raises(RunError, match="nothing will run"):
        run(config)
    assert not (tmp_path / "w").exists()


def test_bad_encoding_and_non_numeric_grades(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"id,title\np1,drill\np2,caf\xe9 lamp\n")
    config = _config(tmp_path, catalog=str(bad),
                     qrels=_write(tmp_path / "q2.csv", "query_id,product_id,grade\ne1,p3,high\n"))
    text = "\n".join(map(str, plan(config).problems))
    assert "bad.csv: row 2: bytes are not UTF-8" in text
    assert "q2.csv: row 1: column 'grade': grade 'high' is not a number" in text


def test_unknown_config_keys_and_model_keys_in_synthesis_are_refused(tmp_path):
    with pytest.raises(ValueError, match=r"\[data.catalog\]: unknown keys \['pth'\]"):
        run_config_from_dict({"data": {"catalog": {"pth": "x"}}})
    with pytest.raises(ValueError, match=r"come from \[models\]"):
        run_config_from_dict({"synthesis": {"rewriter": {"model": "x"}}})
    with pytest.raises(ValueError, match=r"\[synthesis\]"):
        run_config_from_dict({"synthesis": {"kk": 3}})


def test_filter_models_of_their_own_reach_synthesis_and_the_eval_judge(tmp_path):
    config = run_config_from_dict({
        "data": {name: {"path": f"{name}.csv"} for name in ("catalog", "baseline_pairs", "business_labels",
                                                              "train_queries", "test_queries")},
        "models": {"general": {"model": "hosted_vllm/Qwen2.5-7B-Instruct", "api_base": "http://127.0.0.1:8000/v1"},
                   "relevance": {"model": "./models/classifier-general"}},
    }, tmp_path)
    assert config.models.relevance.model == str(tmp_path / "models" / "classifier-general")  # resolved like other paths
    assert config.models.judge is config.models.relevance
    synth = config.synthesis_config("/biz")
    assert synth.relevance.model == config.models.relevance.model
    assert synth.rewrite_filter.model == "hosted_vllm/Qwen2.5-7B-Instruct"  # still the general LLM
    with pytest.raises(ValueError, match=r"come from \[models\]"):
        run_config_from_dict({"synthesis": {"relevance_lm": {"model": "x"}}})


@pytest.mark.parametrize("name", ["demo_run.toml", "demo_run_50k.toml"])
def test_example_configs_parse_with_paths_next_to_them(name):
    from pathlib import Path

    from tailsynth.runner.config import load_run_config

    path = Path(__file__).resolve().parents[2] / "examples" / name
    config = load_run_config(path)
    assert config.demo is not None and Path(config.data.catalog.path).is_absolute()
    assert Path(config.output.store).parent.parent == (path.parent.parent / ".cache" / "tailsynth").resolve()


def test_a_catalog_with_an_attributes_column_keeps_them_beside_the_texts(tmp_path):
    from tailsynth.runner.validate import check_data

    catalog = _write(tmp_path / "cat.csv", 'id,title,attrs\np1,cordless drill,"18V, cordless"\np2,toilet flapper,\n'
                                           "p3,LED bulb,dimmable\n")
    config = _config(tmp_path, catalog=catalog)
    config.data.catalog.attributes_col = "attrs"
    data, problems = check_data(config)
    assert not problems
    assert data.catalog.texts == ["cordless drill. 18V, cordless", "toilet flapper", "LED bulb. dimmable"]
    assert data.catalog.attributes == ["18V, cordless", "", "dimmable"]
    config.data.catalog.attributes_col = None
    assert check_data(config)[0].catalog.attributes is None  # titles only: the filter reads the words alone


def test_brand_and_price_columns_are_checked_and_kept_beside_the_texts(tmp_path):
    from tailsynth.runner.validate import check_data

    catalog = _write(tmp_path / "cat.csv", "id,title,brand,price\np1,cordless drill,Boltix,99.00\np2,toilet flapper,,\n"
                                           "p3,LED bulb,Lumo,4.5\n")
    config = _config(tmp_path, catalog=catalog)
    config.data.catalog.brand_col, config.data.catalog.price_col = "brand", "price"
    data, problems = check_data(config)
    assert not problems
    assert data.catalog.brands == ["Boltix", "", "Lumo"] and data.catalog.prices[::2] == [99.0, 4.5]
    _write(tmp_path / "cat.csv", "id,title,brand,price\np1,cordless drill,Boltix,ninety\np2,toilet flapper,,\n"
                                 "p3,LED bulb,Lumo,4.5\n")
    _, problems = check_data(config)
    assert [(p.row, p.column) for p in problems if "price" in p.message] == [(1, "price")]
