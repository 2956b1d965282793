#!/usr/bin/env bash
# Set up (Python environment, pinned requirements, the Fashion-MNIST data package, what the C++
# harness builds against, the aarch64 cross compiler) and run the tests.
# Usage: bash scripts/run_tests.sh [pytest arguments]
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck disable=SC1091
EXTRA_REQUIREMENTS=requirements-test.txt source scripts/lib/env_setup.sh
# shellcheck disable=SC1091
source scripts/lib/fashion_mnist_env.sh
# shellcheck disable=SC1091
source scripts/lib/cpp_infer_env.sh
# shellcheck disable=SC1091
source scripts/lib/cross_compiler_env.sh
python -m pytest tests "$@"
