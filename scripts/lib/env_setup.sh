#!/usr/bin/env bash
# Sourced by the run_*.sh scripts: makes sure a Python environment with the pinned
# requirements is active. Uses the active virtualenv if there is one, otherwise creates
# (once) and activates ./.venv at the repository root (override with MOBILENET_VENV).
# Usage: [EXTRA_REQUIREMENTS="file ..."] source scripts/lib/env_setup.sh
# (a variable, not arguments: a sourced file without arguments sees the caller's own arguments)

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
if [ -z "${VIRTUAL_ENV:-}" ]; then
    venv="${MOBILENET_VENV:-$REPO_ROOT/.venv}"
    if [ ! -x "$venv/bin/python" ]; then
        echo "[setup] creating Python environment $venv"
        python3 -m venv "$venv" || { echo "[setup] error: python3 -m venv failed (Debian: apt-get install python3-venv)"; return 1; }
    fi
    # shellcheck disable=SC1091
    . "$venv/bin/activate"
fi
# one stamp per requirement set, so the quickstart and the tests do not reinstall each other's
read -r -a extra_requirements <<< "${EXTRA_REQUIREMENTS:-}"
stamp="$VIRTUAL_ENV/.mobilenetv1-requirements-$(cat "$REPO_ROOT/requirements.txt" "${extra_requirements[@]}" | md5sum | cut -d' ' -f1)"
if [ ! -f "$stamp" ]; then
    echo "[setup] installing requirements into $VIRTUAL_ENV"
    req_args=(-r "$REPO_ROOT/requirements.txt")
    for extra in "${extra_requirements[@]}"; do req_args+=(-r "$extra"); done
    python -m pip install --quiet --disable-pip-version-check "${req_args[@]}" -c "$REPO_ROOT/requirements.txt" \
        || { echo "[setup] error: pip install failed"; return 1; }
    touch "$stamp"
fi
