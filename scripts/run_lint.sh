#!/usr/bin/env bash
# Lint the repository with the pinned ruff (rules in ruff.toml); CI runs this before the tests.
# Usage: bash scripts/run_lint.sh [ruff check arguments]
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck disable=SC1091
EXTRA_REQUIREMENTS=requirements-lint.txt source scripts/lib/env_setup.sh
python -m ruff check . "$@"
