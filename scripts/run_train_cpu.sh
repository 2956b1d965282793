#!/usr/bin/env bash
# Train on CPU: bash run_train_cpu.sh [cifar10|imagenet2012|fashion_mnist] [DATASET_PATH] [PRETRAINED_CKPT_PATH](optional) [--key value ...]
# Runs in ./train (log: train/log.txt). For ImageNet the per-device batch is 32 with LR 0.1
# (the Ascend YAML's 256 / 0.8 scaled down), not the Ascend values the official script used.
source "$(dirname "$0")/lib/common.sh"
split_args 2 3 "usage: bash run_train_cpu.sh [cifar10|imagenet2012|fashion_mnist] [DATASET_PATH] [PRETRAINED_CKPT_PATH](optional) [--key value ...]" "$@"
check_dataset "${POSITIONAL[0]}"
require_dir DATASET_PATH "${POSITIONAL[1]}"
pretrained_args "${POSITIONAL[2]:-}"
args=(--config_path "$(config_for "${POSITIONAL[0]}" CPU)" --dataset "${POSITIONAL[0]}" --device_target CPU
      --dataset_path "$DATASET_PATH" "${PRETRAINED_ARGS[@]}")
[ "${POSITIONAL[0]}" = "imagenet2012" ] && args+=(--batch_size 32 --lr_max 0.1)
launch "$PWD/train" log.txt python "$REPO_ROOT/train.py" "${args[@]}" "${EXTRA[@]}"
