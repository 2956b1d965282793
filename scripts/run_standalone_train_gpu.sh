#!/usr/bin/env bash
# Train on one GPU: bash run_standalone_train_gpu.sh [cifar10|imagenet2012|fashion_mnist] [DATASET_PATH] [DEVICE_ID](optional) [PRETRAINED_CKPT_PATH](optional) [--key value ...]
# DEVICE_ID (a number, default 0) selects the GPU through CUDA_VISIBLE_DEVICES. Runs in ./train (log: train/log.txt).
source "$(dirname "$0")/lib/common.sh"
split_args 2 4 "usage: bash run_standalone_train_gpu.sh [cifar10|imagenet2012|fashion_mnist] [DATASET_PATH] [DEVICE_ID](optional) [PRETRAINED_CKPT_PATH](optional) [--key value ...]" "$@"
check_dataset "${POSITIONAL[0]}"
require_dir DATASET_PATH "${POSITIONAL[1]}"
DEVICE_ID=0; PRETRAINED_ARGS=()
for extra in "${POSITIONAL[@]:2}"; do
    if [[ "$extra" =~ ^[0-9]+$ ]]; then DEVICE_ID="$extra"; else pretrained_args "$extra"; fi
done
export CUDA_VISIBLE_DEVICES="$DEVICE_ID" DEVICE_ID RANK_SIZE=1
echo "GPU $DEVICE_ID"
launch "$PWD/train" log.txt python "$REPO_ROOT/train.py" --config_path "$(config_for "${POSITIONAL[0]}" GPU)" \
    --dataset "${POSITIONAL[0]}" --device_target GPU --dataset_path "$DATASET_PATH" "${PRETRAINED_ARGS[@]}" "${EXTRA[@]}"
