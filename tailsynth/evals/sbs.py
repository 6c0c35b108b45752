"""Side-by-side (GSB) of two retrievers: the offline counterpart of the paper's Table 4.

The paper's annotators compare the top-10 results of control and treatment per query. Here the
judge plays the annotator: per query the new retriever is Good when its top-10 holds more relevant
products than the baseline's, Bad when fewer, Same otherwise; GSB = (G − B) / (G + S + B).
Alongside it, per type: the Item Goodrate delta over the top-10 and the page-level Query Goodrate
delta, a page counting as good when at least ``good_page_fraction`` of its top-10 is relevant (the
paper's "Good or Mid" page rating has no exact offline equivalent; this threshold stands in).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tailsynth.catalog import Catalog
from tailsynth.evals.metrics import gsb, item_goodrate
from tailsynth.evals.retrieval_eval import Judge, load_encoder, retrieve, store_results


@dataclass
class SBSConfig:
    top: int = 10  # results compared per query, as on a search results page
    good_page_fraction: float = 0.5  # page "good" when >= this share of its top results is relevant


def compare_lists(
    queries: Sequence[dict],
    new_lists: Sequence[Sequence[str]],
    base_lists: Sequence[Sequence[str]],
    judge: Judge,
    config: SBSConfig | None = None,
) -> dict[str, dict[str, float]]:
    """Per ``qtype`` (+ ``all``): good, same, bad, gsb, item_goodrate_delta_pt, query_goodrate_delta_pt."""
    config = config or SBSConfig()
    new_j = [judge(q["query_id"], list(ids[: config.top])) for q, ids in zip(queries, new_lists)]
    base_j = [judge(q["query_id"], list(ids[: config.top])) for q, ids in zip(queries, base_lists)]
    groups: dict[str, list[int]] = {}
    for i, q in enumerate(queries):
        groups.setdefault(q.get("qtype") or "unknown", []).append(i)
    groups["all"] = list(range(len(queries)))

    def page_rate(judged: list[list[bool]]) -> float:
        good = [sum(row) >= config.good_page_fraction * config.top for row in judged]
        return sum(good) / len(good) if good else 0.0

    out = {}
    for qtype, rows in groups.items():
        n, b = [new_j[i] for i in rows], [base_j[i] for i in rows]
        result = gsb(n, b, top=config.top)
        out[qtype] = {
            "good": float(result["good"]),
            "same": float(result["same"]),
            "bad": float(result["bad"]),
            "gsb": result["gsb"],
            "item_goodrate_delta_pt": 100 * (item_goodrate(n) - item_goodrate(b)),
            "query_goodrate_delta_pt": 100 * (page_rate(n) - page_rate(b)),
        }
    return out


def side_by_side(
    new: object,
    base: object,
    catalog: Catalog,
    queries: Sequence[dict],
    judge: Judge,
    config: SBSConfig | None = None,
    *,
    store=None,
    run_id: str = "sbs",
    index_dir: str | Path | None = None,
) -> dict[str, dict[str, float]]:
    """GSB of retriever ``new`` against ``base`` (encoders or model paths) on ``queries``."""
    config = config or SBSConfig()
    new_lists = retrieve(load_encoder(new), catalog, queries, config.top, index_dir)
    base_lists = retrieve(load_encoder(base), catalog, queries, config.top, index_dir)
    results = compare_lists(queries, new_lists, base_lists, judge, config)
    if store is not None:
        store_results(store, run_id, "sbs", "new_vs_base", results)
    return results


def render_sbs(results: dict[str, dict[str, float]], title: str = "Side-by-side (offline Table 4)"):
    """A rich table in the paper's Table 4 layout (+ the G/S/B counts)."""
    from rich.table import Table

    table = Table(title=title)
    for col in ("Query type", "Item Goodrate", "Query Goodrate", "GSB", "G / S / B"):
        table.add_column(col, justify="left" if col == "Query type" else "right")
    for qtype, m in results.items():
        table.add_row(qtype, f"{m['item_goodrate_delta_pt']:+.2f}pt", f"{m['query_goodrate_delta_pt']:+.2f}pt",
                      f"{100 * m['gsb']:+.2f}%", f"{m['good']:.0f} / {m['same']:.0f} / {m['bad']:.0f}")
    return table
