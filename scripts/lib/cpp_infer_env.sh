#!/usr/bin/env bash
# Sourced by run_tests.sh and ascend310_infer/build.sh (and by tests/test_deployment.py under pytest alone):
# what building the C++ harness needs, prepared once and apart from compiling it (a set-up step).
#   libjpeg's headers (decoding ImageNet JPEG folders): Debian's libjpeg-dev, installed when missing.
#   the MindSpore C++ inference API: MINDSPORE_PATH or MS_LITE_HOME when one is set; otherwise the
#     C++ libraries of the mindspore-lite 2.0.0 wheel from PyPI (x86_64 CPU runtime and converter),
#     unpacked once into $MS_LITE_DOWNLOAD_DIR/mindspore_lite (default: the user's cache,
#     ${XDG_CACHE_HOME:-~/.cache}/mobilenetv1/) and exported as MS_LITE_HOME.
# Returns 1 with an error line when a step fails.

if ! printf '#include <stdio.h>\n#include <jpeglib.h>\n' | c++ -E -x c++ - > /dev/null 2>&1; then
    if ! command -v apt-get > /dev/null 2>&1; then
        echo "error: libjpeg headers (jpeglib.h) not found: install libjpeg-turbo's development package" >&2
        return 1
    fi
    echo "[cpp] installing Debian package libjpeg-dev"
    _cpp_sudo=""; [ "$(id -u)" -eq 0 ] || _cpp_sudo="sudo"
    $_cpp_sudo apt-get install -y -q libjpeg-dev > /dev/null \
        || { echo "error: apt-get install libjpeg-dev failed" >&2; return 1; }
fi

if [ -z "${MINDSPORE_PATH:-}" ] && [ -z "${MS_LITE_HOME:-}" ]; then
    _cpp_download="${MS_LITE_DOWNLOAD_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/mobilenetv1}"
    if [ ! -f "$_cpp_download/mindspore_lite/include/api/model.h" ]; then
        echo "[cpp] fetching the mindspore-lite 2.0.0 wheel (x86_64 CPU runtime and converter) into $_cpp_download"
        python -m pip download mindspore-lite==2.0.0 --no-deps --python-version 3.7 --only-binary=:all: \
            -d "$_cpp_download/wheel" --quiet --disable-pip-version-check \
            || { echo "error: downloading the mindspore-lite 2.0.0 wheel failed" >&2; return 1; }
        python - "$_cpp_download" <<'PY' || { echo "error: unpacking the mindspore-lite wheel failed" >&2; return 1; }
import glob, sys, zipfile
target = sys.argv[1]
wheel = glob.glob(target + "/wheel/mindspore_lite-2.0.0-*.whl")[0]
with zipfile.ZipFile(wheel) as z:
    z.extractall(target, [n for n in z.namelist() if n.startswith(("mindspore_lite/include/", "mindspore_lite/lib/"))])
PY
    fi
    export MS_LITE_HOME="$_cpp_download/mindspore_lite"
fi
