#!/usr/bin/env bash
# Sourced by run_tests.sh: Debian's aarch64 cross compiler (g++-aarch64-linux-gnu), with which the tests
# compile every C++ kernel and the harness for the Kunpeng aarch64 CPUs of Ascend servers. Installed
# with apt-get when missing. Returns 1 with an error line when that fails.

if ! command -v aarch64-linux-gnu-g++ > /dev/null 2>&1; then
    if ! command -v apt-get > /dev/null 2>&1; then
        echo "error: aarch64-linux-gnu-g++ not found and apt-get is not available: install an aarch64 cross g++" >&2
        return 1
    fi
    echo "[cross] installing Debian package g++-aarch64-linux-gnu"
    _cross_sudo=""; [ "$(id -u)" -eq 0 ] || _cross_sudo="sudo"
    { $_cross_sudo apt-get install -y -qq g++-aarch64-linux-gnu > /dev/null 2>&1 \
      || { $_cross_sudo apt-get update -qq > /dev/null && $_cross_sudo apt-get install -y -qq g++-aarch64-linux-gnu > /dev/null; }; } \
      || { echo "error: apt-get install g++-aarch64-linux-gnu failed" >&2; return 1; }
fi
