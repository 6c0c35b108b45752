"""The default synthesis run id changes with the data and the model files, not only the config."""

import os

from tailsynth.catalog import Catalog
from tailsynth.config import SynthesisConfig
from tailsynth.fingerprint import path_fingerprint, synthesis_run_id
from tailsynth.programs.queries import Query

QUERIES = [Query("a", "toilet keeps running"), Query("b", "paint not oil based")]
CATALOG = Catalog(["p1", "p2"], ["toilet flapper", "interior paint"])


def test_same_inputs_same_id_and_each_input_changes_it(tmp_path):
    config = SynthesisConfig()
    base = synthesis_run_id(config, QUERIES, CATALOG)
    assert base == synthesis_run_id(SynthesisConfig(), list(QUERIES), Catalog(["p1", "p2"], ["toilet flapper", "interior paint"]))
    assert base.startswith("syn-") and len(base) == 16
    other_catalog = Catalog(["p1", "p3"], ["toilet flapper", "garden hose"])
    new_texts = [Query("a", "toilet runs all night"), QUERIES[1]]
    ids = {base, synthesis_run_id(config, QUERIES, other_catalog), synthesis_run_id(config, new_texts, CATALOG),
           synthesis_run_id(SynthesisConfig(k=3), QUERIES, CATALOG)}
    assert len(ids) == 4


def test_model_retrained_in_place_changes_the_id(tmp_path):
    model = tmp_path / "business"
    model.mkdir()
    (model / "config.json").write_text('{"a": 1}')
    (model / "model.safetensors").write_bytes(b"\0" * (2 << 20))  # large: size + mtime only
    config = SynthesisConfig(business_model=str(model))
    before = synthesis_run_id(config, QUERIES, CATALOG)
    assert synthesis_run_id(config, QUERIES, CATALOG) == before
    st = (model / "model.safetensors").stat()
    os.utime(model / "model.safetensors", ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # rewritten weights
    assert synthesis_run_id(config, QUERIES, CATALOG) != before
    again = synthesis_run_id(config, QUERIES, CATALOG)
    (model / "config.json").write_text('{"a": 2}')  # same size, new contents
    os.utime(model / "config.json", ns=((model / "config.json").stat().st_atime_ns, st.st_mtime_ns))
    assert synthesis_run_id(config, QUERIES, CATALOG) != again


def test_names_that_are_not_paths_are_fingerprinted_by_name():
    assert path_fingerprint("hosted_vllm/qwen") == "name:hosted_vllm/qwen"
    assert path_fingerprint(None) == "default"
