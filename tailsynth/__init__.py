"""tailsynth: synthetic query→product pairs for long-tail, knowledge-intensive e-commerce queries."""

from tailsynth.env import apply_offline_defaults

apply_offline_defaults()

from tailsynth.catalog import Catalog  # noqa: E402
from tailsynth.config import LMConfig, SynthesisConfig  # noqa: E402

__all__ = ["Catalog", "LMConfig", "SynthesisConfig"]
__version__ = "0.1.0"
