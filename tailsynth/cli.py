"""``tailsynth`` command line: thin over the Python API (each command is a few calls you can make yourself)."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import warnings
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

import tailsynth  # noqa: F401 - applies the offline defaults before any model library loads
from tailsynth.config import LMConfig, SynthesisConfig
from tailsynth.store import DEFAULT_STORE, Store

console = Console()
warn_console = Console(stderr=True)


def _table(title: str, rows: list[dict]) -> Table:
    table = Table(title=title)
    for name in rows[0] if rows else []:
        table.add_column(str(name), overflow="fold")
    for row in rows:
        table.add_row(*(f"{v:.3f}" if isinstance(v, float) else str(v) for v in row.values()))
    return table


def _source(args: argparse.Namespace):
    """The command's data source (``--data world|PATH.toml``), loaded once."""
    if getattr(args, "_source", None) is None:
        from tailsynth.sources import load_source

        args._source = load_source(getattr(args, "data", "world"))
    return args._source


def _add_data_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", default="world", metavar="world|PATH.toml",
                   help="the demo world, or a run config whose [data.*] tables name your files (default: %(default)s)")


def _queries(args: argparse.Namespace, source, world_limit: int | None = None) -> list[dict]:
    """The source's queries of ``--split``, ``--limit`` per type (not given: all of them; on the
    demo world ``world_limit`` when set)."""
    from tailsynth.sources.world import WorldSource

    limit = args.limit if args.limit is not None else (world_limit if isinstance(source, WorldSource) else None)
    return source.require("queries", args.split, limit=limit)


DEMO_QUERIES_PER_TYPE = 20


def _synthesis_config(args: argparse.Namespace) -> SynthesisConfig:
    """The options over ``SynthesisConfig``'s defaults (an option not given keeps its default)."""
    given = {name: value for name, value in (("k", args.k), ("top_k", args.top_k), ("business_threshold", args.business_threshold),
                                             ("max_general_per_query", args.max_general)) if value is not None}
    if getattr(args, "nearest_demos", None):
        given |= {"rewrite_demo_selection": "nearest", "rewrite_demos": args.nearest_demos}
    return SynthesisConfig(
        **given,
        rewriter=LMConfig(model=args.rewriter, api_base=args.rewriter_api_base),
        general=LMConfig(model=args.general, api_base=args.general_api_base),
        rewrite_filter_lm=LMConfig(model=args.rewrite_filter_model) if args.rewrite_filter_model else None,
        relevance_lm=LMConfig(model=args.relevance_model) if args.relevance_model else None,
        encoder=args.encoder,
        business_model=args.business_model,
        general_threshold=_threshold(args.general_threshold, args.relevance_model),
        rewrite_drop_threshold=_threshold(args.rewrite_drop_threshold, args.rewrite_filter_model),
        include_original=not args.no_original,
    )


def _threshold(given: str | None, model_dir: str | None) -> float:
    """A number wins; a named operating point (``precision=0.9``) or nothing reads the fine-tuned
    classifier dir's stored threshold; else 0.5 (a name without a classifier dir is an error)."""
    from tailsynth.classifiers.finetune import CLASSIFIER_FILE, filter_threshold

    stored = bool(model_dir) and (Path(model_dir) / CLASSIFIER_FILE).exists()
    if given is not None:
        try:
            return float(given)
        except ValueError:
            if not stored:
                raise SystemExit(f"threshold {given!r}: a named operating point needs the filter's own classifier dir "
                                 "(--relevance-model / --rewrite-filter-model)") from None
    if not stored:
        return 0.5
    try:
        thr = filter_threshold(model_dir, given)
    except ValueError as e:
        raise SystemExit(str(e)) from None
    console.print(f"{model_dir}: stored threshold {thr:.3f}" + (f" ({given})" if given else ""))
    return thr


def _add_general_filter_options(p: argparse.ArgumentParser) -> None:
    """The general relevance filter's own model and its threshold (synthesis commands and the demo)."""
    p.add_argument("--relevance-model", default=None,
                   help="the general relevance filter's own model dir (`train classifier --task general` output, "
                        "LM or cross-encoder) instead of the --general LM")
    p.add_argument("--general-threshold", default=None,
                   help="keep pairs with p_yes >= this, or a stored dev operating point of --relevance-model such as "
                        "precision=0.9 or recall=0.8 (default: its stored threshold, else 0.5)")


def _add_synthesis_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--store", default=DEFAULT_STORE, help="DuckDB file to write (default: %(default)s)")
    p.add_argument("--run-id", default=None, help="rerun the same id to resume (default: derived from the config)")
    _add_data_option(p)
    p.add_argument("--k", type=int, default=None, help="rewrites per query (default: SynthesisConfig's)")
    p.add_argument("--rewriter", default=None, help="rewriter LM: HF dir, or model name with --rewriter-api-base")
    p.add_argument("--rewriter-api-base", default=None, help="OpenAI-compatible endpoint (vLLM) for the rewriter")
    p.add_argument("--general", default=None, help="general LLM for both filters: HF dir, or name with --general-api-base")
    p.add_argument("--general-api-base", default=None)
    p.add_argument("--encoder", default=None, help="sentence-transformers dir (default: packaged all-MiniLM-L6-v2)")
    p.add_argument("--top-k", type=int, default=None, help="products retrieved per rewrite (default: SynthesisConfig's)")
    p.add_argument("--nearest-demos", type=int, default=None, metavar="N",
                   help="give the rewriter each query's N nearest annotated training queries as demos (rewrite_demo_selection)")
    p.add_argument("--business-model", default=None,
                   help="trained cross-encoder dir (default: the data's own, trained by `train relevance` or on first use)")
    p.add_argument("--business-threshold", type=float, default=None, help="default: SynthesisConfig's")
    p.add_argument("--rewrite-filter-model", default=None,
                   help="the rewrite filter's own LM dir (e.g. `train classifier --task rewrite` output)")
    _add_general_filter_options(p)
    p.add_argument("--rewrite-drop-threshold", default=None,
                   help="drop rewrites with p(irrelevant) > this, or a stored operating point of --rewrite-filter-model "
                        "(default: its stored one, else 0.5)")
    p.add_argument("--max-general", type=int, default=None,
                   help="LM-scored candidates per query (best business scores; default: SynthesisConfig's)")
    p.add_argument("--no-original", action="store_true", help="retrieve with the rewrites only, not the query itself")


def cmd_demo(args: argparse.Namespace) -> int:
    from tailsynth.demo import run_demo

    run_demo(per_type=args.per_type, store_path=args.store, relevance_model=args.relevance_model,
             general_threshold=_threshold(args.general_threshold, args.relevance_model))
    return 0


def cmd_synthesize(args: argparse.Namespace) -> int:
    from tailsynth.programs.for_source import source_program

    if args.engine != "ray":
        Store(args.store).close()  # a second writer is refused here, before any model loads
    source = _source(args)
    queries = _queries(args, source, world_limit=DEMO_QUERIES_PER_TYPE)
    program = source_program(source, _synthesis_config(args))
    if args.engine == "ray":  # Parquet shards under --store (a directory); see tailsynth.engines
        from tailsynth.engines import EngineConfig, run_synthesis

        engine = EngineConfig(kind="ray", address=args.ray_address, num_workers=args.workers)
        summary = run_synthesis(program, queries, args.store, engine, run_id=args.run_id)
    else:
        with Store(args.store) as store:
            summary = program.run(queries, store, run_id=args.run_id)
    from tailsynth.store.shards import open_store

    with open_store(args.store) as store:
        _print_view(store, "funnel", summary.run_id, 100)
    console.print(f"run [bold]{summary.run_id}[/]: {summary.funnel}")
    return 0


def _print_view(store: Store, view: str, run_id: str | None, limit: int) -> None:
    from tailsynth.store.views import VIEWS

    if run_id is None:
        run_id = _latest_synthesis_run(store)
    sql = VIEWS[view].replace("$run", "$1").replace("$limit", "$2")
    params = [run_id, limit] if "$2" in sql else [run_id]
    if "$1" not in sql:
        sql, params = sql.replace("$2", "$1"), [limit]
    state = store.fetch("SELECT finished_at IS NULL FROM runs WHERE run_id = ?", [run_id])
    note = " - run in progress: the chunks committed so far" if state and state[0][0] else ""
    console.print(_table(f"{view} ({run_id}){note}", store.fetch_dicts(sql, params)))


def cmd_inspect(args: argparse.Namespace) -> int:
    if not Path(args.store).exists():
        raise SystemExit(f"no store at {args.store}; run `tailsynth synthesize` or `tailsynth demo` first")
    from tailsynth.store.shards import open_store  # a directory of Ray shards reads like the DuckDB store

    with open_store(args.store, read_only=True) as store:
        _print_view(store, args.view, args.run_id, args.limit)
    return 0


def cmd_train_relevance(args: argparse.Namespace) -> int:
    from tailsynth.programs.for_source import ensure_business_model

    out = ensure_business_model(_source(args), Path(args.out) if args.out else None, max_examples=args.max_examples)
    console.print(f"business relevance model: {out}")
    from tailsynth.retrieval.business_relevance import read_metadata

    console.print(read_metadata(out).get("metrics"))
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    import time

    from tailsynth.serving.vllm_launcher import ServeSpec, launch_servers

    models = {role: ServeSpec(model=path) for role, path in (("policy", args.policy), ("general", args.general), ("pda", args.pda)) if path}
    with launch_servers(models, run_config=args.run_config) as group:
        for role, endpoint in group.endpoints().items():
            console.print(f"{role}: {endpoint.model} at {endpoint.api_base}")
        console.print(f"endpoints written to {args.run_config}; Ctrl-C stops the servers")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
    return 0


def _latest_synthesis_run(store: Store) -> str:
    from tailsynth.store.reads import latest_synthesis_run

    return latest_synthesis_run(store)


def _retriever_config(args: argparse.Namespace, **overrides):
    from tailsynth.retrieval.trainer import RetrieverTrainConfig

    return RetrieverTrainConfig(steps=args.steps, batch_size=args.batch_size, lr=args.lr,
                                temperature=args.temperature, hard_negatives=not args.no_hard_negatives, **overrides)


def cmd_train_retriever(args: argparse.Namespace) -> int:
    from tailsynth.retrieval.trainer import baseline_pairs, pairs_from_store, synthetic_texts, train_retriever

    source = _source(args)
    catalog = source.catalog()
    with Store(args.store) as store:
        synthetic = None
        if args.recipe == "baseline+synthetic":
            run_id = args.run_id or _latest_synthesis_run(store)
            synthetic = synthetic_texts(pairs_from_store(store, run_id), catalog)
        overrides = {"out_dir": args.out} if args.out else {}
        path = train_retriever(_retriever_config(args, recipe=args.recipe, **overrides),
                               baseline_pairs(source), synthetic, store=store)
    console.print(f"retriever: {path}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from tailsynth.export import export_pairs

    catalog = _source(args).catalog()
    from tailsynth.store.shards import open_store  # a Ray run's shards export like the DuckDB store

    with open_store(args.store) as store:
        paths = export_pairs(store, args.run_id or _latest_synthesis_run(store), catalog, args.out)
    for path in paths:
        console.print(str(path))
    return 0


def cmd_eval_retrieval(args: argparse.Namespace) -> int:
    from tailsynth.evals.retrieval_eval import evaluate_retriever

    catalog, queries, judge, relevant = _eval_data(args)
    with Store(args.store) as store:
        results = evaluate_retriever(args.model, catalog, queries, judge, relevant_ids=relevant, store=store,
                                     run_id=args.eval_id, system=args.model or "minilm-untrained")
    console.print(_table("retrieval", [{"qtype": q, **m} for q, m in results.items()]))
    return 0


def _eval_data(args: argparse.Namespace):
    """(catalog, queries, judge, relevant_ids) of the command's data source."""
    source = _source(args)
    judgements = source.require("judgements")
    return source.catalog(), _queries(args, source), judgements.judge, judgements.relevant_ids


def cmd_eval_table1(args: argparse.Namespace) -> int:
    from tailsynth.evals.table1 import Table1Config, plot_table1, render_table1, table1_on_source

    config = Table1Config(train=_retriever_config(args), split=args.split, limit=args.limit)
    with Store(args.store) as store:
        results = table1_on_source(_source(args), store, args.run_id or _latest_synthesis_run(store), config)
    console.print(render_table1(results))
    console.print(f"chart: {plot_table1(results, Path(config.out_dir) / 'table1.png')}")
    return 0


def cmd_eval_sbs(args: argparse.Namespace) -> int:
    from tailsynth.evals.sbs import render_sbs, side_by_side

    catalog, queries, judge, _ = _eval_data(args)
    with Store(args.store) as store:
        results = side_by_side(args.new, args.base, catalog, queries, judge, store=store)
    console.print(render_sbs(results))
    return 0


def cmd_train_rewriter(args: argparse.Namespace) -> int:
    """rewriter-sft | qsr | pda | rewriter-rl: the trainers of tailsynth.training, on ``--data``.
    Any config field can be set with ``--set field=value`` (e.g. ``--set lr=1e-4``)."""
    from tailsynth import training
    from tailsynth.config import from_dict, parse_overrides

    overrides = {"steps": args.steps} if args.steps else {}
    if args.threads:
        overrides["num_threads"] = args.threads
    if args.out:
        overrides["out_dir"] = args.out
    if args.what == "rewriter-rl":
        overrides.update(use_pda=not args.no_pda, pda_mode=args.pda_mode, baseline=args.baseline,
                         ppo_epochs=args.ppo_epochs)
    config_cls, train = {
        "rewriter-sft": (training.SFTConfig, training.train_rewriter_sft),
        "qsr": (training.QSRConfig, training.train_qsr),
        "pda": (training.PDAConfig, training.train_pda),
        "rewriter-rl": (training.RLConfig, training.train_rewriter_rl),
    }[args.what]
    config = from_dict(config_cls, {**overrides, **parse_overrides(args.set)})
    source = _source(args)
    if args.what == "rewriter-rl":
        with Store(args.store) as store:
            path = train(source, config, store)
    else:
        path = train(source, config)
    console.print(f"{args.what}: {path}")
    metrics = Path(path) / "metrics.json"
    if metrics.exists():
        console.print(json.loads(metrics.read_text()))
    return 0


def cmd_eval_rewriter(args: argparse.Namespace) -> int:
    from tailsynth.evals.table3 import Table3Config, evaluate_rewriters, plot_table3, render_table3
    from tailsynth.training.models import default_out_dir

    variants = dict(v.split("=", 1) for v in args.variant) if args.variant else {}
    variants = {"zero-shot": None, **{k: (v or None) for k, v in variants.items()}}
    pda = args.pda
    if pda is None and (default_out_dir("pda") / "config.json").exists():
        pda = str(default_out_dir("pda"))
    console.print(f"PPL under: {pda or 'the packaged SmolLM2 (no `train pda` output yet)'}")
    config = Table3Config(variants=variants, pda_model=pda, per_type=args.per_type)
    with Store(args.store) as store:
        results = evaluate_rewriters(_source(args), config, store)
    console.print(render_table3(results))
    console.print(f"chart: {plot_table3(results, Path(args.out) / 'table3.png')}")
    return 0


def _retrieved_negatives_index(args: argparse.Namespace, source):
    """The source's catalog index for the general task's retrieved hard negatives (None: not wanted)."""
    if args.task != "general" or args.no_retrieved_negatives:
        return None
    from tailsynth.programs.for_source import source_index

    return source_index(source)


def cmd_train_classifier(args: argparse.Namespace) -> int:
    """The method's config (``ClassifierConfig`` / ``CrossEncoderClassifierConfig`` / ``OptimizeConfig``)
    from the options and ``--set`` (dotted keys reach sections: ``--set model.lr=5e-5``)."""
    from tailsynth.classifiers.cross_encoder import CrossEncoderClassifierConfig, train_cross_encoder_classifier
    from tailsynth.classifiers.finetune import ClassifierConfig, load_classifier_info, train_classifier
    from tailsynth.classifiers.optimize import OptimizeConfig, optimize_prompt
    from tailsynth.config import from_dict, parse_overrides

    if args.method == "cross-encoder" and args.task != "general":
        raise SystemExit("--method cross-encoder scores yes/no pairs: use it with --task general")
    overrides = {"target_recall": args.target_recall}
    if args.method == "finetune":
        overrides |= {k: v for k, v in {"steps": args.steps, "batch_size": args.batch_size, "num_threads": args.threads}.items() if v}
    if args.out:
        overrides["out_path" if args.method == "optimize" else "out_dir"] = args.out
    config_cls = {"finetune": ClassifierConfig, "cross-encoder": CrossEncoderClassifierConfig, "optimize": OptimizeConfig}[args.method]
    try:
        config = from_dict(config_cls, {**overrides, **parse_overrides(args.set)})
    except ValueError as err:
        raise SystemExit(str(err)) from None
    source = _source(args)
    index = _retrieved_negatives_index(args, source)  # every method sees the same hard negatives
    if args.method == "finetune":
        path = train_classifier(args.task, source, config, index=index)
    elif args.method == "cross-encoder":
        path = train_cross_encoder_classifier(source, config, index=index)
    else:
        path = optimize_prompt(args.task, source, config, index=index)
    if Path(path).is_dir():
        info = load_classifier_info(path)
        console.print({k: info["dev"].get(k) for k in ("accuracy", "auc", "auc_by_qtype", "precision_at_recall", "recall")})
        console.print({k: (round(v["threshold"], 3), round(v["precision"], 3), round(v["recall"], 3))
                       for k, v in info["dev"].get("operating_points", {}).items()})
    console.print(f"{args.task} classifier ({args.method}): {path}")
    return 0


def cmd_eval_pairs(args: argparse.Namespace) -> int:
    from tailsynth.evals.table2 import run_table2

    with Store(args.store) as store:
        results = run_table2(_source(args), store, config=_synthesis_config(args), per_type=args.per_type, run_id=args.run_id,
                             out_dir=args.out)
    console.print_json(data=results, default=str)
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from tailsynth.runner import RunError, print_plan, run

    if args.dry_run:
        return 0 if print_plan(args.config).ok else 2
    try:
        report = run(args.config)
    except RunError as exc:
        console.print(f"[red]error:[/] {escape(str(exc))}")
        return 2
    _print_run_summary(report)
    console.print(f"report: {report.markdown}")
    return 0


def _print_run_summary(report) -> None:
    """Table 2 (pair accuracy per type) and Table 1's Item Goodrate with the gains' intervals."""
    from rich.table import Table

    from tailsynth.evals.bootstrap import Interval
    from tailsynth.evals.table2 import render_table2
    from tailsynth.runner.report import SYSTEM_LABELS, SYSTEMS

    if report.details.get("table2"):
        console.print(render_table2(report.details["table2"]))
    systems = [s for s in SYSTEMS if s in report.table1]
    if not systems:
        return
    gains = report.details.get("table1_gains") or {}
    qtypes = [q for q in report.table1[systems[0]] if q != "all"] + ["all"]
    table = Table(title="Table 1: Item Goodrate on the test queries")
    for col in ("query type", *(SYSTEM_LABELS[s] for s in systems), "gain (pt, 95 % CI)"):
        table.add_column(col, justify="left" if col == "query type" else "right")
    for q in qtypes:
        iv = gains.get(q, {}).get("item_goodrate")
        table.add_row(q, *(f"{100 * report.table1[s].get(q, {}).get('item_goodrate', float('nan')):.2f}" for s in systems),
                      Interval(**iv).format(scale=100, signed=True) if iv else "")
    console.print(table)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tailsynth", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("demo", help="embedded default end to end: demo world, synthesis, funnel, accuracy")
    p.add_argument("--per-type", type=int, default=20)
    p.add_argument("--store", default=DEFAULT_STORE)
    _add_general_filter_options(p)
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("synthesize", help="synthesize query→product pairs into the store")
    _add_synthesis_options(p)
    p.add_argument("--split", default="test", help="query split: train | dev | test (your files: train | test)")
    p.add_argument("--limit", type=int, default=None,
                   help=f"queries per type (default: all of your files', {DEMO_QUERIES_PER_TYPE} of the demo world's)")
    p.add_argument("--engine", choices=("local", "ray"), default="local",
                   help="ray: stages as Ray Data actor pools writing Parquet shards under --store (a directory)")
    p.add_argument("--ray-address", default=None, help="Ray cluster address ('auto', ray://host:10001); default: start one here")
    p.add_argument("--workers", type=int, default=1, help="Ray actors per stage")
    p.set_defaults(func=cmd_synthesize)

    p = sub.add_parser("run", help="the whole method on your data from one TOML config (resumable)")
    p.add_argument("--config", required=True, help="run config (see examples/demo_run.toml)")
    p.add_argument("--dry-run", action="store_true", help="validate every file and print the plan; run nothing")
    p.set_defaults(func=cmd_run)

    from tailsynth.store.views import VIEWS

    p = sub.add_parser("inspect", help="canned SQL views of the store")
    p.add_argument("view", choices=sorted(VIEWS), nargs="?", default="funnel")
    p.add_argument("--store", default=DEFAULT_STORE)
    p.add_argument("--run-id", default=None, help="default: the latest synthesis run")
    p.add_argument("--limit", type=int, default=20)
    p.set_defaults(func=cmd_inspect)

    p = sub.add_parser("serve", help="start vLLM OpenAI-compatible servers (gpu extra) for the configured models")
    p.add_argument("--policy", default=None, help="rewriter model dir")
    p.add_argument("--general", default=None, help="general LLM dir (rewrite filter + relevance filter)")
    p.add_argument("--pda", default=None, help="product-language LM dir (PDA reward)")
    p.add_argument("--run-config", default="endpoints.toml", help="where to write the endpoints")
    p.set_defaults(func=cmd_serve)

    train = sub.add_parser("train", help="train a model").add_subparsers(dest="what", required=True)
    p = train.add_parser("relevance", help="business relevance cross-encoder on the data's labelled pairs")
    _add_data_option(p)
    p.add_argument("--out", default=None, help="default: the data's own model dir (the demo world: the cache's)")
    p.add_argument("--max-examples", type=int, default=None, help="default: all labels (the demo world: 6000)")
    p.set_defaults(func=cmd_train_relevance)

    for what, text in (("rewriter-sft", "SFT of the rewriter on annotated rewrite lists"),
                       ("qsr", "QSR yes/no reward classifier"), ("pda", "PDA LM: continued pretraining on product text"),
                       ("rewriter-rl", "REINFORCE++ with QSR + PDA + diversity rewards")):
        p = train.add_parser(what, help=text)
        _add_data_option(p)
        p.add_argument("--steps", type=int, default=None, help="default: the config's small CPU default")
        p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
        p.add_argument("--out", default=None, help="output model directory (default: the cache's models/<name>)")
        p.add_argument("--set", action="append", metavar="KEY=VALUE",
                       help="any other config field, read as a TOML value (repeatable), e.g. --set lr=1e-4")
        if what == "rewriter-rl":
            p.add_argument("--no-pda", action="store_true", help="the paper's 'RL w/o PDA' variant")
            p.add_argument("--pda-mode", choices=("inverse", "normalized"), default="inverse")
            p.add_argument("--baseline", choices=("global", "group"), default="global",
                           help="REINFORCE++ (global whitening) or REINFORCE++-baseline (per-query mean first)")
            p.add_argument("--ppo-epochs", type=int, default=1, help="gradient steps per rollout batch")
            p.add_argument("--store", default=DEFAULT_STORE)
        p.set_defaults(func=cmd_train_rewriter)

    p = train.add_parser("classifier", help="rewrite filter or general relevance filter: fine-tune or optimise the prompt")
    _add_data_option(p)
    p.add_argument("--task", choices=("rewrite", "general"), required=True)
    p.add_argument("--method", choices=("finetune", "optimize", "cross-encoder"), default="finetune",
                   help="fine-tune the small LM, optimise its few-shot prompt, or (general task) train a cross-encoder")
    p.add_argument("--steps", type=int, default=None)
    p.add_argument("--batch-size", type=int, default=None)
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--target-recall", type=float, default=0.95)
    p.add_argument("--no-retrieved-negatives", action="store_true",
                   help="general task: train without the dense retriever's hard negatives and candidates")
    p.add_argument("--out", default=None, help="output dir (optimize: the program JSON path)")
    p.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="any config field as a TOML value (repeatable); dotted keys reach sections, e.g. "
                        "--set train_examples=24000 --set model.lr=5e-5 --set model.base_model=DIR")
    p.set_defaults(func=cmd_train_classifier)

    def retriever_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("--steps", type=int, default=100)
        p.add_argument("--batch-size", type=int, default=32)
        p.add_argument("--lr", type=float, default=5e-5)
        p.add_argument("--temperature", type=float, default=0.05)
        p.add_argument("--no-hard-negatives", action="store_true")

    p = train.add_parser("retriever", help="bi-encoder on head pairs (baseline) or head + synthetic pairs")
    _add_data_option(p)
    p.add_argument("--recipe", choices=("baseline", "baseline+synthetic"), default="baseline+synthetic")
    p.add_argument("--run-id", default=None, help="synthesis run whose kept pairs to add (default: latest)")
    p.add_argument("--store", default=DEFAULT_STORE)
    p.add_argument("--out", default=None)
    retriever_options(p)
    p.set_defaults(func=cmd_train_retriever)

    p = sub.add_parser("export", help="kept pairs as sentence-transformers / Tevatron / FlagEmbedding Parquet+JSONL")
    _add_data_option(p)
    p.add_argument("--store", default=DEFAULT_STORE)
    p.add_argument("--run-id", default=None)
    p.add_argument("--out", default="exports")
    p.set_defaults(func=cmd_export)

    evals = sub.add_parser("eval", help="evaluation suites").add_subparsers(dest="suite", required=True)

    def eval_data_options(p: argparse.ArgumentParser) -> None:
        _add_data_option(p)
        p.add_argument("--store", default=DEFAULT_STORE)
        p.add_argument("--split", default="test")
        p.add_argument("--limit", type=int, default=None, help="queries per type (default: all)")

    p = evals.add_parser("retrieval", help="Item/Query Goodrate, recall@200, nDCG@10 per query type")
    p.add_argument("--model", default=None, help="retriever dir (default: untrained MiniLM)")
    p.add_argument("--eval-id", default="eval")
    eval_data_options(p)
    p.set_defaults(func=cmd_eval_retrieval)

    p = evals.add_parser("table1", help="baseline vs baseline+synthetic retrievers (paper Table 1)")
    _add_data_option(p)
    p.add_argument("--store", default=DEFAULT_STORE)
    p.add_argument("--run-id", default=None, help="synthesis run (default: latest)")
    p.add_argument("--split", default="test")
    p.add_argument("--limit", type=int, default=None)
    retriever_options(p)
    p.set_defaults(func=cmd_eval_table1)

    p = evals.add_parser("pairs", help="synthesize test queries, pair accuracy per type and the funnel (paper Table 2)")
    _add_synthesis_options(p)
    p.add_argument("--per-type", type=int, default=10)
    p.add_argument("--out", default="reports")
    p.set_defaults(func=cmd_eval_pairs)

    p = evals.add_parser("rewriter", help="rewriter variants: accuracy, PPL, Item Goodrate (paper Table 3)")
    p.add_argument("--variant", action="append", help="name=model_dir (repeatable); zero-shot is always included")
    p.add_argument("--pda", default=None,
                   help="PDA LM dir (default: `train pda` output if it exists, else the packaged SmolLM2)")
    p.add_argument("--per-type", type=int, default=10)
    _add_data_option(p)
    p.add_argument("--store", default=DEFAULT_STORE)
    p.add_argument("--out", default=".cache/tailsynth/table3")
    p.set_defaults(func=cmd_eval_rewriter)

    p = evals.add_parser("sbs", help="side-by-side GSB of two retrievers on top-10 (offline Table 4)")
    p.add_argument("--new", required=True)
    p.add_argument("--base", required=True)
    eval_data_options(p)
    p.set_defaults(func=cmd_eval_sbs)
    return parser


def _user_error(exc: BaseException) -> bool:
    """Bad input, our own errors (LM endpoint down, store locked, vLLM missing) and the LM
    clients' and DuckDB's errors: said in one line. Anything else is a bug and keeps its traceback."""
    import duckdb

    known = (FileNotFoundError, ValueError, duckdb.Error, ConnectionError, TimeoutError)
    return isinstance(exc, known) or type(exc).__module__.split(".")[0] in ("tailsynth", "litellm", "openai", "dspy")


def _guard_lines(python_show):
    """``warnings.showwarning`` that prints a fired guard rail as one console line on stderr
    (``warning: guard rail: ...``), not as a Python warning with the library's source line, and
    hands any other warning to ``python_show``."""
    from tailsynth.guards import GuardWarning

    def show(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, GuardWarning):
            warn_console.print(f"[yellow]warning:[/] {escape(str(message))}", soft_wrap=True)
        else:
            python_show(message, category, filename, lineno, file, line)

    return show


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # sentence-transformers says "Converting SentenceTransformer model ... to CrossEncoder" on
    # every cross-encoder built from the packaged MiniLM: library noise, not the user's business.
    logging.getLogger("sentence_transformers").setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():  # restores Python's own display when the command returns
            warnings.showwarning = _guard_lines(warnings.showwarning)
            return args.func(args)
    except Exception as exc:
        if os.environ.get("TAILSYNTH_DEBUG") or not _user_error(exc):
            raise  # TAILSYNTH_DEBUG=1 shows the traceback of any error
        from tailsynth.serving.errors import one_line

        text = str(exc) if type(exc).__module__.startswith("tailsynth.runner") else one_line(exc, 500)
        console.print(f"[red]error:[/] {escape(text)}", soft_wrap=True)
        return 2


if __name__ == "__main__":
    sys.exit(main())
