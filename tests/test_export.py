"""Exports of kept pairs: each format's columns, Parquet == JSONL, and a real sentence-transformers
training step fed from the exported triplets."""

import json

import pyarrow.parquet as pq
import pytest
import torch

from tailsynth.catalog import Catalog
from tailsynth.export import export_pairs
from tailsynth.store import Store

CATALOG = Catalog(["p1", "p2", "p3", "p4"], ["flapper valve kit", "toilet paper holder", "matte wall paint", "gloss enamel"])


@pytest.fixture
def store():
    s = Store(":memory:")
    s.insert("queries", [("r1", "q1", "toilet keeps running", "qa"), ("r1", "q2", "paint that is not glossy", "negative"),
                         ("r1", "q3", "no pairs kept", "knowledge")])
    s.insert("pairs", [
        ("r1", "q1", "p1", 1, 2, 0.9, 0.9, True),
        ("r1", "q1", "p2", 1, 1, 0.8, 0.1, False),
        ("r1", "q2", "p3", 1, 1, 0.9, 0.9, True),
        ("r1", "q3", "p4", 1, 1, 0.2, None, False),
    ])
    return s


def _jsonl(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_every_format_in_parquet_and_jsonl(store, tmp_path):
    paths = export_pairs(store, "r1", CATALOG, tmp_path)
    names = sorted(p.name for p in paths)
    assert names == sorted(f"{n}.{ext}" for n in ("st_pairs", "st_triplets", "tevatron", "flagembedding")
                           for ext in ("parquet", "jsonl"))
    for stem in ("st_pairs", "st_triplets", "tevatron", "flagembedding"):
        assert pq.read_table(tmp_path / f"{stem}.parquet").to_pylist() == _jsonl(tmp_path / f"{stem}.jsonl")
    assert _jsonl(tmp_path / "st_pairs.jsonl") == [
        {"anchor": "toilet keeps running", "positive": "flapper valve kit"},
        {"anchor": "paint that is not glossy", "positive": "matte wall paint"},
    ]
    assert _jsonl(tmp_path / "st_triplets.jsonl") == [
        {"anchor": "toilet keeps running", "positive": "flapper valve kit", "negative": "toilet paper holder"}]
    tev = _jsonl(tmp_path / "tevatron.jsonl")
    assert tev[0] == {"query_id": "q1", "query": "toilet keeps running",
                      "positive_passages": [{"docid": "p1", "title": "", "text": "flapper valve kit"}],
                      "negative_passages": [{"docid": "p2", "title": "", "text": "toilet paper holder"}]}
    assert tev[1]["negative_passages"] == []
    assert _jsonl(tmp_path / "flagembedding.jsonl") == [
        {"query": "toilet keeps running", "pos": ["flapper valve kit"], "neg": ["toilet paper holder"]},
        {"query": "paint that is not glossy", "pos": ["matte wall paint"], "neg": []},
    ]


def test_selected_formats_and_errors(store, tmp_path):
    paths = export_pairs(store, "r1", CATALOG, tmp_path, formats=["flagembedding"], file_types=["jsonl"],
                         titles={"p1": "Flapper"})
    assert [p.name for p in paths] == ["flagembedding.jsonl"]
    with pytest.raises(ValueError, match="unknown"):
        export_pairs(store, "r1", CATALOG, tmp_path, formats=["dpr"])
    with pytest.raises(ValueError, match="no kept pairs"):
        export_pairs(store, "nope", CATALOG, tmp_path)


def test_sentence_transformers_trains_on_the_exported_triplets(store, tmp_path):
    """The columns are what MultipleNegativesRankingLoss expects: feed them to a real ST step."""
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.losses.multiple_negatives_ranking import (
        MultipleNegativesRankingLoss,
    )

    from tailsynth.paths import minilm_dir

    export_pairs(store, "r1", CATALOG, tmp_path, formats=["sentence-transformers"], file_types=["parquet"])
    table = pq.read_table(tmp_path / "st_triplets.parquet")
    assert table.column_names == ["anchor", "positive", "negative"]
    model = SentenceTransformer(str(minilm_dir()), device="cpu", local_files_only=True)
    model.max_seq_length = 16
    loss = MultipleNegativesRankingLoss(model)
    features = [model.preprocess(table.column(c).to_pylist()) for c in table.column_names]
    value = loss(features, None)
    value.backward()
    assert torch.isfinite(value)
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())
