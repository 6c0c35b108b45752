"""Non-terminal output gets one plain progress line per stage and per chunk."""

import io

from tailsynth.progress import PlainProgress, stage_progress


def test_plain_lines_per_stage_and_chunk():
    out = io.StringIO()
    with PlainProgress(out) as bar:
        task = bar.add_task("rewrite", total=5, completed=1)
        bar.advance(task, 2)
        bar.advance(task, 2)
        bar.add_task("filter", total=5, completed=5)
    lines = out.getvalue().splitlines()
    assert lines[0] == "[tailsynth] rewrite 1/5 queries done, 4 to run"
    assert lines[1].startswith("[tailsynth] rewrite 3/5 queries (") and lines[2].startswith("[tailsynth] rewrite 5/5")
    assert lines[3] == "[tailsynth] filter 5/5 queries done (nothing to run)"


def test_piped_stdout_gets_plain_progress(capsys):
    # under pytest stdout is captured, not a terminal: exactly the piped case
    assert isinstance(stage_progress(True), PlainProgress)
    assert not isinstance(stage_progress(False), PlainProgress)


def test_synthesis_run_prints_a_line_per_stage_and_chunk(tmp_path, capsys):
    from tailsynth.store import Store

    from .programs.test_synthesis import QUERIES, make_program

    make_program(tmp_path).run(QUERIES, Store(":memory:"), run_id="r", progress=True)
    lines = capsys.readouterr().err.splitlines()
    for stage in ("rewrite", "filter", "retrieve", "business", "general"):
        assert f"[tailsynth] {stage} 0/3 queries done, 3 to run" in lines
        assert sum(line.startswith(f"[tailsynth] {stage} ") for line in lines) == 3  # start + 2 chunks of 2


def test_work_progress_lines_are_throttled_and_show_fields():
    from tailsynth.progress import work_progress

    out = io.StringIO()
    with work_progress(stream=out, every_s=3600) as bar:  # piped under pytest: plain lines
        task = bar.add_task("training cross-encoder", total=100, loss=float("nan"))
        for step in range(100):
            bar.update(task, advance=1, loss=1.0 / (step + 1))
    lines = out.getvalue().splitlines()
    # the start and the last step only: 98 steps inside the interval print nothing
    assert len(lines) == 2
    assert lines[0] == "[tailsynth] training cross-encoder 0/100 steps done, 100 to run"
    assert lines[1].startswith("[tailsynth] training cross-encoder 100/100 steps (") and lines[1].endswith("loss 0.01")


def test_cross_encoder_training_prints_progress_when_piped(capsys):
    from tailsynth.retrieval.business_relevance import BusinessRelevance, BusinessRelevanceConfig

    queries, texts = ["cordless drill", "oak stain"] * 8, ["18V cordless drill", "oil-based oak wood stain"] * 8
    BusinessRelevance.train(queries, texts, [1, 0] * 8, BusinessRelevanceConfig(epochs=1, batch_size=8, eval_fraction=0.0))
    lines = [line for line in capsys.readouterr().err.splitlines() if "training cross-encoder" in line]
    assert lines[0] == "[tailsynth] training cross-encoder 0/2 steps done, 2 to run"
    assert lines[-1].startswith("[tailsynth] training cross-encoder 2/2 steps (") and " loss " in lines[-1]
