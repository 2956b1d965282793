#!/usr/bin/env bash
# Build the inference harness into ascend310_infer/out/ (main, and convert_onnx where the
# runtime has the converter library).
#
# The MindSpore C++ inference API comes from, in this order:
#   MINDSPORE_PATH   a folder with include/api and lib (e.g. an Ascend/GPU MindSpore package)
#   MS_LITE_HOME     a MindSpore Lite package (its runtime/ folder, or a folder with include/ and lib/)
#   otherwise        the C++ libraries of the mindspore-lite 2.0.0 wheel from PyPI (x86_64 CPU),
#                    downloaded once into ascend310_infer/third_party/
set -euo pipefail
cd "$(dirname "$0")"
HERE="$(pwd)"

if [ -n "${MINDSPORE_PATH:-}" ]; then
    MS_PATH="$MINDSPORE_PATH"
elif [ -n "${MS_LITE_HOME:-}" ]; then
    MS_PATH="$MS_LITE_HOME"
    [ -d "$MS_LITE_HOME/runtime" ] && MS_PATH="$MS_LITE_HOME/runtime"
else
    MS_PATH="$HERE/third_party/mindspore_lite"
    if [ ! -f "$MS_PATH/include/api/model.h" ]; then
        echo "[build] fetching the mindspore-lite 2.0.0 wheel (C++ runtime and converter for x86_64 CPU)"
        mkdir -p third_party/wheel
        python -m pip download mindspore-lite==2.0.0 --no-deps --python-version 3.7 --only-binary=:all: \
            -d third_party/wheel --quiet --disable-pip-version-check
        python - "$HERE/third_party" <<'PY'
import glob, sys, zipfile
target = sys.argv[1]
wheel = glob.glob(target + "/wheel/mindspore_lite-2.0.0-*.whl")[0]
with zipfile.ZipFile(wheel) as z:
    z.extractall(target, [n for n in z.namelist() if n.startswith(("mindspore_lite/include/", "mindspore_lite/lib/"))])
PY
    fi
fi
[ -f "$MS_PATH/include/api/model.h" ] || { echo "error: no MindSpore C++ API (include/api/model.h) in $MS_PATH"; exit 1; }
# libjpeg headers for decoding ImageNet JPEG folders
if ! printf '#include <stdio.h>\n#include <jpeglib.h>\n' | c++ -E -x c++ - > /dev/null 2>&1; then
    if command -v apt-get > /dev/null 2>&1; then
        echo "[build] installing Debian package libjpeg-dev"
        sudo_cmd=""; [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
        $sudo_cmd apt-get install -y -q libjpeg-dev > /dev/null || { echo "error: apt-get install libjpeg-dev failed"; exit 1; }
    else
        echo "error: libjpeg headers (jpeglib.h) not found: install libjpeg-turbo's development package"; exit 1
    fi
fi
RUNTIME_LIB=mindspore-extendrt_python
[ -f "$MS_PATH/lib/libmindspore-lite.so" ] && RUNTIME_LIB=mindspore-lite
[ -f "$MS_PATH/lib/libmindspore.so" ] && RUNTIME_LIB=mindspore

rm -rf out && mkdir out && cd out
cmake .. -DMINDSPORE_PATH="$MS_PATH" -DMS_RUNTIME_LIB="$RUNTIME_LIB" > cmake.log
make -j"$(nproc)" > make.log 2>&1 || { cat make.log; exit 1; }
echo "$MS_PATH" > mindspore_path.txt
echo "[build] built $HERE/out/main (runtime library lib$RUNTIME_LIB from $MS_PATH)"
