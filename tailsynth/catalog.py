"""The catalog as the pipeline sees it: ids and the text each model reads, aligned by position."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Catalog:
    """Product ids and texts (title plus key attributes). Any source builds one: the demo world,
    a user's CSV/JSONL/Parquet file, a DuckDB query.

    ``attributes``, when the source has them, is each product's attribute text on its own
    ("stainless steel, 2 in., framing": phrases separated by commas), aligned with ``ids``. It is
    already part of each text, so the fingerprint covers it; the negation filter reads it to learn
    what a phrase implies in this catalog (``programs.implications``).

    ``brands`` and ``prices``, when the source has them, are each product's brand ("" unknown) and
    price (NaN unknown), aligned with ``ids``. No model reads them; the alternative filter does
    (``programs.alternatives``): an alternative to a named brand is another brand, and cheaper."""

    ids: list[str]
    texts: list[str]
    attributes: list[str] | None = None
    brands: list[str] | None = None
    prices: list[float] | None = None
    _position: dict[str, int] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        if len(self.ids) != len(self.texts):
            raise ValueError(f"catalog has {len(self.ids)} ids but {len(self.texts)} texts")
        if self.attributes is not None and len(self.attributes) != len(self.ids):
            raise ValueError(f"catalog has {len(self.ids)} ids but {len(self.attributes)} attribute texts")
        for name in ("brands", "prices"):
            values = getattr(self, name)
            if values is not None and len(values) != len(self.ids):
                raise ValueError(f"catalog has {len(self.ids)} ids but {len(values)} {name}")
        self._position.update({pid: i for i, pid in enumerate(self.ids)})
        if len(self._position) != len(self.ids):
            raise ValueError("catalog product ids are not unique")

    def __len__(self) -> int:
        return len(self.ids)

    def position(self, product_id: str) -> int:
        return self._position[product_id]

    def text(self, product_id: str) -> str:
        return self.texts[self._position[product_id]]

    def fingerprint(self) -> str:
        digest = hashlib.sha256()
        for pid, text in zip(self.ids, self.texts):
            digest.update(pid.encode() + b"\x00" + text.encode() + b"\x01")
        return digest.hexdigest()[:16]
