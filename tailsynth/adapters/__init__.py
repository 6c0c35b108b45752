from tailsynth.adapters.compact import CompactAdapter

__all__ = ["CompactAdapter"]
