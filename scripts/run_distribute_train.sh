#!/usr/bin/env bash
# Data-parallel training on 8 Ascend devices of one server with an HCCL rank table:
#   bash run_distribute_train.sh [cifar10|imagenet2012|fashion_mnist] [RANK_TABLE_FILE] [DATASET_PATH] [PRETRAINED_CKPT_PATH](optional) [--key value ...]
# One process per device in ./train_parallel<i> (log: train_parallel<i>/log.txt), pinned to its
# share of the CPUs. Create the rank table with models/utils/hccl_tools (hccl_8p_*.json).
source "$(dirname "$0")/lib/common.sh"
USAGE="usage: bash run_distribute_train.sh [cifar10|imagenet2012|fashion_mnist] [RANK_TABLE_FILE] [DATASET_PATH] [PRETRAINED_CKPT_PATH](optional) [--key value ...]"
positional=(); while [ $# -gt 0 ] && [ "${1:0:2}" != "--" ]; do positional+=("$1"); shift; done
if [ ${#positional[@]} -lt 3 ] || [ ${#positional[@]} -gt 4 ]; then echo "$USAGE"; exit 1; fi
check_dataset "${positional[0]}"
RANK_TABLE_FILE=$(get_real_path "${positional[1]}"); check_file RANK_TABLE_FILE "$RANK_TABLE_FILE"
DATASET_PATH=$(get_real_path "${positional[2]}"); check_dir DATASET_PATH "$DATASET_PATH"
args=(--config_path "$(config_for "${positional[0]}" Ascend)" --dataset "${positional[0]}" --device_target Ascend
      --run_distribute True --device_num 8 --dataset_path "$DATASET_PATH")
if [ ${#positional[@]} -eq 4 ]; then
    PRETRAINED=$(get_real_path "${positional[3]}"); check_file PRETRAINED_CKPT_PATH "$PRETRAINED"
    args+=(--pre_trained "$PRETRAINED")
fi
ulimit -u unlimited
export DEVICE_NUM=8 RANK_SIZE=8 RANK_TABLE_FILE SERVER_ID=0
cpus=$(nproc); per_rank=$(( cpus / 8 > 0 ? cpus / 8 : 1 ))
base_dir="$PWD"
for ((i = 0; i < 8; i++)); do
    export DEVICE_ID=$i RANK_ID=$i
    first=$(( i * per_rank % cpus )); last=$(( first + per_rank - 1 ))
    echo "rank $i: device $i, cpus $first-$last"
    ( launch "$base_dir/train_parallel$i" log.txt taskset -c "$first-$last" python "$REPO_ROOT/train.py" "${args[@]}" "$@" )
done
