"""Labelled examples for the two filter classifiers, from a data source (``tailsynth.sources``).

An example is a dict of the signature's input fields plus ``label`` (one of the task's labels)
and ``source``.

- ``rewrite`` (``RewriteRelevance``, labels relevant / partial / irrelevant): the annotated
  rewrite examples; each good rewrite is ``relevant``, each bad one ``irrelevant`` or ``partial``
  (the world's ``partially_relevant``). Split = the example's split (train / dev).
- ``general`` (``ProductRelevance``, labels yes / no): (a) the labelled head-query pairs
  (``relevance_labels``, source ``head``) and (b) long-tail pairs shaped like what the filter sees
  at synthesis time (source ``longtail``): for a world query of the split, relevant products
  (``yes``) against hard negatives that look retrieved: same product type but violating a
  constraint, or same category, and not relevant (``no``). Long-tail train pairs come from the
  world's train queries, dev pairs from its dev queries (test queries are never used).
  (c) with a catalog index, retrieved hard negatives (source ``retrieved``): the top non-relevant
  products the dense retriever returns for the query itself. These are the filter's real job at
  synthesis time: lexical look-alikes such as the premium brand's own products for "cheaper
  alternative to <brand> ..." or the very attribute a negative query excludes, which random
  same-type negatives almost never contain.
  (d) with a catalog index, synthesis-shaped candidates (source ``candidates``): the union of the
  index's top products for the query and its annotated good rewrites (what the program retrieves
  once the rewriter works), labelled by the world's truth, positives and negatives alike. The
  filter then learns on the distribution it judges at synthesis time, where relevant and
  irrelevant products share type, words and retrieval rank.

"Relevant items" for a threshold at target recall: ``relevant``/``partial`` rewrites (what the
filter must keep) and ``yes`` pairs; ``positive_score`` maps label probabilities to that score.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import dspy
import numpy as np

from tailsynth.sources import MissingData, Source, as_source
from tailsynth.signatures import REWRITE_LABELS, YES_NO, ProductRelevance, RewriteRelevance


@dataclass(frozen=True)
class ClassifierTask:
    name: str
    signature: type[dspy.Signature]
    labels: tuple[str, ...]
    inputs: tuple[str, ...]
    output: str
    positive: tuple[str, ...]
    """Labels that count as relevant items (kept by a high-recall filter)."""

    def positive_score(self, probs: np.ndarray) -> np.ndarray:
        """Score of "relevant item" per row of ``[n, len(labels)]`` probabilities."""
        idx = [self.labels.index(lab) for lab in self.positive]
        return np.asarray(probs)[:, idx].sum(axis=1)

    def is_positive(self, labels: list[str]) -> np.ndarray:
        return np.array([lab in self.positive for lab in labels], dtype=bool)

    def prompt_inputs(self, example: dict) -> dict:
        return {k: example[k] for k in self.inputs}

    def demo(self, example: dict) -> dict:
        """The example as a prompt demo (inputs + output field)."""
        return {**self.prompt_inputs(example), self.output: example["label"]}


TASKS: dict[str, ClassifierTask] = {
    "rewrite": ClassifierTask("rewrite", RewriteRelevance, tuple(REWRITE_LABELS), ("query", "rewrite"), "label",
                              ("relevant", "partial")),
    "general": ClassifierTask("general", ProductRelevance, tuple(YES_NO), ("query", "product"), "answer", ("yes",)),
}

BAD_LABEL_MAP = {"irrelevant": "irrelevant", "partially_relevant": "partial"}


def get_task(task: str | ClassifierTask) -> ClassifierTask:
    if isinstance(task, ClassifierTask):
        return task
    if task not in TASKS:
        raise ValueError(f"unknown classifier task {task!r}; choose one of {sorted(TASKS)}")
    return TASKS[task]


def rewrite_examples(source, split: str) -> list[dict]:
    out = []
    for r in as_source(source).require("rewrite_examples", split):
        out += [{"query": r["query"], "rewrite": w, "label": "relevant", "source": "rewrite_examples"} for w in r["rewrites"]]
        out += [{"query": r["query"], "rewrite": w, "label": BAD_LABEL_MAP[lab], "source": "rewrite_examples"}
                for w, lab in zip(r["bad_rewrites"], r["bad_labels"]) if lab in BAD_LABEL_MAP]
    return out


@lru_cache(maxsize=4)
def _product_index(source: Source) -> tuple[dict[str, str], dict[str, str], dict[str, str], dict[str, list[str]], dict[str, list[str]]]:
    catalog = source.catalog()
    texts = dict(zip(catalog.ids, catalog.texts))
    facets = source.product_facets() or {}
    ptype = {pid: f[0] for pid, f in facets.items()}
    category = {pid: f[1] for pid, f in facets.items()}
    by_type: dict[str, list[str]] = {}
    by_cat: dict[str, list[str]] = {}
    for pid in catalog.ids:
        if pid in facets:
            by_type.setdefault(ptype[pid], []).append(pid)
            by_cat.setdefault(category[pid], []).append(pid)
    return texts, ptype, category, by_type, by_cat


def _judged_queries(source: Source, split: str) -> tuple[list[dict], Callable[[str], set[str]]] | None:
    """The split's queries and the full relevant sets, or None when the source lacks either."""
    queries, judgements = source.queries(split), source.judgements()
    if not queries or judgements is None or judgements.relevant_ids is None:
        return None
    if judgements.judged is not None:
        queries = [q for q in queries if q["query_id"] in judgements.judged]
    return (queries, judgements.relevant_ids) if queries else None


def longtail_pairs(source, split: str, per_query: int = 4, seed: int = 0) -> list[dict]:
    """Per query of ``split``: ``per_query`` relevant products and as many hard negatives
    (half same product type, half same category; never relevant). [] when the source has no
    product types/categories, queries of the split or full relevant sets."""
    source = as_source(source)
    judged = _judged_queries(source, split)
    if judged is None or source.product_facets() is None:
        return []
    texts, ptype, category, by_type, by_cat = _product_index(source)
    rng = random.Random(f"{seed}-{split}")
    out = []
    queries, relevant_ids = judged
    for q in queries:
        rel = relevant_ids(q["query_id"])
        if not rel:
            continue
        pos = rng.sample(sorted(rel), min(per_query, len(rel)))
        negs: list[str] = []
        for i, p in enumerate(pos):
            pool = by_type[ptype[p]] if i % 2 == 0 else by_cat[category[p]]
            for _ in range(20):  # a few tries for a non-relevant product of the same type/category
                cand = pool[rng.randrange(len(pool))]
                if cand not in rel and cand not in negs:
                    negs.append(cand)
                    break
        out += [{"query": q["text"], "product": texts[p], "label": "yes", "source": "longtail", "qtype": q["qtype"]} for p in pos]
        out += [{"query": q["text"], "product": texts[p], "label": "no", "source": "longtail", "qtype": q["qtype"]} for p in negs]
    return out


def _judged_with_texts(source, split: str):
    """``(queries, relevant_ids, product texts)`` of a split whose queries are judged, else None."""
    source = as_source(source)
    judged = _judged_queries(source, split)
    if judged is None:
        return None
    return (*judged, _product_index(source)[0])


def retrieved_negatives(source, split: str, index, per_query: int = 2, depth: int = 20) -> list[dict]:
    """Per query of ``split``: the ``per_query`` best-ranked non-relevant products among the
    index's top-``depth`` for the query text (``index``: anything with ``search(texts, k)`` returning
    ``[(product_id, score), ...]`` per text, e.g. ``CatalogIndex``)."""
    judged = _judged_with_texts(source, split)
    if judged is None:
        return []
    queries, relevant_ids, texts = judged
    hits = index.search([q["text"] for q in queries], depth) if queries else []
    out = []
    for q, row in zip(queries, hits):
        rel = relevant_ids(q["query_id"])
        negs = [pid for pid, _ in row if pid not in rel and pid in texts][:per_query]
        out += [{"query": q["text"], "product": texts[p], "label": "no", "source": "retrieved", "qtype": q["qtype"]}
                for p in negs]
    return out


def candidate_pairs(source, split: str, index, per_query: int = 8, depth: int = 50, rewrites: int = 4,
                    seed: int = 0, pair_input: str = "query") -> list[dict]:
    """Per query of ``split``: up to ``per_query`` products from the union of the index's
    top-``depth`` for the query text and its first ``rewrites`` good rewrites (the annotated
    ones, when the source has them), half relevant and half not; the negatives are half the
    best-ranked non-relevant products and half drawn from the rest of the union.

    ``pair_input="rewrite"``: each example's ``query`` is the text that retrieved the product
    best (a rewrite, or the query itself), as the program's general stage pairs them; the query
    stays in ``original_query``. Labels are the query's truth either way."""
    judged = _judged_with_texts(source, split)
    if judged is None:
        return []
    queries, relevant_ids, texts = judged
    good = {r["query_id"]: r["rewrites"][:rewrites] for r in as_source(source).rewrite_examples(split) or []}
    searched = [[q["text"], *good.get(q["query_id"], [])] for q in queries]
    hits = index.search_union(searched, k=depth) if queries else []
    rng = random.Random(f"{seed}-{split}-candidates")
    out = []
    for q, texts_q, row in zip(queries, searched, hits):
        rel = relevant_ids(q["query_id"])
        found_by = {h["product_id"]: texts_q[h["rewrite_index"]] for h in row}
        ranked = [h["product_id"] for h in row if h["product_id"] in texts]
        pos = [p for p in ranked if p in rel]
        neg = [p for p in ranked if p not in rel]
        n_pos = min(len(pos), per_query // 2)
        n_neg = min(len(neg), per_query - n_pos)
        top = neg[: (n_neg + 1) // 2]
        chosen_neg = top + rng.sample(neg[len(top):], n_neg - len(top))
        for pids, label in ((rng.sample(pos, n_pos), "yes"), (chosen_neg, "no")):
            out += [{"query": found_by[p] if pair_input == "rewrite" else q["text"], "product": texts[p], "label": label,
                     "source": "candidates", "qtype": q["qtype"], "product_id": p, "original_query": q["text"]}
                    for p in pids]
    return out


GENERAL_SOURCES = ("head", "longtail", "retrieved", "candidates")


def general_examples(source, split: str, sources: tuple[str, ...] = GENERAL_SOURCES, index=None,
                     retrieved_per_query: int = 2, candidates_per_query: int = 8, pair_input: str = "query") -> list[dict]:
    """Head pairs, long-tail pairs and (when ``index`` is given) retrieved hard negatives and
    synthesis-shaped candidates (``candidates_per_query`` a query, paired with their retrieving
    rewrite under ``pair_input="rewrite"``), of ``sources``.
    A kind the data source cannot give (no labels or queries for the split) contributes nothing."""
    source = as_source(source)
    unknown = set(sources) - set(GENERAL_SOURCES)
    if unknown:
        raise ValueError(f"unknown general example sources {sorted(unknown)}; choose from {GENERAL_SOURCES}")
    out = []
    if "head" in sources:
        out += [{"query": q, "product": text, "label": "yes" if label else "no", "source": "head"}
                for q, text, label in source.business_labels(split) or []]
    if "longtail" in sources:
        out += longtail_pairs(source, split)
    if "retrieved" in sources and index is not None and retrieved_per_query > 0:
        out += retrieved_negatives(source, split, index, retrieved_per_query)
    if "candidates" in sources and index is not None:
        out += candidate_pairs(source, split, index, per_query=candidates_per_query, pair_input=pair_input)
    return out


def examples(source, task: str | ClassifierTask, split: str, limit: int | None = None, seed: int = 0,
             balanced: bool = False, index=None, sources: tuple[str, ...] = GENERAL_SOURCES,
             candidates_per_query: int = 8, pair_input: str = "query") -> list[dict]:
    """Labelled examples of ``task`` for ``split`` ("train" or "dev"). ``limit`` draws a seeded
    random sample (balanced: round-robin over (source, label) groups, so plentiful head pairs do
    not crowd out the long-tail and retrieved ones). ``index`` adds the retrieved hard negatives to
    the general task; ``sources`` picks the general task's kinds of example, ``candidates_per_query``
    how many synthesis-shaped candidates each judged query gives, ``pair_input`` whether they pair
    the product with the query or with the rewrite that retrieved it."""
    t = get_task(task)
    source = as_source(source)
    rows = rewrite_examples(source, split) if t.name == "rewrite" else general_examples(source, split, sources, index,
                                                                                     candidates_per_query=candidates_per_query,
                                                                                     pair_input=pair_input)
    if not rows:
        raise MissingData(f"{source.name}: no {t.name}-classifier examples for split {split!r}; "
                          + (source.hint("rewrite_examples") if t.name == "rewrite" else source.hint("business_labels")))
    if not balanced:
        return sample(rows, limit, seed)
    groups = tuple(sorted({(r["source"], r["label"]) for r in rows}, key=lambda g: (g[0], t.labels.index(g[1]))))
    return sample(rows, limit, seed, True, groups, key=lambda r: (r["source"], r["label"]))


def sample(rows: list[dict], limit: int | None, seed: int = 0, balanced: bool = False,
           labels: tuple | None = None, key=lambda r: r["label"]) -> list[dict]:
    """Seeded sample of ``limit`` rows; ``balanced`` takes them round-robin over the groups
    ``labels`` of ``key(row)`` (default: the label)."""
    rng = random.Random(seed)
    if not balanced:
        rows = list(rows)
        rng.shuffle(rows)
        return rows if limit is None else rows[:limit]
    labels = labels or tuple(sorted({key(r) for r in rows}))
    pools = {lab: [r for r in rows if key(r) == lab] for lab in labels}
    for pool in pools.values():
        rng.shuffle(pool)
    out: list[dict] = []
    i = 0
    while (limit is None or len(out) < limit) and any(i < len(p) for p in pools.values()):
        for lab in labels:
            if i < len(pools[lab]) and (limit is None or len(out) < limit):
                out.append(pools[lab][i])
        i += 1
    return out
