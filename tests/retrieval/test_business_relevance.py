"""The cross-encoder relevance model learns a toy task and survives save/load."""

import numpy as np
import pytest

from tailsynth.retrieval.business_relevance import BusinessRelevance, BusinessRelevanceConfig

QUERIES = {
    "drill for concrete walls": ("hammer drill with masonry bits", "soft cotton bath towel"),
    "stop a running toilet": ("toilet flapper replacement kit", "garden hose nozzle"),
    "non dimmable led bulb": ("standard led light bulb 60w", "wireless computer mouse"),
    "cheap alternative to dyson": ("budget cordless stick vacuum", "ceramic coffee mug"),
    "keep bread fresh": ("bread box with lid", "car tire inflator"),
    "water plants while away": ("self watering plant spikes", "bluetooth headphones"),
    "remove rust from tools": ("rust remover gel", "kids board game"),
    "quiet fan for bedroom": ("low noise tower fan", "stainless steel frying pan"),
}


def _pairs():
    queries, texts, labels = [], [], []
    for query, (pos, neg) in QUERIES.items():
        queries += [query, query]
        texts += [pos, neg]
        labels += [1, 0]
    return queries, texts, labels


@pytest.mark.integration
def test_trains_saves_loads(tmp_path):
    queries, texts, labels = _pairs()
    config = BusinessRelevanceConfig(epochs=6, batch_size=8, lr=1e-4, eval_fraction=0.0, device="cpu")
    model = BusinessRelevance.train(queries, texts, labels, config, tmp_path / "br")
    metrics = model.evaluate(queries, texts, labels)
    assert metrics["accuracy"] > 0.8, metrics
    assert set(metrics) == {"precision", "recall", "f1", "accuracy", "auc"}

    probs = model.score("stop a running toilet", ["toilet flapper replacement kit", "garden hose nozzle"])
    assert probs.shape == (2,) and np.all((probs >= 0) & (probs <= 1)) and probs[0] > probs[1]

    loaded = BusinessRelevance.load(tmp_path / "br", device="cpu")
    assert loaded.config.threshold == config.threshold
    assert loaded.metrics["split"] == "train_sample" and loaded.metrics["n"] == min(len(queries), 2000)
    # the named operating points travel with the model, whoever trained it (runner or `tailsynth train relevance`)
    points = loaded.metrics["operating_points"]
    assert {"recall=0.95", "precision=0.9"} <= set(points)
    scores = model.score_pairs(queries, texts)
    kept = scores >= points["recall=0.95"]["threshold"]
    recall = kept[np.asarray(labels) == 1].mean()  # the sample is every row here (16 < 2000)
    assert recall >= 0.95 and points["recall=0.95"]["recall"] == pytest.approx(recall)
    np.testing.assert_allclose(loaded.score_pairs(queries, texts), model.score_pairs(queries, texts), atol=1e-5)


@pytest.mark.integration
def test_the_untrained_head_learns_at_its_own_rate():
    from sentence_transformers.cross_encoder import CrossEncoder

    from tailsynth.retrieval.business_relevance import _param_groups

    model = CrossEncoder(BusinessRelevanceConfig().base_model, num_labels=1, device="cpu")
    body, head = _param_groups(model, BusinessRelevanceConfig(lr=1e-4, head_lr=1e-3))
    assert (body["lr"], head["lr"]) == (1e-4, 1e-3)
    names = {id(p): n for n, p in model.named_parameters()}
    head_names = [names[id(p)] for p in head["params"]]
    assert any("classifier" in n for n in head_names) and all("classifier" in n or "pooler" in n for n in head_names)
    assert len(body["params"]) + len(head["params"]) == len(names)
    (single,) = _param_groups(model, BusinessRelevanceConfig(lr=2e-5, head_lr=None))
    assert single["lr"] == 2e-5 and len(single["params"]) == len(names)


def test_held_out_rows_are_whole_queries():
    from tailsynth.retrieval.business_relevance import held_out_split

    queries = [f"q{i % 40}" for i in range(200)]  # 40 queries, 5 rows each
    held, train = held_out_split(queries, 0.1, seed=3)
    assert 20 <= len(held) < 25 and len(held) + len(train) == 200
    assert not {queries[i] for i in held} & {queries[i] for i in train}
    assert set(map(int, held)) | set(map(int, train)) == set(range(200))
    assert held_out_split(queries, 0.0)[0].size == 0
    assert [a.tolist() for a in held_out_split(queries, 0.1, seed=3)] == [held.tolist(), train.tolist()]
