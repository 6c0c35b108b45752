"""Bring-your-own data loaders: good files in every format, and malformed ones with errors that
name the file, row and column."""

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tailsynth.io import DataFileError, load_catalog, load_qrels, load_queries, qrels_judge

ROWS = [{"id": "a1", "title": "Cordless drill", "desc": "18V with battery", "attrs": '{"voltage": "18V", "cordless": true}'},
        {"id": "a2", "title": "Garden hose", "desc": "", "attrs": "{}"}]


def _write(path, rows):
    if path.suffix == ".csv":
        cols = list(rows[0])
        lines = [",".join(cols)] + [",".join('"' + str(r[c]).replace('"', '""') + '"' for c in cols) for r in rows]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    elif path.suffix == ".jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    else:
        pq.write_table(pa.Table.from_pylist(rows), path)
    return path


@pytest.mark.parametrize("ext", ["csv", "jsonl", "parquet"])
def test_catalog_in_every_format(tmp_path, ext):
    path = _write(tmp_path / f"catalog.{ext}", ROWS)
    catalog = load_catalog(path, description_col="desc", attributes_col="attrs")
    assert catalog.ids == ["a1", "a2"]
    assert catalog.texts == ["Cordless drill. voltage 18V, cordless. 18V with battery", "Garden hose"]
    assert catalog.attributes == ["voltage 18V, cordless", ""]  # on their own too, for the negation filter
    assert load_catalog(path).texts == ["Cordless drill", "Garden hose"] and load_catalog(path).attributes is None


@pytest.mark.parametrize("ext", ["csv", "jsonl", "parquet"])
def test_queries_and_qrels(tmp_path, ext):
    q = _write(tmp_path / f"q.{ext}", [{"query_id": "q1", "text": "stop a running toilet", "qtype": "qa"},
                                         {"query_id": "q2", "text": "paint not glossy", "qtype": ""}])
    assert load_queries(q) == [{"query_id": "q1", "text": "stop a running toilet", "qtype": "qa"},
                               {"query_id": "q2", "text": "paint not glossy", "qtype": None}]
    r = _write(tmp_path / f"r.{ext}", [{"query_id": "q1", "product_id": "a1", "grade": 2},
                                         {"query_id": "q1", "product_id": "a2", "grade": 0},
                                         {"query_id": "q2", "product_id": "a2", "grade": 1}])
    qrels = load_qrels(r)
    assert qrels == {"q1": {"a1": 2, "a2": 0}, "q2": {"a2": 1}}
    judge = qrels_judge(qrels, min_grade=1)
    assert judge("q1", ["a1", "a2", "zz"]) == [True, False, False]
    assert judge("unknown", ["a1"]) == [False]
    assert qrels_judge(qrels, min_grade=2)("q2", ["a2"]) == [False]
    assert judge.relevant_ids("q1") == {"a1"}


def test_qrels_without_grade_column_means_relevant(tmp_path):
    r = _write(tmp_path / "r.jsonl", [{"query_id": "q1", "product_id": "a1"}])
    assert load_qrels(r) == {"q1": {"a1": 1}}


def test_missing_column_names_file_and_column(tmp_path):
    path = _write(tmp_path / "c.csv", [{"sku": "a1", "title": "x"}])
    with pytest.raises(DataFileError, match=r"c\.csv: column 'id': missing column 'id'; columns are \['sku', 'title'\]"):
        load_catalog(path)
    assert load_catalog(path, id_col="sku").ids == ["a1"]


def test_duplicate_id_names_both_rows(tmp_path):
    path = _write(tmp_path / "c.jsonl", [{"id": "a1", "title": "x"}, {"id": "a2", "title": "y"}, {"id": "a1", "title": "z"}])
    with pytest.raises(DataFileError, match=r"c\.jsonl: row 3: column 'id': duplicate id 'a1' \(first on row 1\)"):
        load_catalog(path)


def test_empty_text_is_an_error(tmp_path):
    path = _write(tmp_path / "q.csv", [{"query_id": "q1", "text": "ok"}, {"query_id": "q2", "text": "  "}])
    with pytest.raises(DataFileError, match=r"row 2: column 'text': empty value"):
        load_queries(path)
    path = _write(tmp_path / "c.parquet", [{"id": "a1", "title": None}])
    with pytest.raises(DataFileError, match=r"row 1: column 'title': empty value"):
        load_catalog(path)


def test_non_utf8_bytes_report_the_row(tmp_path):
    path = tmp_path / "c.csv"
    path.write_bytes(b"id,title\na1,drill\na2,caf\xe9 table\n")  # latin-1 'é'
    with pytest.raises(DataFileError, match=r"c\.csv: row 2: bytes are not UTF-8"):
        load_catalog(path)
    path = tmp_path / "c.jsonl"
    path.write_bytes(b'{"id": "a1", "title": "caf\xe9"}\n')
    with pytest.raises(DataFileError, match=r"row 1: bytes are not UTF-8"):
        load_catalog(path)
    path = tmp_path / "c.parquet"
    pq.write_table(pa.table({"id": pa.array([b"a1"], pa.binary()), "title": pa.array([b"caf\xe9"], pa.binary())}), path)
    with pytest.raises(DataFileError, match=r"row 1: bytes are not UTF-8"):
        load_catalog(path)


def test_other_malformed_files(tmp_path):
    with pytest.raises(DataFileError, match="does not exist"):
        load_catalog(tmp_path / "missing.csv")
    bad = tmp_path / "c.txt"
    bad.write_text("x")
    with pytest.raises(DataFileError, match="unknown extension"):
        load_catalog(bad)
    bad = tmp_path / "c.jsonl"
    bad.write_text('{"id": "a1", "title": "x"}\n{"id": \n')
    with pytest.raises(DataFileError, match=r"row 2: invalid JSON"):
        load_catalog(bad)
    bad = tmp_path / "r.csv"
    bad.write_text("query_id,product_id,grade\nq1,a1,high\n")
    with pytest.raises(DataFileError, match=r"row 1: column 'grade': grade 'high' is not a number"):
        load_qrels(bad)
    bad.write_text("query_id,product_id,grade\nq1,a1,1\nq1,a1,0\n")
    with pytest.raises(DataFileError, match=r"row 2: .*judged twice"):
        load_qrels(bad)
    empty = tmp_path / "e.csv"
    empty.write_text("")
    with pytest.raises(DataFileError, match="empty"):
        load_catalog(empty)


@pytest.mark.parametrize("ext", ["csv", "jsonl", "parquet"])
def test_brand_and_price_columns_fill_the_catalog_beside_the_texts(tmp_path, ext):
    rows = [{"id": "a1", "title": "Dysonic vacuum", "brand": " Dysonic ", "price": "$1,299.50"},
            {"id": "a2", "title": "Stick vacuum", "brand": "", "price": ""}]
    catalog = load_catalog(_write(tmp_path / f"catalog.{ext}", rows), brand_col="brand", price_col="price")
    assert catalog.texts == ["Dysonic vacuum", "Stick vacuum"]  # no model reads them
    assert catalog.brands == ["Dysonic", ""] and catalog.prices[0] == 1299.5 and catalog.prices[1] != catalog.prices[1]


@pytest.mark.parametrize("price, message", [("cheap", "price 'cheap' is not a number"), ("-3", "price -3 is negative")])
def test_a_price_that_is_no_price_names_its_row_and_column(tmp_path, price, message):
    path = _write(tmp_path / "catalog.csv", [{"id": "a1", "title": "Vacuum", "price": "10"},
                                            {"id": "a2", "title": "Mop", "price": price}])
    with pytest.raises(DataFileError, match=message) as err:
        load_catalog(path, price_col="price")
    assert "row 2: column 'price'" in str(err.value)
