"""Reliability drills with figures: kills, malformed inputs, LM endpoint faults, readers during a write.

    python benchmarks/reliability.py --out results/reliability [--kills 24] [--malformed 1200]

(a) ``kill -9`` of a synthesis subprocess at spread points of every stage (mid-chunk, right
    after a chunk's commit), each resumed and compared row for row with an uninterrupted run;
(b) seeded malformed catalog / queries / judgements / qrels files and run configs through the
    dry run and the loaders: each must end in one line naming the file (and row and column when
    the problem is a value), or be a documented accept;
(c) the loopback ``FaultServer`` against each LM role (rewriter, rewrite filter, general filter)
    for each fault kind: an error with nothing committed, then the same command finishes once the
    endpoint is back, with the rows of a clean run;
(d) readers (``Store(read_only=True)``, plain ``duckdb.connect``, the dry run's store check) and
    a second writer while a synthesis subprocess writes.

The models are the tests' deterministic stand-ins (word-overlap scorers, a hashing encoder, a
real FAISS index and DuckDB store), so the drills measure the plumbing, not model time.
Writes ``report.md``, ``report.json`` and ``reliability.png`` under ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("LITELLM_LOG", "ERROR")

N_QUERIES, CHUNK = 12, 2  # 6 chunks x 5 stages = 30 commits per run


# ------------------------------------------------------------------------------------ program
def queries() -> list[dict]:
    from tests.programs.test_synthesis import QUERIES

    words = ["cheap", "quiet", "small", "white"]
    return [{**q, "query_id": f"{q['query_id']}{i}", "text": f"{q['text']} {words[i]}" if i else q["text"]}
            for i in range(4) for q in QUERIES][:N_QUERIES]


class _MapLM:
    """The test suite's MapLM, answering by the query's first words (extra words are ours)."""

    def __new__(cls):
        from tests.programs.test_synthesis import REWRITES, MapLM

        class LM(MapLM):
            def forward(self, prompt=None, messages=None, **kwargs):
                user = messages[-1]["content"].removeprefix("Query: ")
                text = next(v for k, v in REWRITES.items() if user.startswith(k))
                return {"choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                                     "finish_reason": "stop"}], "usage": {}, "model": "map"}

        return LM()


def program(index_dir: Path, endpoints: dict | None = None, slow_s: float = 0.0):
    """The synthesis program on stand-ins; ``endpoints``: role -> api_base of a (fault) server."""
    from tailsynth.config import LMConfig, SynthesisConfig
    from tailsynth.programs.general_relevance import GeneralRelevanceFilter
    from tailsynth.programs.rewrite_filter import RewriteFilter
    from tailsynth.programs.rewriter import Rewriter
    from tailsynth.programs.synthesis import SynthesisProgram
    from tailsynth.retrieval.catalog_index import CatalogIndex
    from tailsynth.serving import make_lm, make_scorer
    from tests.programs.fakes import CATALOG, HashEncoder, OverlapBusiness, OverlapScorer

    endpoints = endpoints or {}
    lm = {r: LMConfig(model="openai/fault", api_base=b, timeout_s=1.0, retries=3) for r, b in endpoints.items()}
    config = SynthesisConfig(business_threshold=0.1, top_k=4, chunk_size=CHUNK, k=3)
    prog = SynthesisProgram(
        catalog=CATALOG,
        rewriter=Rewriter(k=3, lm=make_lm(lm["rewriter"]) if "rewriter" in lm else _MapLM()),
        rewrite_filter=RewriteFilter(make_scorer(lm["rewrite_filter"]) if "rewrite_filter" in lm else OverlapScorer()),
        index=CatalogIndex.build_or_load(CATALOG.texts, CATALOG.ids, HashEncoder(), index_dir),
        business=OverlapBusiness(),
        general_filter=GeneralRelevanceFilter(make_scorer(lm["general"]) if "general" in lm else OverlapScorer()),
        config=config,
    )
    if slow_s:
        for stage in ("rewrite", "filter", "retrieve", "business", "general"):
            step = getattr(prog, f"_{stage}")
            setattr(prog, f"_{stage}", lambda *a, _step=step: (time.sleep(slow_s), _step(*a))[1])
    return prog


def snapshot(store, run_id: str) -> dict:
    from tests.programs.test_synthesis import snapshot as snap

    tables = snap(store, run_id)
    tables["progress"] = store.fetch("SELECT query_id, stage FROM progress WHERE run_id = ? ORDER BY ALL", [run_id])
    return tables


def child(store_path: str, index_dir: str, slow_s: float) -> None:
    """The killed process: announces each chunk before and after its commit, then pauses there."""
    from tailsynth.store import Store

    store = Store(store_path)
    write = store.write_stage

    def announced(run_id, stage, ids, tables, replace=False):
        print(f"EVENT {stage} mid-chunk", flush=True)
        time.sleep(slow_s)
        write(run_id, stage, ids, tables, replace=replace)
        print(f"EVENT {stage} committed", flush=True)
        time.sleep(slow_s)

    store.write_stage = announced
    summary = program(Path(index_dir)).run(queries(), store, progress=False)
    print(f"DONE {summary.run_id}", flush=True)


def _spawn(store_path: Path, index_dir: Path, slow_s: float) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, __file__, "--child", str(store_path), str(index_dir), str(slow_s)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=ROOT)


# ------------------------------------------------------------------------------------ (a) kills
def drill_kills(work: Path, n_points: int) -> dict:
    from tailsynth.store import Store

    reference = Store(":memory:")
    want_id = program(work / "idx").run(queries(), reference, progress=False).run_id
    want = snapshot(reference, want_id)
    events = 2 * 5 * -(-N_QUERIES // CHUNK)  # (mid-chunk, committed) x stages x chunks
    points = sorted({round(i * (events - 1) / max(1, n_points - 1)) + 1 for i in range(n_points)})
    cases = []
    for k in points:
        path = work / f"kill{k}.duckdb"
        proc = _spawn(path, work / "idx", 0.05)
        where = None
        for seen, line in enumerate(proc.stdout, 1):
            if seen == k:
                where = line.split(" ", 1)[1].strip()
                os.kill(proc.pid, signal.SIGKILL)
                break
        proc.wait()
        killed = proc.returncode == -signal.SIGKILL
        with Store(path) as store:
            done_before = store.fetch("SELECT count(*) FROM progress")[0][0]
            got_id = program(work / "idx").run(queries(), store, progress=False).run_id
            same = got_id == want_id and snapshot(store, got_id) == want
            dupes = store.fetch("SELECT count(*) - count(DISTINCT (query_id, product_id)) FROM pairs")[0][0]
        cases.append({"event": k, "at": where, "killed": killed, "progress_rows_before_resume": done_before,
                      "same_run_id": got_id == want_id, "identical_rows": same, "duplicates": dupes})
    handled = sum(c["killed"] and c["identical_rows"] and c["duplicates"] == 0 for c in cases)
    return {"tried": len(cases), "handled": handled, "lost": len(cases) - handled, "events_per_run": events,
            "stages_hit": sorted({c["at"] for c in cases if c["at"]}), "cases": cases}


# ------------------------------------------------------------------------------------ (b) inputs
GOOD = {
    "catalog": ("catalog.csv", [{"id": "p1", "title": "cordless drill"}, {"id": "p2", "title": "toilet flapper"},
                                {"id": "p3", "title": "LED bulb"}]),
    "pairs": ("pairs.csv", [{"query": "drill", "product_id": "p1"}, {"query": "flapper", "product_id": "p2"}]),
    "labels": ("labels.jsonl", [{"query": "drill", "product_id": "p1", "label": 1},
                                {"query": "drill", "product_id": "p2", "label": 0}]),
    "train": ("train.csv", [{"query_id": "t1", "text": "what stops a running toilet"}]),
    "test": ("test.csv", [{"query_id": "e1", "text": "bulbs that are not dimmable", "qtype": "negative"}]),
    "qrels": ("qrels.csv", [{"query_id": "e1", "product_id": "p3", "grade": 2}]),
}
VALUE_FIELDS = {"catalog": ["id", "title"], "pairs": ["query", "product_id"], "labels": ["query", "product_id", "label"],
                "train": ["query_id", "text"], "test": ["query_id", "text", "qtype"],
                "qrels": ["query_id", "product_id", "grade"]}
BAD_VALUES = {  # name: (value, applies to)
    "empty": ("", "any"), "blank": ("   ", "any"), "nul": ("dr\x00ill", "text"), "huge": ("x" * 1_000_100, "any"),
    "json_list": (["a", "b"], "json"), "bool": (True, "json"), "nan": (float("nan"), "json"),
    "list_text": ('["a", "b"]', "text"), "not_number": ("high", "number"), "half": (0.5, "int"),
    "negative": (-1, "number"), "too_big": (99, "number"), "inf": ("inf", "number"), "banana": ("banana", "qtype"),
    "long_query": ("bulb " * 120, "query"), "unknown_id": ("p999", "product"), "null": (None, "any"),
}
ACCEPTS = {  # documented accepts: harmless variations that must pass
    "extra_column": "an extra column is ignored", "bom": "a UTF-8 byte-order mark (Excel) is dropped",
    "blank_lines": "blank lines between rows are skipped", "padded": "whitespace around values is stripped",
    "reordered": "columns in another order", "crlf": "Windows line endings", "quoted": "every field quoted",
    "multiline_title": "a quoted title over two lines (folded in prompts)",
}


def _kind(role: str, column: str) -> set[str]:
    kinds = {"any"} | ({"json"} if GOOD[role][0].endswith(".jsonl") else set())
    if column in ("title", "text", "query"):
        kinds.add("text")
    if column in ("text", "query"):
        kinds.add("query")
    if column in ("label", "grade"):
        kinds |= {"number"} | ({"int"} if role == "qrels" else set())
    if column == "qtype":
        kinds.add("qtype")
    if column == "product_id" and role != "catalog":
        kinds.add("product")
    return kinds


def _write(path: Path, rows: list[dict], fmt: str, variation: str | None = None) -> None:
    import csv
    import io

    if fmt == "jsonl":
        text = "".join(json.dumps(r) + ("\n\n" if variation == "blank_lines" else "\n") for r in rows)
        path.write_text(text, encoding="utf-8")
        return
    cols = list(dict.fromkeys(k for r in rows for k in r))
    if variation == "reordered":
        cols = cols[::-1]
    buf = io.StringIO()
    w = csv.DictWriter(buf, cols, quoting=csv.QUOTE_ALL if variation == "quoted" else csv.QUOTE_MINIMAL,
                       lineterminator="\r\n" if variation == "crlf" else "\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: ("nan" if isinstance(v, float) and v != v else json.dumps(v) if isinstance(v, list) else v)
                    for k, v in r.items()})
        if variation == "blank_lines":
            buf.write("\n")
    text = buf.getvalue()
    path.write_text(("\ufeff" if variation == "bom" else "") + text, encoding="utf-8")


def _structural(path: Path, kind: str, rng: random.Random) -> str:
    """File-level breakage; returns what was done."""
    raw = path.read_bytes()
    if kind == "truncate_quote":
        path.write_bytes(raw.replace(b"\n", b'\n"', 1)[:-1])
    elif kind == "latin1":
        path.write_bytes(raw.replace(b"o", b"\xf6", 1))
    elif kind == "empty_file":
        path.write_bytes(b"")
    elif kind == "header_only":
        path.write_bytes(raw.splitlines(keepends=True)[0])
    elif kind == "directory":
        path.unlink()
        path.mkdir()
    elif kind == "missing":
        path.unlink()
    elif kind == "drop_column":
        lines = raw.decode().splitlines()
        if path.suffix == ".jsonl":
            rows = [json.loads(x) for x in lines if x.strip()]
            key = rng.choice(list(rows[0]))
            path.write_text("".join(json.dumps({k: v for k, v in r.items() if k != key}) + "\n" for r in rows))
        else:
            path.write_text("\n".join(",".join(line.split(",")[1:]) for line in lines) + "\n")
    elif kind == "extra_fields":
        lines = raw.decode().splitlines()
        path.write_text("\n".join(lines[:1] + [line + ",x,y" for line in lines[1:]]) + "\n")
    elif kind == "bad_json":
        path.write_text(raw.decode() + '{"id": \n')
    elif kind == "duplicate_row":
        lines = raw.decode().splitlines()
        path.write_text("\n".join(lines + lines[1:2]) + "\n")
    return kind


STRUCTURAL = ["truncate_quote", "latin1", "empty_file", "header_only", "directory", "missing", "drop_column",
              "extra_fields", "bad_json", "duplicate_row"]
CONFIG_BAD = [("synthesis", "k", "five"), ("synthesis", "top_k", -5), ("synthesis", "chunk_size", 0),
              ("synthesis", "general_threshold", 1.5), ("synthesis", "business_threshold", "high"),
              ("synthesis", "max_general_per_query", 2.5), ("synthesis", "nonsense", 1), ("eval", "k", [1]),
              ("models", "rewriter", "smollm2"), ("data", "catalog", 3), ("retriever", "steps", "many"),
              ("synthesis", "rewrite_demos", -1), ("synthesis", "include_original", "yes")]


def _one_line_error(text: str, path: str | None, row_level: bool) -> bool:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    if not lines or any("Traceback" in line for line in lines):
        return False
    if path is None:
        return len(lines) == 1
    mine = [line for line in lines if line.startswith(path)]
    return bool(mine) and all(("row " in line or "column " in line) if row_level else True for line in mine[:1])


def drill_inputs(work: Path, n: int, seed: int = 0) -> dict:
    from tailsynth.io.loaders import DataFileError
    from tailsynth.runner import plan, run_config_from_dict

    rng = random.Random(seed)
    tally = {"tried": 0, "handled": 0, "lost": 0, "by_role": {}, "by_outcome": {}, "lost_cases": []}
    for i in range(n):
        case = work / f"in{i}"
        case.mkdir()
        rows = {role: [dict(r) for r in rs] for role, (_, rs) in GOOD.items()}
        paths = {role: case / name for role, (name, _) in GOOD.items()}
        pick = rng.random()
        role = rng.choice(list(GOOD))
        overrides: dict = {}
        if pick < 0.08:  # a run config value
            section, key, value = rng.choice(CONFIG_BAD)
            overrides = {section: {key: value}}
            what, expect, target, row_level = f"config [{section}] {key}={value!r}", "error", None, False
        elif pick < 0.18:
            variation = rng.choice(list(ACCEPTS))
            what, expect, target, row_level = f"{role}: {variation}", "accept", None, False
        elif pick < 0.38:
            variation = None
            what, expect, target, row_level = f"{role}: structural", "error", str(paths[role]), False
        else:
            variation = None
            column = rng.choice(VALUE_FIELDS[role])
            name = rng.choice([b for b, (_, kind) in BAD_VALUES.items() if kind in _kind(role, column)
                               and not (column == "qtype" and b in ("empty", "blank", "null"))])  # blank: classified
            value = BAD_VALUES[name][0]
            r = rng.randrange(len(rows[role]))
            rows[role][r][column] = value
            what, expect, target, row_level = f"{role}.{column} = {name}", "error", str(paths[role]), True
        for rl, path in paths.items():
            fmt = "jsonl" if path.suffix == ".jsonl" else "csv"
            extra = variation if (pick >= 0.08 and pick < 0.18 and rl == role) else None
            data = rows[rl]
            if extra == "extra_column":
                data = [{**x, "notes": "n/a"} for x in data]
            if extra == "padded":
                data = [{k: f"  {v}  " if isinstance(v, str) else v for k, v in x.items()} for x in data]
            if extra == "multiline_title" and rl == "catalog":
                data = [{**x, "title": x["title"] + "\nwith a second line"} if x["id"] == "p1" else x for x in data]
            _write(path, data, fmt, extra)
        if 0.18 <= pick < 0.38:
            kind = rng.choice(STRUCTURAL if paths[role].suffix == ".csv" else
                              [k for k in STRUCTURAL if k not in ("truncate_quote", "extra_fields", "header_only")])
            what += f" {_structural(paths[role], kind, rng)}"
        data_section = {"catalog": {"path": str(paths["catalog"])}, "baseline_pairs": {"path": str(paths["pairs"])},
                        "business_labels": {"path": str(paths["labels"])}, "train_queries": {"path": str(paths["train"])},
                        "test_queries": {"path": str(paths["test"])}, "qrels": {"path": str(paths["qrels"])}}
        config = {"data": data_section, "output": {"store": str(case / "s.duckdb"), "report_dir": str(case / "r"),
                                                   "work_dir": str(case / "w")}}
        for section, values in overrides.items():
            if isinstance(values, dict) and isinstance(config.get(section), dict):
                config[section] = {**config[section], **values}
            else:
                config[section] = values
        outcome, text = "", ""
        try:
            result = plan(run_config_from_dict(config, case))
            if result.ok:
                outcome = "accept"
            else:
                outcome, text = "error", "\n".join(map(str, result.problems))
        except (ValueError, DataFileError, FileNotFoundError) as err:
            outcome, text = "error", str(err)
        except Exception as err:  # noqa: BLE001 - a traceback is what we count as lost
            outcome, text = "traceback", f"{type(err).__name__}: {err}"
        ok = (outcome == expect == "accept") or (
            outcome == expect == "error" and _one_line_error(text, target, row_level))
        tally["tried"] += 1
        tally["handled" if ok else "lost"] += 1
        key = "config" if overrides else role
        by = tally["by_role"].setdefault(key, {"tried": 0, "handled": 0, "lost": 0})
        by["tried"] += 1
        by["handled" if ok else "lost"] += 1
        tally["by_outcome"][f"{expect}->{outcome}"] = tally["by_outcome"].get(f"{expect}->{outcome}", 0) + 1
        if not ok and len(tally["lost_cases"]) < 30:
            tally["lost_cases"].append({"case": what, "expected": expect, "outcome": outcome, "text": text[:300]})
    tally["accepts_documented"] = ACCEPTS
    return tally


# ------------------------------------------------------------------------------------ (c) faults
def drill_faults(work: Path, faults: list[str] | None = None) -> dict:
    import litellm

    from tailsynth.serving.errors import LMError
    from tailsynth.serving.fault_server import FAULTS, FaultServer
    from tailsynth.store import Store

    litellm.suppress_debug_info = True  # the drill's errors are expected; their banners are noise
    faults = faults or [f for f in FAULTS if f != "ok"]
    roles = {"rewriter": "rewrite", "rewrite_filter": "filter", "general": "general"}
    servers = {role: FaultServer(hang_s=5).start() for role in roles}
    endpoints = {role: s.api_base for role, s in servers.items()}
    reference = Store(":memory:")
    want_id = program(work / "idx", endpoints).run(queries(), reference, progress=False).run_id
    want = snapshot(reference, want_id)
    cases = []
    try:
        for role, stage in roles.items():
            for fault in faults:
                path = work / f"fault-{role}-{fault}.duckdb"
                servers[role].fault = fault
                started = time.perf_counter()
                error, committed = None, None
                with Store(path) as store:
                    try:
                        program(work / "idx", endpoints).run(queries(), store, progress=False)
                    except LMError as err:
                        error = f"{type(err).__name__}: {err}"
                    committed = len(store.done(want_id, stage))
                    servers[role].fault = "ok"
                    got_id = program(work / "idx", endpoints).run(queries(), store, progress=False).run_id
                    same = got_id == want_id and snapshot(store, got_id) == want
                one_line = error is None or "\n" not in error
                if fault == "flapping" or (role == "rewriter" and fault == "no_logprobs"):
                    expect = "completes with the clean rows"
                    ok = error is None and same
                elif role == "rewriter" and fault == "no_label":
                    expect = "documented accept: a generating model's text is a (bad) rewrite; the rewrite filter judges it"
                    ok = error is None
                else:
                    expect = "LM error, stage not committed, resume gives the clean rows"
                    ok = error is not None and committed == 0 and same and one_line
                cases.append({"role": role, "fault": fault, "expect": expect, "error": error and error[:200],
                              "committed_before_recovery": committed, "resume_identical": same,
                              "seconds": round(time.perf_counter() - started, 2), "handled": ok})
    finally:
        for s in servers.values():
            s.stop()
    handled = sum(c["handled"] for c in cases)
    return {"tried": len(cases), "handled": handled, "lost": len(cases) - handled, "cases": cases}


# ------------------------------------------------------------------------------------ (d) readers
def drill_readers(work: Path, attempts: int = 20) -> dict:
    import duckdb

    from tailsynth.runner.config import OutputConfig, RunConfig
    from tailsynth.runner.pipeline import _store_rows
    from tailsynth.store import Store
    from tailsynth.store.store import StoreLocked

    path = work / "readers.duckdb"
    proc = _spawn(path, work / "idx", 0.15)
    assert proc.stdout.readline().startswith("EVENT")
    cases, last = [], -1
    for i in range(attempts):
        kind = ("store", "duckdb", "dry_run", "second_writer")[i % 4]
        try:
            if kind == "store":
                with Store(path, read_only=True) as s:
                    n = s.fetch("SELECT count(*) FROM progress")[0][0]
            elif kind == "duckdb":
                from tailsynth.store.store import connect

                con = connect(str(path), read_only=True, timeout_s=30)
                n = con.execute("SELECT count(*) FROM progress").fetchone()[0]
                con.close()
            elif kind == "dry_run":
                n = _store_rows(RunConfig(output=OutputConfig(store=str(path))), "SELECT count(*) FROM progress", [])[0][0]
            else:
                try:
                    Store(path).close()
                    cases.append({"kind": kind, "ok": False, "detail": "a second writer was let in"})
                except StoreLocked as err:
                    cases.append({"kind": kind, "ok": "\n" not in str(err), "detail": str(err)[:160]})
                continue
            ok = n >= last
            last = max(last, n)
            cases.append({"kind": kind, "ok": ok, "detail": f"{n} progress rows"})
        except (StoreLocked, duckdb.Error) as err:
            cases.append({"kind": kind, "ok": False, "detail": f"{type(err).__name__}: {err}"[:200]})
        time.sleep(0.1)
    proc.wait(timeout=300)
    handled = sum(c["ok"] for c in cases)
    return {"tried": len(cases), "handled": handled, "lost": len(cases) - handled, "writer_exit": proc.returncode,
            "cases": cases}


# ------------------------------------------------------------------------------------ report
def write_report(out: Path, results: dict, command: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps({"command": command, **results}, indent=2, default=str))
    names = list(results["categories"])
    fig, ax = plt.subplots(figsize=(7, 3.2))
    for i, key in enumerate(("handled", "lost")):
        ax.bar([x + (i - 0.5) * 0.38 for x in range(len(names))], [results["categories"][n][key] for n in names],
               width=0.38, label=key, color=("tab:green", "tab:red")[i])
    ax.set_xticks(range(len(names)), [f"{n}\n(tried {results['categories'][n]['tried']})" for n in names], fontsize=8)
    ax.set_yscale("symlog")
    ax.set_ylabel("cases")
    ax.set_title("tailsynth reliability drills: handled vs lost", fontsize=10)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "reliability.png", dpi=100)
    plt.close(fig)
    lines = ["# Reliability drills", "", f"Command: `{command}`", "",
             f"Wall time {results['seconds']:.0f} s; models are deterministic stand-ins (see benchmarks/reliability.py).",
             "", "| category | tried | handled | lost |", "| --- | ---: | ---: | ---: |"]
    lines += [f"| {n} | {c['tried']} | {c['handled']} | {c['lost']} |" for n, c in results["categories"].items()]
    lines += ["", "![handled vs lost](reliability.png)", ""]
    k = results.get("kills")
    if k:
        lines += ["## (a) kill -9", "", f"{k['tried']} kill points over {k['events_per_run']} events per run "
                  "(each chunk of each stage: mid-chunk before its commit, and right after it); stages hit: "
                  f"{', '.join(k['stages_hit'])}. Each killed store was resumed and compared with an uninterrupted "
                  "run (rewrites, candidates, pairs, progress markers), same default run id, no duplicate pairs.", ""]
    m = results.get("inputs")
    if m:
        lines += ["## (b) malformed inputs", "", "| file | tried | handled | lost |", "| --- | ---: | ---: | ---: |"]
        lines += [f"| {r} | {c['tried']} | {c['handled']} | {c['lost']} |" for r, c in sorted(m["by_role"].items())]
        lines += ["", "Outcomes (expected->got): " + ", ".join(f"{k} {v}" for k, v in sorted(m["by_outcome"].items())), "",
                  "Documented accepts: " + "; ".join(f"{k}: {v}" for k, v in m["accepts_documented"].items()) + "."]
        if m["lost_cases"]:
            lines += ["", "Lost cases (first ones):", ""] + [f"- {c['case']}: expected {c['expected']}, got "
                                                             f"{c['outcome']}: `{c['text'][:160]}`" for c in m["lost_cases"]]
        lines.append("")
    f = results.get("faults")
    if f:
        lines += ["## (c) LM endpoint faults", "", "| role | fault | handled | error / outcome | s |", "| --- | --- | --- | --- | ---: |"]
        lines += [f"| {c['role']} | {c['fault']} | {'yes' if c['handled'] else '**no**'} | "
                  f"{(c['error'] or c['expect'])[:90].replace('|', '/')} | {c['seconds']} |" for c in f["cases"]]
        lines.append("")
    r = results.get("readers")
    if r:
        lines += ["## (d) readers during a write", "", f"{r['tried']} attempts while a synthesis subprocess wrote "
                  "(Store read-only, DuckDB read-only via tailsynth.store.connect, the dry run's store check, a "
                  f"second writer that must be refused); writer exit code {r['writer_exit']}.", ""]
    (out / "report.md").write_text("\n".join(lines) + "\n")


def run_all(out: Path, kills: int, malformed: int, faults: list[str] | None, readers: int, command: str) -> dict:
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        results = {"kills": drill_kills(work, kills) if kills else None,
                   "inputs": drill_inputs(work, malformed) if malformed else None,
                   "faults": drill_faults(work, faults),
                   "readers": drill_readers(work, readers) if readers else None}
    results = {k: v for k, v in results.items() if v is not None}
    results["categories"] = {name: {k: results[name][k] for k in ("tried", "handled", "lost")} for name in
                             ("kills", "inputs", "faults", "readers") if name in results}
    results["seconds"] = time.perf_counter() - started
    write_report(out, results, command)
    return results


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3], float(sys.argv[4]))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="results/reliability")
    parser.add_argument("--kills", type=int, default=24)
    parser.add_argument("--malformed", type=int, default=1200)
    parser.add_argument("--readers", type=int, default=24)
    args = parser.parse_args()
    command = "python benchmarks/reliability.py " + " ".join(sys.argv[1:])
    results = run_all(Path(args.out), args.kills, args.malformed, None, args.readers, command.strip())
    print(json.dumps(results["categories"], indent=2))


if __name__ == "__main__":
    main()
