"""The GPU rewrite path (vLLM via ray.data.llm) cannot run on CPU CI; its prompt and parsing can:
they must equal what the CPU rewrite stage sends and writes."""

import json

import numpy as np

from tailsynth.adapters import CompactAdapter
from tailsynth.engines.vllm import _ParseRewrites, rewrite_prompts
from tailsynth.programs.queries import Query
from tailsynth.programs.rewriter import Rewriter
from tailsynth.programs.stages import RewriteStage
from tailsynth.store.shards import ShardLayout

from ..programs.test_synthesis import QUERIES, REWRITES, MapLM
from .specs import FakeSpec


def test_prompts_and_parsed_rows_match_the_cpu_rewrite_stage(tmp_path):
    spec = FakeSpec(str(tmp_path / "idx"))
    queries = [Query(q["query_id"], q["text"], q["qtype"]) for q in QUERIES]
    batch = {"shard": np.array([0]), "queries": np.array([json.dumps([q.__dict__ for q in queries])], dtype=object)}
    prompts = rewrite_prompts(batch, spec)
    rewriter = Rewriter(k=spec.config.k)
    expected = [CompactAdapter().format(rewriter.predict.signature, [], {"query": q.text}) for q in queries]
    assert prompts["messages"] == expected

    group = {"shard": np.array(prompts["shard"]), "queries": np.array(prompts["queries"], dtype=object),
             "query_id": np.array(prompts["query_id"], dtype=object),
             "completion": np.array([REWRITES[t] for t in prompts["text"]], dtype=object)}
    out = _ParseRewrites(spec, str(tmp_path / "shards"), "g")(group)
    cpu_rows = RewriteStage(Rewriter(k=spec.config.k, lm=MapLM()))(queries)
    assert json.loads(out["rows"][0]) == cpu_rows
    assert ShardLayout(tmp_path / "shards", "g").read("rewrite", 0) == cpu_rows
