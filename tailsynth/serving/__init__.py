"""LM backends: one ``dspy.BaseLM`` / ``Scorer`` per kind of server, chosen by configuration."""

from __future__ import annotations

import dspy

from tailsynth.config import LMConfig
from tailsynth.serving.scorer import Scorer


def make_lm(config: LMConfig, **kwargs) -> dspy.BaseLM:
    """The DSPy LM for generation: a local transformers model, or an endpoint through litellm."""
    if config.api_base:
        return dspy.LM(config.model, api_base=config.api_base, api_key=config.api_key, cache=False,
                       timeout=config.timeout_s, num_retries=config.retries, **kwargs)
    from tailsynth.serving.transformers_lm import TransformersLM

    return TransformersLM(config.model, device=config.device, **kwargs)


def make_scorer(config: LMConfig) -> Scorer:
    """The logit scorer that matches ``make_lm(config)``."""
    if config.api_base:
        from tailsynth.serving.endpoint_scorer import EndpointScorer

        return EndpointScorer(config.model or "hosted_vllm/local", api_base=config.api_base, api_key=config.api_key,
                              retries=config.retries, timeout_s=config.timeout_s)
    from tailsynth.retrieval.business_relevance import is_model_dir
    from tailsynth.serving.cross_encoder_scorer import CrossEncoderScorer

    if is_model_dir(config.model):  # a `train classifier --method cross-encoder` dir
        return CrossEncoderScorer(config.model, device=config.device)
    from tailsynth.serving.local_scorer import LocalScorer

    return LocalScorer(config.model, device=config.device)


__all__ = ["Scorer", "make_lm", "make_scorer"]
