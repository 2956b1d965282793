#!/usr/bin/env bash
# Data-parallel training on 8 Ascend devices of one server with an HCCL rank table:
#   bash run_distribute_train.sh [cifar10|imagenet2012|fashion_mnist] [RANK_TABLE_FILE] [DATASET_PATH] [PRETRAINED_CKPT_PATH](optional) [--key value ...]
# One process per device in ./train_parallel<i> (log: train_parallel<i>/log.txt), pinned to its
# share of the CPUs. Create the rank table with models/utils/hccl_tools (hccl_8p_*.json).
source "$(dirname "$0")/lib/common.sh"
split_args 3 4 "usage: bash run_distribute_train.sh [cifar10|imagenet2012|fashion_mnist] [RANK_TABLE_FILE] [DATASET_PATH] [PRETRAINED_CKPT_PATH](optional) [--key value ...]" "$@"
check_dataset "${POSITIONAL[0]}"
require_file RANK_TABLE_FILE "${POSITIONAL[1]}"
require_dir DATASET_PATH "${POSITIONAL[2]}"
pretrained_args "${POSITIONAL[3]:-}"
args=(--config_path "$(config_for "${POSITIONAL[0]}" Ascend)" --dataset "${POSITIONAL[0]}" --device_target Ascend
      --run_distribute True --device_num 8 --dataset_path "$DATASET_PATH" "${PRETRAINED_ARGS[@]}")
ulimit -u unlimited
export DEVICE_NUM=8 RANK_SIZE=8 RANK_TABLE_FILE SERVER_ID=0
cpus=$(nproc); per_rank=$(( cpus / 8 > 0 ? cpus / 8 : 1 ))
base_dir="$PWD"
for ((i = 0; i < 8; i++)); do
    export DEVICE_ID=$i RANK_ID=$i
    first=$(( i * per_rank % cpus )); last=$(( first + per_rank - 1 ))
    echo "rank $i: device $i, cpus $first-$last"
    ( launch "$base_dir/train_parallel$i" log.txt taskset -c "$first-$last" python "$REPO_ROOT/train.py" "${args[@]}" "${EXTRA[@]}" )
done
