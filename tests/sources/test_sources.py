"""Both sources answer the same questions; what a source lacks is None and asking for it names the file."""

import pytest

from tailsynth.sources import FileSource, MissingData, WorldSource, as_source, load_source, per_type

from .user_files import write_files

PRODUCTS = [{"product_id": f"p{i}", "title": t, "attributes": a} for i, (t, a) in enumerate([
    ("cordless drill 18v", '{"voltage": "18v"}'), ("toilet flapper", '{"fits": "2 inch"}'),
    ("LED bulb dimmable", '{"watts": 60}'), ("LED bulb non-dimmable", '{"watts": 40}'),
    ("garden hose 50 ft", '{"length": "50 ft"}'), ("paint roller", '{"nap": "3/8"}')])]
TRAIN = [{"query_id": "t1", "text": "drill for concrete", "qtype": "knowledge"},
         {"query_id": "t2", "text": "what fixes a running toilet?", "qtype": "qa"}]
TEST = [{"query_id": "q1", "text": "bulb that is not dimmable", "qtype": "negative"},
        {"query_id": "q2", "text": "cheaper alternative to a brand drill", "qtype": ""}]


def _files(tmp_path, qrels=True):
    return write_files(
        tmp_path, PRODUCTS,
        head_pairs=[{"query": "drill", "product_id": "p0", "clicks": 3}, {"query": "hose", "product_id": "p4", "clicks": 0}],
        labels=[{"query": "drill", "product_id": "p0", "label": 1}, {"query": "drill", "product_id": "p4", "label": 0}],
        train=TRAIN, test=TEST,
        qrels=[{"query_id": "q1", "product_id": "p3", "grade": 2}, {"query_id": "q2", "product_id": "p0", "grade": 1},
               {"query_id": "q2", "product_id": "p5", "grade": 0}] if qrels else None)


def test_file_source_reads_every_file_through_the_validated_loaders(tmp_path):
    source = load_source(_files(tmp_path))
    assert isinstance(source, FileSource)
    catalog = source.catalog()
    assert catalog.ids == [p["product_id"] for p in PRODUCTS] and catalog.text("p1") == "toilet flapper. fits 2 inch"
    assert source.baseline_pairs() == [("drill", "cordless drill 18v. voltage 18v")]  # clicks 0 is below min_grade 1
    assert source.business_labels("train") == [("drill", "cordless drill 18v. voltage 18v", 1),
                                               ("drill", "garden hose 50 ft. length 50 ft", 0)]
    assert [q["query_id"] for q in source.queries("train")] == ["t1", "t2"]
    test = source.queries("test")
    assert test[0]["qtype"] == "negative" and test[1]["qtype"] == "alternative"  # blank type: the rules (too few typed)
    assert [q["query_id"] for q in source.queries("test", qtype="negative")] == ["q1"]
    j = source.judgements()
    assert j.judge("q2", ["p0", "p5", "p1"]) == [True, False, False] and j.relevant_ids("q1") == {"p3"}
    assert j.judged == {"q1", "q2"}
    assert source.business_model_dir().parent == tmp_path / "work"


def test_what_files_lack_is_none_and_asking_names_the_config_key(tmp_path):
    source = FileSource(_files(tmp_path, qrels=False))
    assert source.judgements() is None and source.queries("dev") is None and source.rewrite_examples("train") is None
    with pytest.raises(MissingData, match=r"no relevance judgements \(qrels\); give \[data.qrels\]"):
        source.require("judgements")
    with pytest.raises(MissingData, match="annotated rewrite examples"):
        source.require("rewrite_examples", "train")
    from tailsynth.training.sft import sft_examples

    with pytest.raises(MissingData, match="run.toml"):
        sft_examples(source, "train")


def test_bad_files_are_reported_before_any_stage(tmp_path):
    path = _files(tmp_path)
    (tmp_path / "data" / "catalog.csv").write_text("product_id,title,attributes\np0,,{}\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"catalog.csv: row 1: column 'title': empty value"):
        FileSource(path).catalog()


def test_load_source_spec():
    assert isinstance(load_source("world"), WorldSource) and isinstance(load_source(None), WorldSource)
    with pytest.raises(ValueError, match="'world' or a run config"):
        load_source("catalog.csv")


def test_world_source_wraps_a_world_once(small_world):
    source = as_source(small_world)
    assert as_source(small_world) is source and as_source(source) is source
    assert len(source.catalog()) == small_world.products.num_rows
    assert source.queries("test", limit=1) == small_world.query_rows("test", limit=1)
    assert len(source.baseline_pairs()) == small_world.head_pairs.num_rows
    demos = source.rewrite_demos()
    assert len(demos) == 4 and all(len(d.rewrites) == 5 for d in demos)
    qid = small_world.query_rows("test")[0]["query_id"]
    assert source.judgements().relevant_ids(qid) == small_world.relevant_ids(qid)


def test_per_type_keeps_the_first_of_each_type():
    rows = [{"qtype": t, "i": i} for i, t in enumerate("aabab")]
    assert [r["i"] for r in per_type(rows, 1)] == [0, 2] and per_type(rows, None) == rows


class _TopIndex:
    """Every query retrieves p0, p3, p5 in that order."""

    def search(self, texts, k):
        return [[("p0", 0.9), ("p3", 0.8), ("p5", 0.7)][:k] for _ in texts]


def test_classifier_examples_from_files_use_only_judged_queries(tmp_path):
    from tailsynth.classifiers.datasets import examples, general_examples

    source = FileSource(_files(tmp_path))
    rows = general_examples(source, "test", index=_TopIndex(), sources=("head", "longtail", "retrieved"))
    # no head labels for "test", no product types for long-tail pairs; retrieved negatives only for judged queries
    assert {(r["source"], r["query"], r["product"].split(".")[0]) for r in rows} == {
        ("retrieved", "bulb that is not dimmable", "cordless drill 18v"), ("retrieved", "bulb that is not dimmable", "paint roller"),
        ("retrieved", "cheaper alternative to a brand drill", "LED bulb non-dimmable"),
        ("retrieved", "cheaper alternative to a brand drill", "paint roller")}
    unjudged = general_examples(source, "train", index=_TopIndex(), sources=("retrieved",))
    assert unjudged == []  # train queries have no qrels: retrieved products are not negatives
    assert {r["source"] for r in examples(source, "general", "train")} == {"head"}
    with pytest.raises(MissingData, match="rewrite"):
        examples(source, "rewrite", "train")


def test_world_source_can_leave_queries_out_of_what_it_teaches(small_world):
    first = small_world.query_rows("train", limit=2)
    left_out = frozenset(q["query_id"] for q in first)
    source = WorldSource(small_world, exclude_queries=left_out)
    shown = source.queries("train")
    assert not left_out & {q["query_id"] for q in shown}
    assert len(shown) == len(small_world.query_rows("train")) - len(left_out)
    assert [q["query_id"] for q in source.queries("train", limit=1)] == [q["query_id"] for q in per_type(shown, 1)]
    assert not left_out & {r["query_id"] for r in source.rewrite_examples("train")}
    assert source.rewrite_examples("dev") == WorldSource(small_world).rewrite_examples("dev")
    # their truth stays: the left-out queries are still judged
    q = first[0]
    assert source.judgements().relevant_ids(q["query_id"]) == small_world.relevant_ids(q["query_id"])
    assert "without 8 queries" in source.name
