#!/usr/bin/env bash
# Data-parallel training on the GPUs of one server:
#   bash run_distribute_train_gpu.sh [cifar10|imagenet2012|fashion_mnist] [CONFIG_PATH] [DATASET_PATH] [PRETRAINED_CKPT_PATH](optional) [--key value ...]
# DEVICE_NUM (default 4) processes, started with mpirun where it exists (the official way),
# otherwise with MindSpore's msrun. Runs in ./train_parallel (log: train_parallel/log.txt).
source "$(dirname "$0")/lib/common.sh"
split_args 3 4 "usage: bash run_distribute_train_gpu.sh [cifar10|imagenet2012|fashion_mnist] [CONFIG_PATH] [DATASET_PATH] [PRETRAINED_CKPT_PATH](optional) [--key value ...]" "$@"
check_dataset "${POSITIONAL[0]}"
require_file CONFIG_PATH "${POSITIONAL[1]}"
require_dir DATASET_PATH "${POSITIONAL[2]}"
pretrained_args "${POSITIONAL[3]:-}"
DEVICE_NUM=${DEVICE_NUM:-4}
export DEVICE_NUM RANK_SIZE=$DEVICE_NUM
args=(--config_path "$CONFIG_PATH" --dataset "${POSITIONAL[0]}" --device_target GPU --run_distribute True
      --device_num "$DEVICE_NUM" --dataset_path "$DATASET_PATH" "${PRETRAINED_ARGS[@]}" "${EXTRA[@]}")
if command -v mpirun >/dev/null 2>&1 && [ "${LAUNCHER:-mpirun}" = "mpirun" ]; then
    launch "$PWD/train_parallel" log.txt mpirun --allow-run-as-root -n "$DEVICE_NUM" --output-filename log_output \
        --merge-stderr-to-stdout python "$REPO_ROOT/train.py" "${args[@]}"
else
    launch "$PWD/train_parallel" log.txt msrun --worker_num="$DEVICE_NUM" --local_worker_num="$DEVICE_NUM" \
        --master_addr=127.0.0.1 --master_port="${MASTER_PORT:-8118}" --log_dir=msrun_log --join=True \
        "$REPO_ROOT/train.py" "${args[@]}"
fi
