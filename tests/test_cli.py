import warnings

import pytest

from tailsynth.cli import _guard_lines, build_parser, main
from tailsynth.guards import GuardWarning
from tailsynth.store import Store
from tailsynth.store.views import VIEWS

from .programs.test_synthesis import QUERIES, make_program


@pytest.fixture()
def store_path(tmp_path):
    path = tmp_path / "store.duckdb"
    with Store(path) as store:
        make_program(tmp_path).run(QUERIES, store, run_id="cli-run", progress=False)
    return path


@pytest.mark.parametrize("view", sorted(VIEWS))
def test_inspect_views_run_on_a_real_store(store_path, view, capsys):
    assert main(["inspect", view, "--store", str(store_path)]) == 0
    out = capsys.readouterr().out
    assert view in out or "runs" in out


def test_funnel_view_counts_match_the_tables(store_path):
    with Store(store_path, read_only=True) as store:
        sql = VIEWS["funnel"].replace("$run", "$1")
        rows = store.fetch_dicts(sql, ["cli-run"])
        assert sum(r["queries"] for r in rows) == 3
        assert sum(r["pairs_kept"] for r in rows) == store.fetch("SELECT count(*) FROM pairs WHERE kept")[0][0]


def test_missing_store_is_a_clear_error(tmp_path):
    with pytest.raises(SystemExit, match="no store"):
        main(["inspect", "--store", str(tmp_path / "nope.duckdb")])


def test_help_lists_the_commands():
    text = build_parser().format_help()
    for command in ("demo", "synthesize", "inspect", "train"):
        assert command in text


def test_train_set_refuses_an_unknown_config_field_before_loading_anything(capsys):
    assert main(["train", "rewriter-sft", "--set", "learning_rate=1e-4"]) == 2
    assert "unknown keys ['learning_rate']" in capsys.readouterr().out


def test_filter_thresholds_take_a_number_or_a_stored_operating_point(tmp_path):
    import json

    from tailsynth.cli import _threshold

    for task, stored, point, expect in (("general", 0.3, 0.7, 0.7), ("rewrite", 0.2, 0.6, 0.4)):
        model = tmp_path / task
        model.mkdir()
        info = {"task": task, "filter_threshold": stored, "dev": {"operating_points": {"precision=0.9": {"threshold": point}}}}
        (model / "classifier.json").write_text(json.dumps(info))
        assert _threshold(None, str(model)) == stored
        assert _threshold("0.42", str(model)) == 0.42
        assert _threshold("precision=0.9", str(model)) == pytest.approx(expect)  # the rewrite filter's drop convention
        with pytest.raises(SystemExit, match="no stored operating point"):
            _threshold("precision=0.5", str(model))
        with pytest.raises(SystemExit, match="operating point"):
            _threshold("f1=0.9", str(model))
    assert _threshold(None, None) == 0.5
    with pytest.raises(SystemExit, match="needs the filter's own classifier dir"):
        _threshold("precision=0.9", None)


def test_demo_takes_a_trained_general_filter_and_an_operating_point():
    args = build_parser().parse_args(["demo", "--relevance-model", "/m/ce", "--general-threshold", "precision=0.9"])
    assert (args.relevance_model, args.general_threshold, args.per_type) == ("/m/ce", "precision=0.9", 20)
    plain = build_parser().parse_args(["demo"])
    assert plain.relevance_model is None and plain.general_threshold is None


def test_train_classifier_refuses_unknown_set_keys_before_loading_anything():
    with pytest.raises(SystemExit, match=r"\[model\]: unknown keys \['lrr'\]"):
        main(["train", "classifier", "--task", "general", "--method", "cross-encoder", "--set", "model.lrr=1"])
    with pytest.raises(SystemExit, match=r"unknown keys \['stepz'\]"):
        main(["train", "classifier", "--task", "rewrite", "--set", "stepz=3"])


def test_endpoint_and_lock_errors_are_one_line_without_traceback(monkeypatch, capsys):
    from tailsynth import cli
    from tailsynth.serving.errors import LMUnavailable
    from tailsynth.store.store import StoreLocked

    raised = {}
    real = cli.build_parser

    def parser():
        p = real()
        parse = p.parse_args

        def parse_args(argv):
            args = parse(argv)
            args.func = lambda a: (_ for _ in ()).throw(raised["error"])
            return args

        p.parse_args = parse_args
        return p

    monkeypatch.setattr(cli, "build_parser", parser)
    for error in (LMUnavailable("rewriter at http://x timed out after 4 attempt(s)\nmore"),
                  StoreLocked("store s is being written by pid 1")):
        raised["error"] = error
        assert cli.main(["inspect", "funnel"]) == 2
        out = capsys.readouterr().out
        assert out.startswith("error: ") and out.count("\n") == 1 and "Traceback" not in out
    monkeypatch.setenv("TAILSYNTH_DEBUG", "1")
    with pytest.raises(StoreLocked):
        cli.main(["inspect", "funnel"])


def test_synthesize_nearest_demos_option_sets_the_demo_selection():
    from tailsynth.cli import _synthesis_config

    cfg = _synthesis_config(build_parser().parse_args(["synthesize", "--nearest-demos", "3"]))
    assert (cfg.rewrite_demo_selection, cfg.rewrite_demos) == ("nearest", 3)
    assert _synthesis_config(build_parser().parse_args(["synthesize"])).rewrite_demo_selection == "fixed"


def test_a_fired_guard_rail_is_one_console_line_and_other_warnings_stay_pythons(store_path, capsys):
    others = []
    show = _guard_lines(lambda *args: others.append(args))
    show(GuardWarning("guard rail: general filter kept 99.0% of 120"), GuardWarning, "/x/checks.py", 121)
    assert capsys.readouterr().err == "warning: guard rail: general filter kept 99.0% of 120\n"
    show(UserWarning("something else"), UserWarning, "/x/mod.py", 7)
    assert [a[1:4] for a in others] == [(UserWarning, "/x/mod.py", 7)]
    before = warnings.showwarning
    assert main(["inspect", "runs", "--store", str(store_path)]) == 0
    assert warnings.showwarning is before  # the command's display does not outlive it
