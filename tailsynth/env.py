"""Process-wide defaults that keep tailsynth offline: nothing is fetched from a hub or the web."""

import os

_OFFLINE = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    # litellm (and DSPy's model metadata) fetch a price map from GitHub at import time otherwise.
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    "TOKENIZERS_PARALLELISM": "false",
}


def apply_offline_defaults() -> None:
    for key, value in _OFFLINE.items():
        os.environ.setdefault(key, value)
