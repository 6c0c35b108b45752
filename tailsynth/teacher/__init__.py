"""The teacher path (issue 16 pt 2): a strong LLM behind an OpenAI-compatible endpoint annotates
the user's long-tail queries, as the paper does with Qwen3 and review, and the chain's small
models train on the result.

- ``annotate``: ``annotate_queries`` writes one JSONL record per query (k candidate rewrites, their
  QSR labels, a sample of (query, product) relevance labels); batched, resumable, and an endpoint
  error is an error, never an empty annotation.
- ``files``: ``write_trainer_files`` turns the records into the trainers' formats (rewrite examples,
  QSR pairs, relevance labels) and ``load_teacher_files`` reads them back as ``TeacherData``, which
  a data source can expose (a ``Source`` whose ``rewrite_examples(split)`` the trainers read; ``.examples`` / ``.relevance_labels`` tables shaped like the
  demo world's).
- ``fallback``: without an endpoint, ``fallback_defaults`` says, one line each, what the run uses.
"""

from .annotate import TeacherConfig, TeacherError, annotate_queries
from .fallback import fallback_defaults
from .files import TeacherData, load_teacher_files, write_trainer_files

__all__ = ["TeacherConfig", "TeacherError", "annotate_queries", "write_trainer_files", "load_teacher_files",
           "TeacherData", "fallback_defaults"]
