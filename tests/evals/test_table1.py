"""Table 1 suite: both recipes come from one config, and the table/chart render the paper's layout."""

from tailsynth.evals import table1
from tailsynth.retrieval import trainer
from tailsynth.retrieval.trainer import RetrieverTrainConfig


def _results():
    row = {"item_goodrate": 0.5, "query_goodrate@10": 0.9, "query_goodrate@100": 0.4}
    better = {k: v + 0.05 for k, v in row.items()}
    return {"baseline": {"qa": row, "negative": row, "all": row},
            "baseline+synthetic": {"qa": better, "negative": better, "all": better}}


def test_both_recipes_share_every_training_knob(monkeypatch, tmp_path):
    seen = []
    metrics = []
    monkeypatch.setattr(trainer, "train_retriever", lambda cfg, b, s, store=None, dev_metric=None:
                        seen.append(cfg) or metrics.append(dev_metric) or tmp_path)
    curve = object()
    trainer.train_recipes(RetrieverTrainConfig(steps=7, batch_size=16, lr=1e-4), [("q", "p")], [("q", "p", [])], tmp_path,
                          dev_metric=curve)
    assert [c.recipe for c in seen] == ["baseline", "baseline+synthetic"]
    assert metrics == [curve, curve]  # both recipes' dev curves are measured the same way
    a, b = (c.weights_key() for c in seen)
    assert {k for k in a if a[k] != b[k]} == {"recipe"}
    assert seen[0].out_dir != seen[1].out_dir


def test_render_and_plot(tmp_path):
    table = table1.render_table1(_results())
    assert table.row_count == 3  # Q&A, Negative, all; each once
    cells = [c for col in table.columns for c in col._cells]
    assert "55.00% (+5.00pt)" in cells and "50.00%" in cells
    path = table1.plot_table1(_results(), tmp_path / "t1.png")
    assert path.stat().st_size > 0
