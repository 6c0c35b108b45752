"""Process-wide defaults that keep tailsynth offline: nothing is fetched from a hub or the web."""

import os

_OFFLINE = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    # litellm (and DSPy's model metadata) fetch a price map from GitHub at import time otherwise.
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    "TOKENIZERS_PARALLELISM": "false",
    # Library noise stays out of the user's console: weight-loading reports and progress bars
    # ("Loading weights", "MISSING ... newly initialized"); tailsynth shows its own progress.
    "TRANSFORMERS_VERBOSITY": "error",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
}


def apply_offline_defaults() -> None:
    for key, value in _OFFLINE.items():
        os.environ.setdefault(key, value)
