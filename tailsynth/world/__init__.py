"""Demo world: a deterministic synthetic household/home-improvement store with exact relevance labels.

It substitutes for a real catalog and human annotation: every (query, product) judgement is
computed from structured data. Use ``load_world(seed, n_products)``.
"""

from .truth import Spec, TextSpec, parse
from .world import World, generate_world, load_world

__all__ = ["World", "load_world", "generate_world", "Spec", "TextSpec", "parse"]
