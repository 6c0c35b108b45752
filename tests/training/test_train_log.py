"""Training progress that can be watched from a log file: plain lines when stderr is not a terminal."""

import json

from tailsynth.training.train_log import TrainLogger


def test_piped_output_gets_one_plain_line_per_step_and_the_jsonl_keeps_every_metric(tmp_path, capsys):
    logger = TrainLogger("run-a", tmp_path, live=True, title="rewriter SFT")  # pytest's stderr is not a terminal
    logger.log(1, {"loss": 1.25, "lr": 2e-4})
    logger.log(2, {"loss": 0.75, "lr": 1e-4})
    logger.close()
    err = capsys.readouterr().err
    assert err.splitlines() == ["[tailsynth] rewriter SFT step 1: loss 1.25, lr 0.0002",
                                "[tailsynth] rewriter SFT step 2: loss 0.75, lr 0.0001"]
    rows = [json.loads(line) for line in (tmp_path / "train_log.jsonl").read_text().splitlines()]
    assert rows == [{"step": 1, "loss": 1.25, "lr": 2e-4}, {"step": 2, "loss": 0.75, "lr": 1e-4}]
    assert (tmp_path / "curves.png").stat().st_size > 0


def test_not_live_prints_nothing(tmp_path, capsys):
    logger = TrainLogger("run-b", tmp_path, live=False)
    logger.log(1, {"loss": 1.0})
    logger.close()
    assert capsys.readouterr().err == ""
