#!/usr/bin/env bash
# Sourced by run_quickstart.sh and run_tests.sh: makes sure the Fashion-MNIST IDX files are on
# disk and exports FASHION_MNIST_DIR. They come from Debian's dataset-fashion-mnist package
# (installed with apt-get when missing) or from a folder you name: FASHION_MNIST_DIR=/path.

_fm_has_files() {
    local f
    for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
        [ -f "$1/$f.gz" ] || [ -f "$1/$f" ] || return 1
    done
}

if [ -n "${FASHION_MNIST_DIR:-}" ]; then
    _fm_has_files "$FASHION_MNIST_DIR" || {
        echo "[data] error: FASHION_MNIST_DIR=$FASHION_MNIST_DIR lacks the four Fashion-MNIST IDX files" \
             "(train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], t10k-images-idx3-ubyte[.gz], t10k-labels-idx1-ubyte[.gz])"
        return 1
    }
else
    export FASHION_MNIST_DIR=/usr/share/datasets/fashion-mnist
    if ! _fm_has_files "$FASHION_MNIST_DIR"; then
        if ! command -v apt-get >/dev/null 2>&1; then
            echo "[data] error: Fashion-MNIST not found in $FASHION_MNIST_DIR and apt-get is not available."
            echo "[data] Get the four IDX files (https://github.com/zalandoresearch/fashion-mnist) and run again with"
            echo "[data]   FASHION_MNIST_DIR=/folder/with/idx/files bash $0"
            return 1
        fi
        sudo_cmd=""
        [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
        echo "[data] installing Debian package dataset-fashion-mnist"
        { $sudo_cmd apt-get install -y -qq dataset-fashion-mnist >/dev/null 2>&1 \
          || { $sudo_cmd apt-get update -qq >/dev/null && $sudo_cmd apt-get install -y -qq dataset-fashion-mnist >/dev/null; }; } \
          || { echo "[data] error: apt-get install dataset-fashion-mnist failed; install it yourself or set FASHION_MNIST_DIR"; return 1; }
        _fm_has_files "$FASHION_MNIST_DIR" || { echo "[data] error: package installed but files missing in $FASHION_MNIST_DIR"; return 1; }
    fi
fi
