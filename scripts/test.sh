#!/usr/bin/env bash
# Set up (idempotent) and run the whole test suite. pytest exits 5 when no test ran: that is a failure too.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
exec .venv/bin/python -m pytest -q -x --timeout=1200 "$@"
