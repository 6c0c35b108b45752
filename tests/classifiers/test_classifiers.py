"""Classifier datasets, label/logit mapping, thresholds at target recall (unit); optimizer and SFT
paths end to end on the real small model (integration, tiny sizes)."""

import json

import numpy as np
import pytest

from tailsynth.classifiers import TASKS, examples, threshold_at_recall
from tailsynth.classifiers.evaluate import label_probs, metrics_from_probs
from tailsynth.serving.scorer import Scorer


def test_rewrite_examples_map_world_labels(small_world):
    row = next(r for r in small_world.rewrite_examples.to_pylist() if r["split"] == "dev" and "partially_relevant" in r["bad_labels"])
    mine = [e for e in examples(small_world, "rewrite", "dev") if e["query"] == row["query"]]
    assert {e["rewrite"] for e in mine if e["label"] == "relevant"} == set(row["rewrites"])
    expected = {w: {"irrelevant": "irrelevant", "partially_relevant": "partial"}[lab] for w, lab in zip(row["bad_rewrites"], row["bad_labels"])}
    assert {e["rewrite"]: e["label"] for e in mine if e["label"] != "relevant"} == expected
    assert {e["label"] for e in examples(small_world, "rewrite", "train", limit=300)} <= set(TASKS["rewrite"].labels)


def test_general_longtail_pairs_are_true_to_the_world(small_world):
    from tailsynth.classifiers.datasets import longtail_pairs

    pairs = longtail_pairs(small_world, "dev")
    qids = {q["text"]: q["query_id"] for q in small_world.query_rows("dev")}
    texts = dict(zip(small_world.products.column("product_id").to_pylist(), small_world.product_texts()))
    by_text = {t: p for p, t in texts.items()}
    for e in pairs[:200]:
        truth = small_world.judge(qids[e["query"]], [by_text[e["product"]]])[0]
        assert truth == (e["label"] == "yes")
    assert {"yes", "no"} == {e["label"] for e in pairs}
    heads = examples(small_world, "general", "train", limit=50)
    assert {e["label"] for e in heads} <= {"yes", "no"} and len(heads) == 50


def test_retrieved_negatives_are_top_ranked_and_never_relevant(small_world, tmp_path):
    from tailsynth.classifiers.datasets import retrieved_negatives
    from tailsynth.demo import world_catalog
    from tailsynth.retrieval.catalog_index import CatalogIndex
    from tests.encoders import HashEncoder

    catalog = world_catalog(small_world)
    index = CatalogIndex.build_or_load(catalog.texts, catalog.ids, HashEncoder(), tmp_path)
    negs = retrieved_negatives(small_world, "dev", index, per_query=2, depth=20)
    queries = {q["text"]: q for q in small_world.query_rows("dev")}
    text = dict(zip(catalog.ids, catalog.texts))
    assert negs and {n["label"] for n in negs} == {"no"} and {n["source"] for n in negs} == {"retrieved"}
    for n in negs[:100]:
        q = queries[n["query"]]
        top = [p for p, _ in index.search([q["text"]], 20)[0] if p not in small_world.relevant_ids(q["query_id"])]
        # the best-ranked non-relevant ones, in rank order (by text: duplicate titles have several ids)
        assert n["product"] in [text[p] for p in top[:2]]
    # the general train set round-robins over (source, label) groups, retrieved negatives included
    rows = examples(small_world, "general", "train", limit=14, balanced=True, index=index)
    assert [(r["source"], r["label"]) for r in rows] == [
        ("candidates", "yes"), ("candidates", "no"), ("head", "yes"), ("head", "no"), ("longtail", "yes"),
        ("longtail", "no"), ("retrieved", "no")] * 2
    focused = examples(small_world, "general", "train", limit=30, balanced=True, index=index, sources=("longtail", "retrieved"))
    assert {r["source"] for r in focused} == {"longtail", "retrieved"}
    with pytest.raises(ValueError, match="unknown general example sources"):
        examples(small_world, "general", "train", sources=("clicks",))


def test_candidate_pairs_are_retrieved_true_to_the_world_and_half_positive(small_world, tmp_path):
    from tailsynth.classifiers.datasets import candidate_pairs
    from tailsynth.demo import world_catalog
    from tailsynth.retrieval.catalog_index import CatalogIndex
    from tests.encoders import HashEncoder

    catalog = world_catalog(small_world)
    index = CatalogIndex.build_or_load(catalog.texts, catalog.ids, HashEncoder(), tmp_path)
    rows = candidate_pairs(small_world, "dev", index, per_query=6, depth=30)
    assert rows and {r["source"] for r in rows} == {"candidates"} and {r["label"] for r in rows} == {"yes", "no"}
    dev = small_world.query_rows("dev")
    texts = [q["text"] for q in dev]
    queries = {q["text"]: q for q in dev if texts.count(q["text"]) == 1}  # a repeated text is two queries' rows
    good = {r["query_id"]: r["rewrites"][:4] for r in small_world.rewrite_examples.to_pylist()}
    by_text = dict(zip(catalog.texts, catalog.ids))
    per_query: dict[str, list[dict]] = {}
    for r in rows:
        per_query.setdefault(r["query"], []).append(r)
    for text, group in [(t, g) for t, g in per_query.items() if t in queries][:40]:
        q = queries[text]
        union = index.search_union([[text, *good.get(q["query_id"], [])]], k=30)[0]
        ranked = [h["product_id"] for h in union]
        pids = [r["product_id"] for r in group]
        assert [by_text[r["product"]] for r in group] == [by_text[catalog.text(p)] for p in pids]
        assert len(group) <= 6 and len(set(pids)) == len(pids) and set(pids) <= set(ranked)  # retrieved, no repeats
        for r, pid in zip(group, pids):
            assert small_world.judge(q["query_id"], [pid])[0] == (r["label"] == "yes")
        n_yes = sum(r["label"] == "yes" for r in group)
        assert n_yes <= 3
        negs = [pid for pid, r in zip(pids, group) if r["label"] == "no"]
        best = [p for p in ranked if p not in small_world.relevant_ids(q["query_id"])]
        assert negs[: (len(negs) + 1) // 2] == best[: (len(negs) + 1) // 2]  # half are the best-ranked look-alikes


def test_balanced_sample_round_robins_labels(small_world):
    rows = examples(small_world, "rewrite", "train", limit=6, balanced=True)
    assert [r["label"] for r in rows] == ["relevant", "partial", "irrelevant"] * 2


class FixedScorer(Scorer):
    """Label logits depend only on the input text, so order bookkeeping can be checked."""

    def __init__(self, table):
        super().__init__()
        self.table = table

    def _label_logits(self, prompts, labels):
        return np.array([self.table[next(k for k in self.table if k in p[-1]["content"])] for p in prompts])

    def perplexity(self, texts):
        return np.ones(len(texts))


def test_logit_mapping_keeps_row_order_and_positive_scores():
    t = TASKS["rewrite"]
    scorer = FixedScorer({"zzz": [0.0, 0.0, 5.0], "aaa": [5.0, 0.0, 0.0], "mmm": [0.0, 5.0, 0.0]})
    rows = [{"query": q, "rewrite": q, "label": lab} for q, lab in (("zzz", "irrelevant"), ("aaa", "relevant"), ("mmm", "irrelevant"))]
    probs = label_probs(scorer, t, rows)
    assert probs.argmax(1).tolist() == [2, 0, 1]
    np.testing.assert_allclose(probs.sum(1), 1.0)
    score = t.positive_score(probs)  # p(relevant) + p(partial) = 1 - p(irrelevant)
    np.testing.assert_allclose(score, 1 - probs[:, 2])
    m = metrics_from_probs(t, rows, probs)
    assert abs(m["accuracy"] - 2 / 3) < 1e-9 and m["binary_accuracy"] == pytest.approx(2 / 3)
    g = TASKS["general"]
    assert g.positive_score(np.array([[0.7, 0.3]]))[0] == pytest.approx(0.7)


def test_label_sets_have_distinct_first_tokens():
    from transformers import AutoTokenizer

    from tailsynth.serving.hf_model import resolve_lm_dir
    from tailsynth.serving.local_scorer import label_token_ids

    tok = AutoTokenizer.from_pretrained(resolve_lm_dir(None))
    for t in TASKS.values():
        assert len(set(label_token_ids(tok, t.labels))) == len(t.labels)


def test_threshold_at_recall_toy_known_answer():
    scores = [0.95, 0.9, 0.85, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05]
    truth = [1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 0, 1]  # 8 positives, ranked 1,2,4,5,7,8,10,12
    r = threshold_at_recall(scores, truth, 0.75)  # need 6 of 8 → 6th positive = 0.4
    assert r.threshold == 0.4 and r.recall == 0.75 and r.precision == pytest.approx(6 / 8)
    r = threshold_at_recall(scores, truth, 0.95)  # need ceil(7.6) = 8 → last positive 0.05, keep all
    assert r.threshold == 0.05 and r.recall == 1.0 and r.precision == pytest.approx(8 / 12)
    r = threshold_at_recall([0.5, 0.5, 0.5], [1, 0, 1], 0.5)  # ties are kept
    assert r.threshold == 0.5 and r.precision == pytest.approx(2 / 3)
    assert np.isnan(threshold_at_recall([0.1], [0]).threshold)


def test_threshold_at_precision_toy_known_answer():
    from tailsynth.thresholds import operating_points, parse_point, threshold_at_precision

    scores = [0.95, 0.9, 0.85, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05]
    truth = [1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 0, 1]
    # precision by threshold: 1, 1, 2/3, 3/4, 4/5, 4/6, 5/7, 6/8, 6/9, 7/10, 7/11, 8/12
    r = threshold_at_precision(scores, truth, 0.8)  # lowest threshold with precision >= 0.8 is 0.7 (4/5)
    assert r.threshold == 0.7 and r.precision == pytest.approx(0.8) and r.recall == pytest.approx(4 / 8)
    r = threshold_at_precision(scores, truth, 0.75)  # 0.4 reaches 6/8 exactly, and keeps more than 0.8 does
    assert r.threshold == 0.4 and r.recall == pytest.approx(6 / 8)
    assert threshold_at_precision(scores, truth, 1.0).threshold == 0.9
    r = threshold_at_precision([0.9, 0.8], [0, 1], 0.99)  # unreachable: the most precise point, below target
    assert r.threshold == 0.8 and r.precision == pytest.approx(0.5)
    assert threshold_at_precision([0.5, 0.5, 0.5], [1, 0, 1], 0.6).precision == pytest.approx(2 / 3)  # ties kept
    points = operating_points(scores, truth, recalls=(0.75,), precisions=(0.8,))
    assert set(points) == {"recall=0.75", "precision=0.8"} and points["precision=0.8"]["threshold"] == 0.7
    assert parse_point("precision=0.9") == ("precision", 0.9)
    for bad in ("precision", "f1=0.5", "recall=1.5", "recall=x"):
        with pytest.raises(ValueError, match="operating point"):
            parse_point(bad)


def test_auc_and_metrics_choose_thresholds_on_the_calibration_rows():
    from tailsynth.classifiers.evaluate import auc

    assert auc([0.9, 0.8, 0.3, 0.1], [1, 1, 0, 0]) == 1.0 and auc([0.1, 0.9], [1, 0]) == 0.0
    assert auc([0.5, 0.5], [1, 0]) == 0.5 and np.isnan(auc([0.3, 0.4], [1, 1]))
    rows = [{"query": "q", "product": str(i), "label": lab} for i, lab in enumerate(["yes", "no", "yes", "no"])]
    probs = np.array([[0.9, 0.1], [0.8, 0.2], [0.3, 0.7], [0.1, 0.9]])
    every = metrics_from_probs("general", rows, probs, 1.0)
    assert every["threshold"] == 0.3 and every["calibration_examples"] == 4 and every["auc"] == 0.75
    first = metrics_from_probs("general", rows, probs, 1.0, calibration=[True, True, False, False])
    assert first["threshold"] == 0.9 and first["calibration_examples"] == 2  # chosen on rows 0-1 only
    assert first["operating_points"]["precision=0.9"]["threshold"] == 0.9


@pytest.mark.integration
def test_optimizer_end_to_end_puts_demos_into_filter(small_world, tmp_path):
    from tailsynth.classifiers.optimize import OptimizeConfig, apply_optimized, optimize_prompt
    from tailsynth.programs.rewrite_filter import RewriteFilter
    from tailsynth.serving.local_scorer import LocalScorer

    path = optimize_prompt("rewrite", small_world, OptimizeConfig(k=3, candidates=1, select_examples=4, dev_examples=4,
                                                                  out_path=str(tmp_path / "opt.json")))
    info = json.loads(path.read_text())
    assert len(info["candidates"]) == 2 and info["candidates"][0]["demos"] == []
    assert [d["label"] for d in info["candidates"][1]["demos"]] == ["relevant", "partial", "irrelevant"]
    filt = apply_optimized(RewriteFilter(LocalScorer()), path)
    assert filt.demos == info["demos"] and filt.drop_threshold == pytest.approx(info["filter_threshold"])
    (j,) = filt.judge([("toilet keeps running", "toilet flapper")])
    assert j.label in TASKS["rewrite"].labels and abs(sum(j.probs) - 1) < 1e-6


@pytest.mark.integration
def test_sft_end_to_end_saves_a_loadable_classifier(small_world, tmp_path):
    from tailsynth.classifiers.finetune import ClassifierConfig, filter_threshold, load_filter, train_classifier
    from tailsynth.programs.general_relevance import GeneralRelevanceFilter

    out = train_classifier("general", small_world, ClassifierConfig(steps=1, batch_size=2, train_examples=20, dev_examples=4,
                                                                    out_dir=str(tmp_path / "clf"), live=False))
    info = json.loads((out / "classifier.json").read_text())
    assert info["task"] == "general" and info["labels"] == ["yes", "no"] and 0 <= info["dev"]["accuracy"] <= 1
    filt = load_filter(out)
    assert isinstance(filt, GeneralRelevanceFilter) and filt.threshold == filter_threshold(out) == info["threshold"]
    p = filt.p_yes([("toilet keeps running", "toilet flapper"), ("toilet keeps running", "garden hose")])
    assert p.shape == (2,) and np.all((p >= 0) & (p <= 1))


@pytest.mark.integration
def test_cross_encoder_backend_trains_and_serves_the_general_filter(small_world, tmp_path):
    from tailsynth.classifiers.cross_encoder import CrossEncoderClassifierConfig, train_cross_encoder_classifier
    from tailsynth.classifiers.finetune import filter_threshold, load_filter
    from tailsynth.config import LMConfig
    from tailsynth.programs.general_relevance import GeneralRelevanceFilter
    from tailsynth.retrieval.business_relevance import BusinessRelevanceConfig
    from tailsynth.serving import make_scorer
    from tailsynth.serving.cross_encoder_scorer import CrossEncoderScorer
    from tailsynth.signatures import REWRITE_LABELS, RewriteRelevance

    config = CrossEncoderClassifierConfig(train_examples=48, dev_examples=16, out_dir=str(tmp_path / "ce"),
                                          model=BusinessRelevanceConfig(epochs=1, batch_size=16, eval_fraction=0.0))
    out = train_cross_encoder_classifier(small_world, config)
    info = json.loads((out / "classifier.json").read_text())
    assert info["backend"] == "cross-encoder" and info["task"] == "general" and info["train_examples"] == 48
    scorer = make_scorer(LMConfig(model=str(out)))
    assert isinstance(scorer, CrossEncoderScorer)
    filt = load_filter(out)
    assert isinstance(filt, GeneralRelevanceFilter) and filt.threshold == filter_threshold(out)
    assert filter_threshold(out, "precision=0.9") == info["dev"]["operating_points"]["precision=0.9"]["threshold"]
    with pytest.raises(ValueError, match="no stored operating point"):
        filter_threshold(out, "precision=0.5")
    pairs = [("toilet keeps running", "toilet flapper"), ("toilet keeps running", "garden hose")]
    probs = scorer.label_probs(filt.signature, [{"query": q, "product": t} for q, t in pairs], ("yes", "no"))
    np.testing.assert_allclose(probs.sum(1), 1.0)
    np.testing.assert_allclose(filt.p_yes(pairs), probs[:, 0])
    # it can never judge rewrites: three labels are refused, not squeezed into yes/no
    with pytest.raises(ValueError, match="yes/no decision"):
        scorer.label_probs(RewriteRelevance, [{"query": "a", "rewrite": "b"}], REWRITE_LABELS)


def test_candidates_per_query_sets_how_many_candidates_each_judged_query_gives(small_world, tmp_path):
    from collections import Counter

    from tailsynth.classifiers.datasets import examples
    from tailsynth.demo import world_catalog
    from tailsynth.retrieval.catalog_index import CatalogIndex
    from tests.encoders import HashEncoder

    catalog = world_catalog(small_world)
    index = CatalogIndex.build_or_load(catalog.texts, catalog.ids, HashEncoder(), tmp_path)
    counts = {}
    for per_query in (4, 12):
        rows = examples(small_world, "general", "dev", index=index, sources=("candidates",), candidates_per_query=per_query)
        counts[per_query] = Counter(r["query"] for r in rows)
        assert max(counts[per_query].values()) <= per_query * 2  # a text shared by two dev queries gives both their rows
    assert sum(counts[12].values()) > 2 * sum(counts[4].values())
    assert set(counts[4]) == set(counts[12])  # the same judged queries, more candidates each


def test_rewrite_input_candidates_pair_each_product_with_the_text_that_retrieved_it(small_world, tmp_path):
    from tailsynth.classifiers.datasets import candidate_pairs
    from tailsynth.demo import world_catalog
    from tailsynth.retrieval.catalog_index import CatalogIndex
    from tailsynth.sources import as_source
    from tests.encoders import HashEncoder

    catalog = world_catalog(small_world)
    index = CatalogIndex.build_or_load(catalog.texts, catalog.ids, HashEncoder(), tmp_path)
    by_query = candidate_pairs(small_world, "train", index, per_query=6, depth=30)
    by_rewrite = candidate_pairs(small_world, "train", index, per_query=6, depth=30, pair_input="rewrite")
    strip = lambda rows: [{k: v for k, v in r.items() if k != "query"} for r in rows]  # noqa: E731
    assert strip(by_rewrite) == strip(by_query)  # the same products and labels, only the text beside them differs
    good = {r["query_id"]: r["rewrites"][:4] for r in as_source(small_world).rewrite_examples("train")}
    rows = small_world.query_rows("train")
    texts = [q["text"] for q in rows]
    queries = {q["text"]: q for q in rows if texts.count(q["text"]) == 1}  # a repeated text is two queries' rows
    checked = 0
    for r in by_rewrite:
        if r["original_query"] not in queries:
            continue
        q = queries[r["original_query"]]
        searched = [q["text"], *good.get(q["query_id"], [])]
        best = {h["product_id"]: searched[h["rewrite_index"]] for h in index.search_union([searched], k=30)[0]}
        assert r["query"] == best[r["product_id"]]
        checked += r["query"] != r["original_query"]
    assert checked > len(by_rewrite) // 4  # many are found by a rewrite, not by the query


def test_a_rewrite_input_filter_records_its_input_and_the_program_sends_it(small_world, tmp_path):
    from tailsynth.catalog import Catalog
    from tailsynth.classifiers.cross_encoder import CrossEncoderClassifierConfig, train_cross_encoder_classifier
    from tailsynth.config import LMConfig, SynthesisConfig
    from tailsynth.demo import world_catalog
    from tailsynth.programs.build import ProgramSpec
    from tailsynth.retrieval.business_relevance import BusinessRelevanceConfig
    from tailsynth.retrieval.catalog_index import CatalogIndex
    from tests.encoders import HashEncoder

    catalog = world_catalog(small_world)
    index = CatalogIndex.build_or_load(catalog.texts, catalog.ids, HashEncoder(), tmp_path / "idx")
    config = CrossEncoderClassifierConfig(train_examples=32, dev_examples=16, out_dir=str(tmp_path / "ce"),
                                          sources=("candidates",), pair_input="rewrite",
                                          model=BusinessRelevanceConfig(epochs=1, batch_size=16, eval_fraction=0.0))
    out = train_cross_encoder_classifier(small_world, config, index=index)
    assert json.loads((out / "classifier.json").read_text())["pair_input"] == "rewrite"
    spec = ProgramSpec(SynthesisConfig(relevance_lm=LMConfig(model=str(out))), Catalog(["p"], ["a product"]))
    assert spec.general_filter().pair_input == "rewrite"
    assert ProgramSpec(SynthesisConfig(), Catalog(["p"], ["a product"])).general_filter().pair_input == "query"
    with pytest.raises(ValueError, match="unknown general filter pair_input"):
        train_cross_encoder_classifier(small_world, CrossEncoderClassifierConfig(pair_input="title"), index=index)
