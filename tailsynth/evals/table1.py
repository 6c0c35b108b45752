"""Paper Table 1: the retriever trained on baseline data vs baseline + synthetic pairs, per query type.

Both retrievers come from *one* ``RetrieverTrainConfig``, differing only in ``recipe`` (same base
model, steps, batch size, lr, seed), so the gain is the data's. The synthetic pairs are the kept
pairs of a synthesis run in the store; the baseline pairs are the data source's (head-query logs on
the demo world, ``[data.baseline_pairs]`` on your files). Training is skipped when a finished
model for the same config and data exists, so rerunning the table only re-evaluates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tailsynth.catalog import Catalog
from tailsynth.evals.plots import pyplot, save_figure
from tailsynth.evals.retrieval_eval import Judge, evaluate_retriever
from tailsynth.retrieval.trainer import (
    RetrieverTrainConfig,
    baseline_pairs,
    pairs_from_store,
    synthetic_texts,
    train_recipes,
)
from tailsynth.sources import as_source

SYSTEMS = {"baseline": "baseline", "baseline+synthetic": "w/ synthetic"}
QTYPE_LABELS = {"qa": "Q&A", "alternative": "Alternative", "negative": "Negative", "knowledge": "Knowledge"}
TABLE_METRICS = ("item_goodrate", "query_goodrate@10", "query_goodrate@100")


@dataclass
class Table1Config:
    train: RetrieverTrainConfig = field(default_factory=RetrieverTrainConfig)
    out_dir: str = ".cache/tailsynth/table1"  # retrievers go to out_dir/<recipe>/, the chart here
    split: str = "test"
    limit: int | None = None  # queries per type (None: all of the split)
    k: int = 200
    max_negatives: int = 4


def run_table1(
    config: Table1Config,
    catalog: Catalog,
    queries: Sequence[dict],
    judge: Judge,
    baseline_pairs: Sequence[tuple[str, str]],
    synthetic_pairs: Sequence[tuple[str, str, list[str]]],
    store=None,
    eval_run_id: str = "table1",
    relevant_ids=None,
) -> dict[str, dict[str, dict[str, float]]]:
    """Train/load both retrievers, evaluate each on ``queries``; returns system → qtype → metric."""
    paths = train_recipes(config.train, baseline_pairs, synthetic_pairs, config.out_dir, store)
    return {
        recipe: evaluate_retriever(path, catalog, queries, judge, config.k, relevant_ids=relevant_ids, store=store,
                                   run_id=eval_run_id, system=recipe, suite="table1")
        for recipe, path in paths.items()
    }


def table1_on_source(source, store, synthesis_run_id: str, config: Table1Config | None = None):
    """Table 1 on a data source: its baseline pairs, the run's kept pairs as synthetic data, its
    queries of ``config.split`` judged by its judgements."""
    config = config or Table1Config()
    source = as_source(source)
    catalog = source.catalog()
    synthetic = synthetic_texts(pairs_from_store(store, synthesis_run_id, config.max_negatives), catalog)
    if not synthetic:
        raise ValueError(f"synthesis run {synthesis_run_id!r} has no kept pairs in the store")
    queries = source.require("queries", config.split, limit=config.limit)
    judgements = source.require("judgements")
    return run_table1(config, catalog, queries, judgements.judge, baseline_pairs(source), synthetic,
                      store=store, eval_run_id=f"table1:{synthesis_run_id}", relevant_ids=judgements.relevant_ids)


def render_table1(results: dict[str, dict[str, dict[str, float]]], title: str = "Table 1: synthetic data augmentation"):
    """The paper's layout: per type and metric, baseline, w/ synthetic (+gain in pt)."""
    from rich.table import Table

    base, synth = results["baseline"], results["baseline+synthetic"]
    table = Table(title=title)
    table.add_column("Query type")
    for metric in TABLE_METRICS:
        name = metric.replace("_", " ").title().replace("@", " @")
        table.add_column(f"{name}\nBaseline", justify="right")
        table.add_column(f"{name}\nw/ Synth.", justify="right")
    order = [q for q in dict.fromkeys((*QTYPE_LABELS, *base, "all")) if q != "all"] + ["all"]
    for qtype in [q for q in order if q in base and q in synth]:
        cells = []
        for metric in TABLE_METRICS:
            b, s = 100 * base[qtype][metric], 100 * synth[qtype][metric]
            cells += [f"{b:.2f}%", f"{s:.2f}% ({s - b:+.2f}pt)"]
        table.add_row(QTYPE_LABELS.get(qtype, qtype), *cells)
    return table


def plot_table1(results: dict[str, dict[str, dict[str, float]]], path: str | Path) -> Path:
    """Grouped bars per query type, one panel per Table 1 metric."""
    plt = pyplot()
    import numpy as np

    qtypes = [q for q in results["baseline"] if q in results["baseline+synthetic"]]
    fig, axes = plt.subplots(1, len(TABLE_METRICS), figsize=(4 * len(TABLE_METRICS), 3.5), sharey=True)
    x = np.arange(len(qtypes))
    for ax, metric in zip(axes, TABLE_METRICS):
        for offset, (recipe, label) in zip((-0.2, 0.2), SYSTEMS.items()):
            ax.bar(x + offset, [100 * results[recipe][q][metric] for q in qtypes], width=0.4, label=label)
        ax.set_xticks(x, [QTYPE_LABELS.get(q, q) for q in qtypes], rotation=30, fontsize=8)
        ax.set_title(metric, fontsize=9)
    axes[0].set_ylabel("%")
    axes[0].legend(fontsize=8)
    return save_figure(fig, path, dpi=100)
