"""An endpoint fault in any LM role stops the run without committing; a resume redoes the chunk.

Each role (rewriter, rewrite filter, general filter) talks to a loopback ``FaultServer`` over
real HTTP; the resumed run must equal an uninterrupted one row for row.
"""

import pytest

from tailsynth.config import LMConfig, SynthesisConfig
from tailsynth.programs.general_relevance import GeneralRelevanceFilter
from tailsynth.programs.rewrite_filter import RewriteFilter
from tailsynth.programs.rewriter import Rewriter
from tailsynth.programs.synthesis import SynthesisProgram
from tailsynth.retrieval.catalog_index import CatalogIndex
from tailsynth.serving import make_lm, make_scorer
from tailsynth.serving.errors import LMError
from tailsynth.serving.fault_server import FaultServer
from tailsynth.store import Store

from .fakes import CATALOG, HashEncoder, OverlapBusiness
from .test_synthesis import QUERIES, snapshot

ROLE_STAGE = {"rewriter": "rewrite", "rewrite_filter": "filter", "general": "general"}


def program(tmp_path, servers: dict) -> SynthesisProgram:
    cfg = {role: LMConfig(model="openai/fault", api_base=s.api_base, timeout_s=1.0, retries=0) for role, s in servers.items()}
    config = SynthesisConfig(business_threshold=0.1, top_k=4, chunk_size=2)
    return SynthesisProgram(
        catalog=CATALOG,
        rewriter=Rewriter(k=3, lm=make_lm(cfg["rewriter"])),
        rewrite_filter=RewriteFilter(make_scorer(cfg["rewrite_filter"])),
        index=CatalogIndex.build_or_load(CATALOG.texts, CATALOG.ids, HashEncoder(), tmp_path / "idx"),
        business=OverlapBusiness(),
        general_filter=GeneralRelevanceFilter(make_scorer(cfg["general"])),
        config=config,
    )


@pytest.fixture
def servers():
    started = {role: FaultServer(hang_s=5).start() for role in ROLE_STAGE}
    yield started
    for s in started.values():
        s.stop()


CASES = [("rewriter", "500"), ("rewriter", "down"), ("rewriter", "garbage"), ("rewrite_filter", "500"),
         ("rewrite_filter", "no_label"), ("general", "down"), ("general", "no_label")]
"""The full role x fault grid runs in benchmarks/reliability.py; these are its fast corners."""


@pytest.mark.parametrize("role,fault", CASES)
def test_fault_is_an_error_and_resume_redoes_the_chunk(tmp_path, servers, role, fault):
    reference = Store(":memory:")
    want = program(tmp_path, servers).run(QUERIES, reference, run_id="r", progress=False)
    assert want.funnel["pairs_kept"] > 0

    store = Store(str(tmp_path / "s.duckdb"))
    servers[role].fault = fault
    with pytest.raises(LMError):
        program(tmp_path, servers).run(QUERIES, store, run_id="r", progress=False)
    assert store.done("r", ROLE_STAGE[role]) == set()  # nothing committed for the failing stage
    assert store.fetch("SELECT finished_at FROM runs WHERE run_id = 'r'") == [(None,)]

    servers[role].fault = "ok"  # the endpoint is back: the same command finishes the run
    got = program(tmp_path, servers).run(QUERIES, store, run_id="r", progress=False)
    assert got.funnel == want.funnel
    assert snapshot(store, "r") == snapshot(reference, "r")
