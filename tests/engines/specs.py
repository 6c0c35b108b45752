"""A picklable spec over the tiny fakes of tests/programs: what the Ray workers build their stage from."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from tailsynth.config import SynthesisConfig
from tailsynth.retrieval.catalog_index import CatalogIndex, cache_path

from ..encoders import HashEncoder
from ..programs.fakes import CATALOG
from ..programs.test_synthesis import make_program


@dataclass
class FakeSpec:
    index_dir: str
    config: SynthesisConfig = field(default_factory=lambda: SynthesisConfig(business_threshold=0.3, top_k=4, chunk_size=2))
    slow_stage: str | None = None
    delay_s: float = 0.0
    rewrite_demos: list | None = None

    @property
    def catalog(self):
        return CATALOG

    def model_ids(self) -> dict[str, str]:
        return {"fake": "overlap"}

    def program(self):
        c = self.config
        return make_program(Path(self.index_dir), k=c.k, max_general_per_query=c.max_general_per_query)

    def encoder(self):
        return HashEncoder()

    def index_cache(self) -> Path:  # where make_program's index lives (built there when missing)
        directory = Path(self.index_dir) / "idx"
        CatalogIndex.build_or_load(CATALOG.texts, CATALOG.ids, HashEncoder(), directory)
        return cache_path(directory, HashEncoder.model_id, CATALOG.texts, CATALOG.ids)

    def stage(self, name: str):
        stage = self.program().stages()[name]
        if name != self.slow_stage or not self.delay_s:
            return stage

        def slow(*args):
            time.sleep(self.delay_s)
            return stage(*args)

        return slow
