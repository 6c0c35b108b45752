"""What the run uses when there is no teacher endpoint: one line per component, for the run's log
and report, so a user knows which parts were not adapted to their domain."""

from __future__ import annotations

from tailsynth.config import LMConfig


def fallback_defaults(teacher: LMConfig | None) -> list[str]:
    """One line per component that falls back to a default; [] when ``teacher`` is an endpoint
    (``api_base`` set), which then annotates rewrites, QSR labels and relevance labels."""
    if teacher is not None and teacher.api_base:
        return []
    return [
        "rewriter: no teacher rewrites to fine-tune on; the configured [models.rewriter] "
        "(default: packaged SmolLM2-135M-Instruct, few-shot) writes the rewrites",
        "QSR reward model: no teacher QSR labels for your domain; rewriter RL needs a QSR model given by path "
        "(e.g. one trained on the demo world)",
        "rewrite filter: no teacher labels; [models.rewrite_filter] or else [models.general] judges rewrites zero-shot",
        "general relevance filter: no teacher (query, product) labels; [models.relevance] or else [models.general] "
        "judges zero-shot (check the guard rails: a zero-shot filter tends to keep nearly everything)",
        "business relevance model: trained on your head judgements only",
    ]
