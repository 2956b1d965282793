#!/usr/bin/env bash
# Train on one Ascend device: bash run_standalone_train.sh [cifar10|imagenet2012|fashion_mnist] [DATASET_PATH] [DEVICE_ID] [PRETRAINED_CKPT_PATH](optional) [--key value ...]
# Runs in ./train (log: train/log.txt).
source "$(dirname "$0")/lib/common.sh"
USAGE="usage: bash run_standalone_train.sh [cifar10|imagenet2012|fashion_mnist] [DATASET_PATH] [DEVICE_ID] [PRETRAINED_CKPT_PATH](optional) [--key value ...]"
positional=(); while [ $# -gt 0 ] && [ "${1:0:2}" != "--" ]; do positional+=("$1"); shift; done
if [ ${#positional[@]} -lt 3 ] || [ ${#positional[@]} -gt 4 ]; then echo "$USAGE"; exit 1; fi
check_dataset "${positional[0]}"
DATASET_PATH=$(get_real_path "${positional[1]}"); check_dir DATASET_PATH "$DATASET_PATH"
[[ "${positional[2]}" =~ ^[0-9]+$ ]] || die "DEVICE_ID must be a number, got '${positional[2]}'"
export DEVICE_NUM=1 DEVICE_ID="${positional[2]}" RANK_ID=0 RANK_SIZE=1
args=(--config_path "$(config_for "${positional[0]}" Ascend)" --dataset "${positional[0]}" --device_target Ascend
      --dataset_path "$DATASET_PATH")
if [ ${#positional[@]} -eq 4 ]; then
    PRETRAINED=$(get_real_path "${positional[3]}"); check_file PRETRAINED_CKPT_PATH "$PRETRAINED"
    args+=(--pre_trained "$PRETRAINED")
fi
launch "$PWD/train" log.txt python "$REPO_ROOT/train.py" "${args[@]}" "$@"
