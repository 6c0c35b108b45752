"""The rewrite stage on GPU nodes: vLLM through Ray Data's own LLM processor (``ray.data.llm``).

CPU workers run the rewriter as a transformers model inside a ``StageActor``; on a cluster with
a GPU node, ``EngineConfig(gpu_rewriter=True)`` swaps that one operator for a
``vLLMEngineProcessorConfig`` processor: the same prompt the rewriter writes (its signature,
demos and ``CompactAdapter``), greedy decoding (temperature 0, so the output is deterministic up
to vLLM's batch-invariance), the same parsing and ``clean_rewrites``, and the same rewrite rows
and shard files as the CPU stage. The filters and the cross-encoders stay on their actor pools.

Needs ``pip install 'ray[data,llm]' vllm`` on the GPU node and the rewriter as a local model
directory (``SynthesisConfig.rewriter.model``); nothing here is imported unless it is asked for.
This path is written against Ray 2.60's ``ray.data.llm`` and has not run on this project's CPU CI.
"""

from __future__ import annotations

import json

import numpy as np

from tailsynth.programs.queries import Query
from tailsynth.programs.stages import rewrite_row
from tailsynth.store.shards import ShardLayout


def rewrite_prompts(batch: dict[str, np.ndarray], spec) -> dict[str, list]:
    """Shard rows → one row per query with the rewriter's chat messages (what dspy would send)."""
    from tailsynth.adapters import CompactAdapter

    from tailsynth.programs.rewriter import Rewriter, numbered_lists

    c = spec.config  # the prompt of ProgramSpec.rewriter(), without loading its LM here
    rewriter = Rewriter(k=c.k, numbered=c.rewriter.api_base is None and numbered_lists(c.rewriter.model))
    rewriter.predict.demos = list(spec.rewrite_demos or [])[: c.rewrite_demos]
    adapter = CompactAdapter(numbered=rewriter.numbered)
    out: dict[str, list] = {"shard": [], "queries": [], "query_id": [], "text": [], "messages": []}
    for shard, queries_json in zip(batch["shard"], batch["queries"]):
        for q in json.loads(queries_json):
            out["shard"].append(int(shard))
            out["queries"].append(queries_json)
            out["query_id"].append(q["query_id"])
            out["text"].append(q["text"])
            out["messages"].append(adapter.format(rewriter.predict.signature, rewriter.predict.demos, {"query": q["text"]}))
    return out


def vllm_rewrite(ds, spec, root: str, run_id: str):
    """The rewrite operator as a vLLM processor; returns shard rows like ``StageActor("rewrite")``."""
    from ray.data.llm import build_processor, vLLMEngineProcessorConfig

    c = spec.config
    processor = build_processor(
        vLLMEngineProcessorConfig(
            model_source=c.rewriter.model,
            engine_kwargs={"enable_prefix_caching": True, "max_model_len": 4096},
            concurrency=1,  # one engine per GPU; raise with the GPU count
            batch_size=64,
        ),
        preprocess=lambda row: {**row, "sampling_params": {"temperature": 0.0, "max_tokens": c.rewrite_max_tokens}},
        postprocess=lambda row: {"shard": row["shard"], "queries": row["queries"], "query_id": row["query_id"],
                                 "text": row["text"], "completion": row["generated_text"]},
    )
    prompts = ds.map_batches(rewrite_prompts, fn_kwargs={"spec": spec}, batch_size=1, batch_format="numpy")
    generated = processor(prompts)
    return generated.groupby("shard").map_groups(_ParseRewrites, fn_constructor_kwargs={"spec": spec, "root": root,
                                                 "run_id": run_id}, batch_format="numpy", concurrency=1)


class _ParseRewrites:
    """One shard's completions → rewrite rows, written to the shard file like the CPU stage."""

    def __init__(self, spec, root: str, run_id: str):
        from tailsynth.adapters import CompactAdapter
        from tailsynth.programs.rewriter import numbered_lists, rewrite_signature

        c = spec.config
        self.k, self.include_original = c.k, c.include_original
        self.signature = rewrite_signature(c.k)
        self.adapter = CompactAdapter(numbered=c.rewriter.api_base is None and numbered_lists(c.rewriter.model))
        self.layout = ShardLayout(root, run_id)

    def __call__(self, group: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        from tailsynth.programs.rewriter import clean_rewrites

        shard, queries_json = int(group["shard"][0]), str(group["queries"][0])
        completions = dict(zip(group["query_id"], group["completion"]))
        rows = []
        for q in (Query(**d) for d in json.loads(queries_json)):  # query order of the shard, as on CPU
            try:
                raw = self.adapter.parse(self.signature, str(completions[q.query_id]))["rewrites"]
            except Exception:  # noqa: BLE001 - an unparsable completion gives no rewrites, as batch_rewrite does
                raw = []
            if self.include_original:
                rows.append(rewrite_row(q.query_id, 0, q.text, "original", kept=True))
            rows += [rewrite_row(q.query_id, i, r) for i, r in enumerate(clean_rewrites(raw, self.k, q.text), 1)]
        if not self.layout.done("rewrite", shard):
            self.layout.write("rewrite", shard, rows)
        return {"shard": np.array([shard]), "queries": np.array([queries_json], dtype=object),
                "rows": np.array([json.dumps(rows)], dtype=object)}
