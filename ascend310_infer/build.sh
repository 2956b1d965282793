#!/usr/bin/env bash
# Build the inference harness into ascend310_infer/out/, or into HARNESS_OUT when set (a folder that
# is empty, new or an earlier build: it is replaced): main, and convert_onnx where the runtime has
# the converter library.
#
# The MindSpore C++ inference API comes from, in this order:
#   MINDSPORE_PATH   a folder with include/api and lib (e.g. an Ascend/GPU MindSpore package)
#   MS_LITE_HOME     a MindSpore Lite package (its runtime/ folder, or a folder with include/ and lib/)
#   otherwise        the C++ libraries of the mindspore-lite 2.0.0 wheel from PyPI (x86_64 CPU),
#                    downloaded once into ascend310_infer/third_party/ (scripts/lib/cpp_infer_env.sh,
#                    which also installs libjpeg's headers when they are missing)
set -euo pipefail
OUT="$(realpath -m "${HARNESS_OUT:-$(dirname "$0")/out}")"
cd "$(dirname "$0")"
HERE="$(pwd)"
if [ -d "$OUT" ] && [ -n "$(ls -A "$OUT")" ] && [ ! -f "$OUT/CMakeCache.txt" ]; then
    echo "error: HARNESS_OUT=$OUT is neither empty nor an earlier build of the harness"; exit 1
fi

# shellcheck disable=SC1091
MS_LITE_DOWNLOAD_DIR="${MS_LITE_DOWNLOAD_DIR:-$HERE/third_party}" source ../scripts/lib/cpp_infer_env.sh
MS_PATH="${MINDSPORE_PATH:-$MS_LITE_HOME}"
[ -z "${MINDSPORE_PATH:-}" ] && [ -d "$MS_LITE_HOME/runtime" ] && MS_PATH="$MS_LITE_HOME/runtime"
[ -f "$MS_PATH/include/api/model.h" ] || { echo "error: no MindSpore C++ API (include/api/model.h) in $MS_PATH"; exit 1; }
RUNTIME_LIB=mindspore-extendrt_python
[ -f "$MS_PATH/lib/libmindspore-lite.so" ] && RUNTIME_LIB=mindspore-lite
[ -f "$MS_PATH/lib/libmindspore.so" ] && RUNTIME_LIB=mindspore

rm -rf "$OUT" && mkdir -p "$OUT"
cmake -S "$HERE" -B "$OUT" -DMINDSPORE_PATH="$MS_PATH" -DMS_RUNTIME_LIB="$RUNTIME_LIB" > "$OUT/cmake.log"
make -C "$OUT" -j"$(nproc)" > "$OUT/make.log" 2>&1 || { cat "$OUT/make.log"; exit 1; }
echo "$MS_PATH" > "$OUT/mindspore_path.txt"
echo "[build] built $OUT/main (runtime library lib$RUNTIME_LIB from $MS_PATH)"
