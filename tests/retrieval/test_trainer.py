"""Dense-retriever trainer: batch planning (the fair-comparison guarantee), one real MiniLM run,
resume from a checkpoint, and reading synthetic pairs with hard negatives from the store."""

import json
from collections import Counter

import pytest
import torch

from tailsynth.retrieval import trainer as T
from tailsynth.retrieval.losses import InBatchNegativesLoss
from tailsynth.store import Store

BASE = [(f"query {i} {w}", f"product {i} {w} tool") for i, w in enumerate(
    ["drill", "towel", "hose", "paint", "ladder", "glue", "lamp", "fan", "rake", "saw", "tape", "caulk"])]
SYN = [("how do I stop a running toilet", "flapper valve kit", ["toilet paper holder"]),
       ("how do I stop a running toilet", "fill valve replacement", ["toilet paper holder"]),
       ("paint that is not glossy", "matte interior paint", ["high gloss enamel paint"]),
       ("cheaper alternative to Dyson", "budget cordless stick vacuum", []),
       ("keep mosquitoes away", "citronella candle", ["scented candle"]),
       ("dry basement", "dehumidifier 50 pint", ["humidifier"])]


def _config(tmp_path, **kw):
    base = dict(steps=3, batch_size=4, lr=1e-4, max_seq_length=24, checkpoint_every=100,
                out_dir=str(tmp_path / "run"), show_progress=False, warmup_ratio=0.0)
    return T.RetrieverTrainConfig(**{**base, **kw})


def test_plan_gives_every_recipe_the_same_batches_count_and_size():
    keys_b = [(q, p) for q, p in BASE]
    keys_s = [(q, p) for q, p, _ in SYN]
    base = T.plan_batches(keys_b, None, 20, 4, 0.5, seed=0)
    mixed = T.plan_batches(keys_b, keys_s, 20, 4, 0.5, seed=0)
    assert len(base) == len(mixed) == 20
    assert all(len(b) == 4 for b in base + mixed)
    assert all(Counter(src for src, _ in b) == {"baseline": 2, "synthetic": 2} for b in mixed)
    assert all({src for src, _ in b} == {"baseline"} for b in base)
    # no repeated query or positive inside a batch (they would be false in-batch negatives)
    for batch in mixed:
        rows = [keys_b[i] if src == "baseline" else keys_s[i] for src, i in batch]
        assert len({q for q, _ in rows}) == len({p for _, p in rows}) == 4
    assert T.plan_batches(keys_b, keys_s, 20, 4, 0.5, seed=0) == mixed  # deterministic (resume replays it)
    # every baseline row is used before any repeats
    assert {i for b in base[:3] for _, i in b} == set(range(len(BASE)))


def test_mixed_recipe_needs_synthetic_pairs(tmp_path):
    with pytest.raises(ValueError, match="synthetic"):
        T.train_retriever(_config(tmp_path, recipe="baseline+synthetic"), BASE, None)
    with pytest.raises(ValueError):
        T.RetrieverTrainConfig(recipe="synthetic-only")


def _fixed_batch_loss(path, rows):
    model = T.load_model(path, "cpu", 24)
    model.eval()
    with torch.no_grad():
        q = T.embed(model, [r[0] for r in rows], torch.device("cpu"))
        p = T.embed(model, [r[1] for r in rows], torch.device("cpu"))
    return InBatchNegativesLoss(0.05)(q, p).item()


def test_real_training_lowers_the_loss_and_saves_an_encoder_dir(tmp_path):
    from tailsynth.retrieval.encoder import Encoder

    rows = BASE[:4]
    store = Store(":memory:")
    path = T.train_retriever(_config(tmp_path, steps=3), rows, store=store)
    before, after = _fixed_batch_loss(None, rows), _fixed_batch_loss(path, rows)
    assert after < before
    assert Encoder(path).encode(["drill"]).shape == (1, 384)
    meta = json.loads((path / T.TRAIN_META).read_text())
    assert meta["examples_seen"] == 3 * 4 and meta["steps"] == 3
    logged = store.fetch("SELECT step, value FROM train_log WHERE metric = 'loss' ORDER BY step")
    assert [s for s, _ in logged] == [1, 2, 3]
    assert (tmp_path / "run" / "loss.png").stat().st_size > 0
    # same config and data: returned without training again
    assert T.train_retriever(_config(tmp_path, steps=3), rows, store=store) == path


def test_resume_from_checkpoint_matches_an_uninterrupted_run(tmp_path, monkeypatch):
    full = T.train_retriever(_config(tmp_path, steps=4, out_dir=str(tmp_path / "full")), BASE)

    real_save, calls = T._save_checkpoint, []

    def save_then_crash(*args, **kwargs):
        real_save(*args, **kwargs)
        calls.append(args[4])
        raise KeyboardInterrupt("simulated crash after the checkpoint")

    cfg = _config(tmp_path, steps=4, checkpoint_every=2, out_dir=str(tmp_path / "crash"))
    monkeypatch.setattr(T, "_save_checkpoint", save_then_crash)
    with pytest.raises(KeyboardInterrupt):
        T.train_retriever(cfg, BASE)
    assert calls == [2] and (tmp_path / "crash" / "checkpoint" / "state.pt").exists()
    monkeypatch.setattr(T, "_save_checkpoint", real_save)
    resumed = T.train_retriever(cfg, BASE)
    losses = json.loads((tmp_path / "crash" / "losses.json").read_text())
    assert len(losses) == 4  # two from before the crash, two after
    a = T.load_model(full, "cpu", 24).state_dict()
    b = T.load_model(resumed, "cpu", 24).state_dict()
    for name in a:
        torch.testing.assert_close(a[name], b[name], atol=1e-5, rtol=1e-4)
    # a checkpoint of a different config is not silently reused
    T._save_checkpoint(tmp_path / "crash" / "checkpoint", T.load_model(None, "cpu", 24), *_dummy_opt())
    with pytest.raises(ValueError, match="another config"):
        T.train_retriever(_config(tmp_path, steps=5, out_dir=str(tmp_path / "crash")), BASE)


def _dummy_opt():
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.AdamW([p])
    return opt, torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0), 1, [], {"other": True}


def test_both_recipes_see_the_same_steps_and_examples(tmp_path):
    store = Store(":memory:")
    metas = {}
    for recipe in T.RECIPES:
        cfg = _config(tmp_path, steps=2, recipe=recipe, out_dir=str(tmp_path / recipe))
        path = T.train_retriever(cfg, BASE, SYN, store=store)
        metas[recipe] = json.loads((path / T.TRAIN_META).read_text())
    assert metas["baseline"]["examples_seen"] == metas["baseline+synthetic"]["examples_seen"] == 2 * 4
    assert metas["baseline"]["synthetic_rows_per_batch"] == 0
    assert metas["baseline+synthetic"]["synthetic_rows_per_batch"] == 2
    steps = store.fetch("SELECT run_id, count(*) FROM train_log WHERE metric = 'loss' GROUP BY run_id")
    assert sorted(n for _, n in steps) == [2, 2]


def test_pairs_from_store_reads_kept_pairs_and_hard_negatives():
    store = Store(":memory:")
    store.insert("queries", [("r1", "q1", "toilet keeps running", "qa"), ("r1", "q2", "matte paint", "negative")])
    store.insert("pairs", [
        ("r1", "q1", "p1", 1, 3, 0.9, 0.9, True),
        ("r1", "q1", "p2", 1, 1, 0.8, 0.2, False),  # rejected, well ranked: hard negative
        ("r1", "q1", "p3", 2, 90, 0.1, None, False),  # rejected, ranked too low
        ("r1", "q1", "p4", 2, 2, 0.7, None, None),  # not judged yet: neither
        ("r1", "q2", "p5", 1, 1, 0.9, 0.9, True),
        ("r2", "q1", "p9", 1, 1, 0.9, 0.9, True),  # another run
    ])
    rows = T.pairs_from_store(store, "r1", max_negatives=4, max_negative_rank=50)
    assert rows == [("toilet keeps running", "p1", ["p2"]), ("matte paint", "p5", [])]


def _dev_curve(k=3):
    from tailsynth.catalog import Catalog
    from tailsynth.evals.dev_curve import DevCurve

    catalog = Catalog(ids=[f"p{i}" for i in range(len(BASE))], texts=[p for _, p in BASE])
    queries = [{"query_id": f"q{i}", "text": q} for i, (q, _) in enumerate(BASE[:6])]
    truth = {f"q{i}": {f"p{i}", f"p{(i + 1) % len(BASE)}"} for i in range(6)}
    return DevCurve(catalog, queries, lambda qid, pids: [p in truth[qid] for p in pids], k), catalog, queries, truth


def test_dev_curve_points_every_dev_every_steps_and_leave_the_weights_alone(tmp_path):
    from tailsynth.evals.metrics import item_goodrate
    from tailsynth.evals.retrieval_eval import load_encoder, retrieve

    curve, catalog, queries, truth = _dev_curve()
    store = Store(":memory:")
    plain = T.train_retriever(_config(tmp_path, steps=4, out_dir=str(tmp_path / "plain")), BASE)
    cfg = _config(tmp_path, steps=4, dev_every=2, out_dir=str(tmp_path / "dev"))
    path = T.train_retriever(cfg, BASE, store=store, dev_metric=curve)
    points = json.loads((tmp_path / "dev" / "dev_curve.json").read_text())
    assert [p["step"] for p in points] == [0, 2, 4]
    assert json.loads((path / T.TRAIN_META).read_text())["dev_curve"] == points
    logged = store.fetch("SELECT step, value FROM train_log WHERE metric = 'dev:item_goodrate@3' ORDER BY step")
    assert logged == [(p["step"], pytest.approx(p["item_goodrate@3"])) for p in points]
    # the point before training is the untrained encoder's Item Goodrate through the eval suite's FAISS path
    hits = retrieve(load_encoder(None), catalog, queries, k=3, index_dir=tmp_path / "idx")
    assert points[0]["item_goodrate@3"] == pytest.approx(item_goodrate(
        [[p in truth[q["query_id"]] for p in row] for q, row in zip(queries, hits)]))
    # measuring the curve does not change what is trained
    a, b = T.load_model(plain, "cpu", 24).state_dict(), T.load_model(path, "cpu", 24).state_dict()
    for name in a:
        torch.testing.assert_close(a[name], b[name])


def test_dev_curve_resumes_without_repeating_a_point(tmp_path, monkeypatch):
    curve, *_ = _dev_curve()
    real_save = T._save_checkpoint

    def save_then_crash(*args, **kwargs):
        real_save(*args, **kwargs)
        raise KeyboardInterrupt("simulated crash after the checkpoint")

    cfg = _config(tmp_path, steps=4, dev_every=1, checkpoint_every=2, out_dir=str(tmp_path / "crash"))
    monkeypatch.setattr(T, "_save_checkpoint", save_then_crash)
    with pytest.raises(KeyboardInterrupt):
        T.train_retriever(cfg, BASE, dev_metric=curve)
    monkeypatch.setattr(T, "_save_checkpoint", real_save)
    path = T.train_retriever(cfg, BASE, dev_metric=curve)
    assert [p["step"] for p in json.loads((path / T.TRAIN_META).read_text())["dev_curve"]] == [0, 1, 2, 3, 4]
