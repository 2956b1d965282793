#!/usr/bin/env bash
# Set up (Python environment, pinned requirements, test data package) and run the test suite.
# Usage: bash scripts/run_tests.sh [pytest arguments]
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck disable=SC1091
source scripts/env_setup.sh requirements-test.txt
python -m pytest tests "$@"
