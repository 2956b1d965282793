#!/usr/bin/env bash
# Train on one GPU: bash run_standalone_train_gpu.sh [cifar10|imagenet2012|fashion_mnist] [DATASET_PATH] [DEVICE_ID](optional) [PRETRAINED_CKPT_PATH](optional) [--key value ...]
# DEVICE_ID (a number, default 0) selects the GPU through CUDA_VISIBLE_DEVICES. Runs in ./train (log: train/log.txt).
source "$(dirname "$0")/lib/common.sh"
USAGE="usage: bash run_standalone_train_gpu.sh [cifar10|imagenet2012|fashion_mnist] [DATASET_PATH] [DEVICE_ID](optional) [PRETRAINED_CKPT_PATH](optional) [--key value ...]"
positional=(); while [ $# -gt 0 ] && [ "${1:0:2}" != "--" ]; do positional+=("$1"); shift; done
if [ ${#positional[@]} -lt 2 ] || [ ${#positional[@]} -gt 4 ]; then echo "$USAGE"; exit 1; fi
check_dataset "${positional[0]}"
DATASET_PATH=$(get_real_path "${positional[1]}"); check_dir DATASET_PATH "$DATASET_PATH"
DEVICE_ID=0; PRETRAINED=""
for extra in "${positional[@]:2}"; do
    if [[ "$extra" =~ ^[0-9]+$ ]]; then DEVICE_ID="$extra"
    else PRETRAINED=$(get_real_path "$extra"); check_file PRETRAINED_CKPT_PATH "$PRETRAINED"; fi
done
export CUDA_VISIBLE_DEVICES="$DEVICE_ID" DEVICE_ID RANK_SIZE=1
echo "GPU $DEVICE_ID"
args=(--config_path "$(config_for "${positional[0]}" GPU)" --dataset "${positional[0]}" --device_target GPU
      --dataset_path "$DATASET_PATH")
[ -n "$PRETRAINED" ] && args+=(--pre_trained "$PRETRAINED")
launch "$PWD/train" log.txt python "$REPO_ROOT/train.py" "${args[@]}" "$@"
