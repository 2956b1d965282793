#!/usr/bin/env bash
# Train on one Ascend device: bash run_standalone_train.sh [cifar10|imagenet2012|fashion_mnist] [DATASET_PATH] [DEVICE_ID] [PRETRAINED_CKPT_PATH](optional) [--key value ...]
# Runs in ./train (log: train/log.txt).
source "$(dirname "$0")/lib/common.sh"
split_args 3 4 "usage: bash run_standalone_train.sh [cifar10|imagenet2012|fashion_mnist] [DATASET_PATH] [DEVICE_ID] [PRETRAINED_CKPT_PATH](optional) [--key value ...]" "$@"
check_dataset "${POSITIONAL[0]}"
require_dir DATASET_PATH "${POSITIONAL[1]}"
[[ "${POSITIONAL[2]}" =~ ^[0-9]+$ ]] || die "DEVICE_ID must be a number, got '${POSITIONAL[2]}'"
pretrained_args "${POSITIONAL[3]:-}"
export DEVICE_NUM=1 DEVICE_ID="${POSITIONAL[2]}" RANK_ID=0 RANK_SIZE=1
launch "$PWD/train" log.txt python "$REPO_ROOT/train.py" --config_path "$(config_for "${POSITIONAL[0]}" Ascend)" \
    --dataset "${POSITIONAL[0]}" --device_target Ascend --dataset_path "$DATASET_PATH" "${PRETRAINED_ARGS[@]}" "${EXTRA[@]}"
