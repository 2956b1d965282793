#!/usr/bin/env bash
# Quick start on the embedded default data set, Fashion-MNIST, on CPU:
# set up Python and the data, convert the IDX files to the CIFAR-10 binary layout, train,
# evaluate on all 10,000 test images, export MINDIR + ONNX, and say where everything is.
#
# Usage: bash scripts/run_quickstart.sh [--full] [OUTPUT_DIR]
#   --full       the full recipe, default_config_fashion_mnist_full.yaml (width 0.75, 26 epochs of batch
#                256, crop + flip, label smoothing, validation every 6 epochs; its evaluation averages
#                10 views of each test image: itself and 1-pixel shifts, each with its mirror), instead of
#                the quick one, default_config_fashion_mnist.yaml (width 0.25, 5 epochs)
#   OUTPUT_DIR   default: output/quickstart (output/fashion_mnist_full with --full)
# Environment: FASHION_MNIST_DIR=/folder/with/idx/files to use your own copy of the data.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO_ROOT="$(pwd)"

FULL=0
if [ "${1:-}" = "--full" ]; then FULL=1; shift; fi
case "$#:${1:-}" in
    [2-9]*|*:-*) echo "usage: bash scripts/run_quickstart.sh [--full] [OUTPUT_DIR]"; exit 1 ;;
esac
if [ "$FULL" = 1 ]; then OUT="${1:-output/fashion_mnist_full}"; else OUT="${1:-output/quickstart}"; fi
# shellcheck disable=SC1091
source scripts/lib/common.sh
set_aside_previous_run "$OUT"
mkdir -p "$OUT" && OUT="$(cd "$OUT" && pwd)"
DATA="$REPO_ROOT/data/fashion_mnist"
CONFIG="$REPO_ROOT/default_config_fashion_mnist.yaml"
if [ "$FULL" = 1 ]; then CONFIG="$REPO_ROOT/default_config_fashion_mnist_full.yaml"; fi

start=$(date +%s)
# shellcheck disable=SC1091
source scripts/lib/fashion_mnist_env.sh
# shellcheck disable=SC1091
source scripts/lib/env_setup.sh

python -m src.tools.convert_fashion_mnist --idx_dir "$FASHION_MNIST_DIR" --output_dir "$DATA"

echo "[train] $( [ "$FULL" = 1 ] && echo "full recipe" || echo "quick run" ) -> $OUT/train.log"
python train.py --config_path "$CONFIG" --dataset_path "$DATA/fashion-mnist-batches-bin" \
    --eval_dataset_path "$DATA/fashion-mnist-verify-bin" --save_checkpoint_path "$OUT" 2>&1 | tee "$OUT/train.log"
CKPT="$(ls -t "$OUT"/mobilenetv1-*_*.ckpt | head -n 1)"  # the last epoch's, not mobilenetv1-best.ckpt

echo "[eval] $CKPT on all test images -> $OUT/eval.log"
python eval.py --config_path "$CONFIG" --dataset_path "$DATA/fashion-mnist-verify-bin" \
    --checkpoint_path "$CKPT" 2>&1 | tee "$OUT/eval.log"
RESULT="$(grep '^result:' "$OUT/eval.log")"

for format in MINDIR ONNX; do
    python export.py --config_path "$CONFIG" --ckpt_file "$CKPT" --file_name "$OUT/mobilenetv1_fashion_mnist" \
        --file_format "$format" --batch_size 1 | grep '^exported:'
done

echo
echo "Done in $(( $(date +%s) - start )) s."
echo "  checkpoint:  $CKPT"
echo "  test result: $RESULT"
echo "  metrics:     $OUT/metrics.jsonl, curves $OUT/curves.png, logs $OUT/train.log and $OUT/eval.log"
echo "  exported:    $OUT/mobilenetv1_fashion_mnist.mindir, $OUT/mobilenetv1_fashion_mnist.onnx"
