"""``tailsynth`` command line: thin over the Python API (each command is a few calls you can make yourself)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

import tailsynth  # noqa: F401 - applies the offline defaults before any model library loads
from tailsynth.config import LMConfig, SynthesisConfig
from tailsynth.store import DEFAULT_STORE, Store

console = Console()


def _table(title: str, rows: list[dict]) -> Table:
    table = Table(title=title)
    for name in rows[0] if rows else []:
        table.add_column(str(name), overflow="fold")
    for row in rows:
        table.add_row(*(f"{v:.3f}" if isinstance(v, float) else str(v) for v in row.values()))
    return table


def _synthesis_config(args: argparse.Namespace) -> SynthesisConfig:
    return SynthesisConfig(
        k=args.k,
        rewriter=LMConfig(model=args.rewriter, api_base=args.rewriter_api_base),
        general=LMConfig(model=args.general, api_base=args.general_api_base),
        encoder=args.encoder,
        business_model=args.business_model,
        business_threshold=args.business_threshold,
        general_threshold=args.general_threshold,
        rewrite_drop_threshold=args.rewrite_drop_threshold,
        max_general_per_query=args.max_general,
        include_original=not args.no_original,
    )


def _add_synthesis_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--store", default=DEFAULT_STORE, help="DuckDB file to write (default: %(default)s)")
    p.add_argument("--run-id", default=None, help="rerun the same id to resume (default: derived from the config)")
    p.add_argument("--k", type=int, default=5, help="rewrites per query")
    p.add_argument("--rewriter", default=None, help="rewriter LM: HF dir, or model name with --rewriter-api-base")
    p.add_argument("--rewriter-api-base", default=None, help="OpenAI-compatible endpoint (vLLM) for the rewriter")
    p.add_argument("--general", default=None, help="general LLM for both filters: HF dir, or name with --general-api-base")
    p.add_argument("--general-api-base", default=None)
    p.add_argument("--encoder", default=None, help="sentence-transformers dir (default: packaged all-MiniLM-L6-v2)")
    p.add_argument("--business-model", default=None, help="trained cross-encoder dir (default: `train relevance` output)")
    p.add_argument("--business-threshold", type=float, default=0.5)
    p.add_argument("--general-threshold", type=float, default=0.5)
    p.add_argument("--rewrite-drop-threshold", type=float, default=0.5)
    p.add_argument("--max-general", type=int, default=40, help="LM-scored candidates per query (best business scores)")
    p.add_argument("--no-original", action="store_true", help="retrieve with the rewrites only, not the query itself")


def cmd_demo(args: argparse.Namespace) -> int:
    from tailsynth.demo import run_demo

    run_demo(per_type=args.per_type, store_path=args.store)
    return 0


def cmd_synthesize(args: argparse.Namespace) -> int:
    from tailsynth.programs.build import build_program

    config = _synthesis_config(args)
    if args.catalog:
        from tailsynth.io.loaders import load_catalog, load_queries

        if not args.queries:
            raise SystemExit("--catalog needs --queries")
        catalog, queries = load_catalog(args.catalog), load_queries(args.queries)
        if config.business_model is None:
            raise SystemExit("with your own catalog, give --business-model (a cross-encoder trained on your labels)")
        program = build_program(config, catalog)
    else:
        from tailsynth.demo import ensure_business_model, world_catalog
        from tailsynth.world import load_world

        world = load_world()
        if config.business_model is None:
            ensure_business_model(world)
        program = build_program(config, world_catalog(world))
        queries = world.query_rows(args.split, limit=args.limit)
    with Store(args.store) as store:
        summary = program.run(queries, store, run_id=args.run_id)
        _print_view(store, "funnel", summary.run_id, 100)
    console.print(f"run [bold]{summary.run_id}[/]: {summary.funnel}")
    return 0


def _print_view(store: Store, view: str, run_id: str | None, limit: int) -> None:
    from tailsynth.store.views import VIEWS

    if run_id is None:
        latest = store.fetch("SELECT run_id FROM runs WHERE kind = 'synthesis' ORDER BY started_at DESC LIMIT 1")
        if not latest:
            raise SystemExit(f"no synthesis run in {store.path}")
        run_id = latest[0][0]
    sql = VIEWS[view].replace("$run", "$1").replace("$limit", "$2")
    params = [run_id, limit] if "$2" in sql else [run_id]
    if "$1" not in sql:
        sql, params = sql.replace("$2", "$1"), [limit]
    console.print(_table(f"{view} ({run_id})", store.fetch_dicts(sql, params)))


def cmd_inspect(args: argparse.Namespace) -> int:
    if not Path(args.store).exists():
        raise SystemExit(f"no store at {args.store}; run `tailsynth synthesize` or `tailsynth demo` first")
    with Store(args.store, read_only=True) as store:
        _print_view(store, args.view, args.run_id, args.limit)
    return 0


def cmd_train_relevance(args: argparse.Namespace) -> int:
    from tailsynth.demo import ensure_business_model
    from tailsynth.world import load_world

    out = ensure_business_model(load_world(), Path(args.out) if args.out else None, max_examples=args.max_examples)
    console.print(f"business relevance model: {out}")
    console.print(json.loads((out / "business_relevance.json").read_text()).get("metrics"))
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tailsynth", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("demo", help="embedded default end to end: demo world, synthesis, funnel, accuracy")
    p.add_argument("--per-type", type=int, default=20)
    p.add_argument("--store", default=DEFAULT_STORE)
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("synthesize", help="synthesize query→product pairs into the store")
    _add_synthesis_options(p)
    p.add_argument("--split", default="test", help="demo world split (without --queries)")
    p.add_argument("--limit", type=int, default=20, help="demo queries per type")
    p.add_argument("--catalog", default=None, help="your catalog (CSV/JSONL/Parquet: id, title, ...)")
    p.add_argument("--queries", default=None, help="your queries (CSV/JSONL/Parquet: query_id, text, [qtype])")
    p.set_defaults(func=cmd_synthesize)

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
    p = train.add_parser("relevance", help="business relevance cross-encoder on the world's labelled pairs")
    p.add_argument("--out", default=None)
    p.add_argument("--max-examples", type=int, default=8000)
    p.set_defaults(func=cmd_train_relevance)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except Exception as exc:
        # Bad input and our own errors (vLLM missing, endpoint down) get one clear line;
        # anything else is a bug and keeps its traceback.
        if isinstance(exc, (FileNotFoundError, ValueError)) or type(exc).__module__.startswith("tailsynth"):
            console.print(f"[red]error:[/] {escape(str(exc))}")
            return 2
        raise


if __name__ == "__main__":
    sys.exit(main())
