"""The probe's malformed files: each is one clear line naming file, row and column, the same in
the dry run (``plan``) and in the loaders the real run uses; none is a traceback or a silent accept."""

import json

import pytest

from tailsynth.io.loaders import DataFileError, load_catalog, load_qrels, load_queries
from tailsynth.runner import plan, run_config_from_dict

from .test_validate import _config, _write

QUOTE = "id,title\np1,drill\np2,\"toilet flapper\n" + "".join(f"p{i},bulb {i}\n" for i in range(3, 20)) + "p20,fan\"\n"
CASES = {  # name: (file role, file name, content, expected fragment)
    "1 MB title": ("catalog", "c.csv", "id,title\np1,drill\np2," + "x" * 1_000_000 + "\n", "row 2: column 'title': title is 1,000,000 characters"),
    "unclosed quote": ("catalog", "c.csv", QUOTE, "row 2: column 'title': value spans lines 3-21"),
    "unclosed quote to EOF": ("catalog", "c.csv", "id,title\np1,drill\np2,\"toilet\np3,bulb\n", "not valid CSV from line 3"),
    "NUL in title": ("catalog", "c.csv", "id,title\np1,dr\x00ill\n", "row 1: column 'title': contains a NUL byte"),
    "title a JSON list": ("catalog", "c.jsonl", json.dumps({"id": "p1", "title": ["a", "b"]}) + "\n", "row 1: column 'title': expected text, got a JSON list"),
    "title a JSON list as text": ("catalog", "c.csv", 'id,title\np1,"[""a"", ""b""]"\n', "row 1: column 'title': title is a JSON list"),
    "id true": ("catalog", "c.jsonl", json.dumps({"id": True, "title": "drill"}) + "\n", "row 1: column 'id': expected text, got the boolean true"),
    "NaN title": ("catalog", "c.jsonl", '{"id": "p1", "title": NaN}\n', "row 1: column 'title': empty value"),
    "NUL in query": ("test", "t.csv", "query_id,text,qtype\ne1,bul\x00bs,negative\n", "row 1: column 'text': contains a NUL byte"),
    "qtype banana": ("test", "t.csv", "query_id,text,qtype\ne1,bulbs,banana\n", "row 1: column 'qtype': unknown query type 'banana'"),
    "long query": ("test", "t.csv", "query_id,text\ne1," + "bulb " * 2002 + "\n", "row 1: column 'text': query is 10,009 characters, max 500"),
    "grade 0.5": ("qrels", "q.csv", "query_id,product_id,grade\ne1,p3,0.5\n", "row 1: column 'grade': grade 0.5 is not a whole number"),
}
LOADERS = {"catalog": load_catalog, "test": load_queries, "qrels": load_qrels}


@pytest.mark.parametrize("name", list(CASES))
def test_dry_run_and_loader_say_the_same_one_line(tmp_path, name):
    role, filename, content, fragment = CASES[name]
    path = _write(tmp_path / filename, content)
    problems = [str(p) for p in plan(_config(tmp_path, **{role: path})).problems]
    assert any(p.startswith(path) and fragment in p for p in problems), problems
    assert all("\n" not in p for p in problems)
    if "quote" in name:  # the catalog's own row is blamed, not the files naming its (swallowed) products
        assert all(p.startswith(path) for p in problems), problems
    with pytest.raises(DataFileError) as info:
        LOADERS[role](path)
    assert str(info.value).startswith(path) and fragment in str(info.value) and "\n" not in str(info.value)


def test_directories_named_like_files_are_one_line_errors(tmp_path):
    for name in ("x.csv", "noext"):
        (tmp_path / name).mkdir()
        problems = [str(p) for p in plan(_config(tmp_path, catalog=str(tmp_path / name))).problems]
        assert any("is a directory, not a file" in p for p in problems), problems
        with pytest.raises(DataFileError, match="is a directory"):
            load_catalog(tmp_path / name)


@pytest.mark.parametrize("synthesis,message", [
    ({"k": "five"}, r"\[synthesis\]: k must be an integer, got 'five'"),
    ({"top_k": -5}, r"top_k must be an integer >= 1, got -5"),
    ({"chunk_size": 0}, r"chunk_size must be an integer >= 1, got 0"),
    ({"general_threshold": "high"}, r"general_threshold must be a number, got 'high'"),
])
def test_config_type_and_range_errors_name_the_key(synthesis, message):
    with pytest.raises(ValueError, match=message):
        run_config_from_dict({"synthesis": synthesis})


def test_good_values_still_pass(tmp_path):
    path = _write(tmp_path / "c.csv", 'id,title\np1,"drill, 20V"\np2,"multi\nline title"\np3,LED bulb\n')
    assert plan(_config(tmp_path, catalog=path)).ok
    assert load_catalog(path).texts[1] == "multi\nline title"
