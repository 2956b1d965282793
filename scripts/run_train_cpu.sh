#!/usr/bin/env bash
# Train on CPU: bash run_train_cpu.sh [cifar10|imagenet2012|fashion_mnist] [DATASET_PATH] [PRETRAINED_CKPT_PATH](optional) [--key value ...]
# Runs in ./train (log: train/log.txt). For ImageNet the per-device batch is 32 with LR 0.1
# (the Ascend YAML's 256 / 0.8 scaled down), not the Ascend values the official script used.
source "$(dirname "$0")/lib/common.sh"
USAGE="usage: bash run_train_cpu.sh [cifar10|imagenet2012|fashion_mnist] [DATASET_PATH] [PRETRAINED_CKPT_PATH](optional) [--key value ...]"
positional=(); while [ $# -gt 0 ] && [ "${1:0:2}" != "--" ]; do positional+=("$1"); shift; done
if [ ${#positional[@]} -lt 2 ] || [ ${#positional[@]} -gt 3 ]; then echo "$USAGE"; exit 1; fi
check_dataset "${positional[0]}"
DATASET_PATH=$(get_real_path "${positional[1]}"); check_dir DATASET_PATH "$DATASET_PATH"
args=(--config_path "$(config_for "${positional[0]}" CPU)" --dataset "${positional[0]}" --device_target CPU
      --dataset_path "$DATASET_PATH")
if [ ${#positional[@]} -eq 3 ]; then
    PRETRAINED=$(get_real_path "${positional[2]}"); check_file PRETRAINED_CKPT_PATH "$PRETRAINED"
    args+=(--pre_trained "$PRETRAINED")
fi
[ "${positional[0]}" = "imagenet2012" ] && args+=(--batch_size 32 --lr_max 0.1)
launch "$PWD/train" log.txt python "$REPO_ROOT/train.py" "${args[@]}" "$@"
