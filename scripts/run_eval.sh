#!/usr/bin/env bash
# Evaluate on an Ascend device: bash run_eval.sh [cifar10|imagenet2012|fashion_mnist] [DATASET_PATH] [CHECKPOINT_PATH] [DEVICE_ID] [--key value ...]
# Runs in ./eval (log: eval/log_eval.txt). DEVICE_TARGET=GPU|CPU evaluates there instead.
source "$(dirname "$0")/lib/common.sh"
split_args 4 4 "usage: bash run_eval.sh [cifar10|imagenet2012|fashion_mnist] [DATASET_PATH] [CHECKPOINT_PATH] [DEVICE_ID] [--key value ...]" "$@"
check_dataset "${POSITIONAL[0]}"
require_dir DATASET_PATH "${POSITIONAL[1]}"
require_file CHECKPOINT_PATH "${POSITIONAL[2]}"
[[ "${POSITIONAL[3]}" =~ ^[0-9]+$ ]] || die "DEVICE_ID must be a number, got '${POSITIONAL[3]}'"
TARGET="${DEVICE_TARGET:-Ascend}"
export DEVICE_ID="${POSITIONAL[3]}" RANK_SIZE=1
launch "$PWD/eval" log_eval.txt python "$REPO_ROOT/eval.py" --config_path "$(config_for "${POSITIONAL[0]}" "$TARGET")" \
    --dataset "${POSITIONAL[0]}" --device_target "$TARGET" --dataset_path "$DATASET_PATH" \
    --checkpoint_path "$CHECKPOINT_PATH" --device_id "$DEVICE_ID" "${EXTRA[@]}"
