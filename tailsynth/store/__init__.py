from tailsynth.store.schema import COLUMNS, SCHEMA
from tailsynth.store.store import DEFAULT_STORE, Store

__all__ = ["Store", "DEFAULT_STORE", "SCHEMA", "COLUMNS"]
