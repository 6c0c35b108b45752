#!/usr/bin/env bash
# Set up (idempotent) and run the paper's whole chain at its small profile on the embedded demo
# world (examples/paper_small.toml): trains every stage, synthesizes pairs, trains both retrievers,
# and prints Table 2 (pairs and their accuracy per query type) and Table 1 with intervals.
# Resumable: a rerun skips every finished stage. Extra arguments go to `tailsynth run` (--dry-run).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
exec .venv/bin/tailsynth run --config examples/paper_small.toml "$@"
