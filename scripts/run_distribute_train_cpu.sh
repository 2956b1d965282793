#!/usr/bin/env bash
# Data-parallel training with N worker processes on this machine's CPU (MindSpore msrun, mccl backend):
#   bash run_distribute_train_cpu.sh [cifar10|imagenet2012|fashion_mnist] [DATASET_PATH] [WORKER_NUM] [PRETRAINED_CKPT_PATH](optional) [--key value ...]
# Runs in ./train_parallel: msrun_log/worker_<i>.log per rank, log.txt for msrun itself;
# every rank writes ckpt_<rank>/. MASTER_PORT (default 8118) picks the scheduler port.
source "$(dirname "$0")/lib/common.sh"
split_args 3 4 "usage: bash run_distribute_train_cpu.sh [cifar10|imagenet2012|fashion_mnist] [DATASET_PATH] [WORKER_NUM] [PRETRAINED_CKPT_PATH](optional) [--key value ...]" "$@"
check_dataset "${POSITIONAL[0]}"
require_dir DATASET_PATH "${POSITIONAL[1]}"
WORKER_NUM="${POSITIONAL[2]}"
[[ "$WORKER_NUM" =~ ^[1-9][0-9]*$ ]] || die "WORKER_NUM must be a positive number, got '$WORKER_NUM'"
pretrained_args "${POSITIONAL[3]:-}"
command -v msrun >/dev/null 2>&1 || die "msrun not found: activate the Python environment that has MindSpore"
# each worker its share of this machine's cores: MindSpore's CPU kernels, the C++ kernels' OpenMP, one data worker
SHARE=$(( $(nproc) / WORKER_NUM )); [ "$SHARE" -ge 1 ] || SHARE=1
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-$SHARE}"
echo "[launch] $WORKER_NUM workers on $(nproc) cores: $SHARE threads each (OMP_NUM_THREADS=$OMP_NUM_THREADS)"
args=(--config_path "$(config_for "${POSITIONAL[0]}" CPU)" --dataset "${POSITIONAL[0]}" --device_target CPU
      --run_distribute True --device_num "$WORKER_NUM" --dataset_path "$DATASET_PATH" --num_parallel_workers 1
      --cpu_threads "$SHARE" "${PRETRAINED_ARGS[@]}")
[ "${POSITIONAL[0]}" = "imagenet2012" ] && args+=(--batch_size 32 --lr_max 0.1)
launch "$PWD/train_parallel" log.txt msrun --worker_num="$WORKER_NUM" --local_worker_num="$WORKER_NUM" \
    --master_addr=127.0.0.1 --master_port="${MASTER_PORT:-8118}" --log_dir=msrun_log --join=True \
    --cluster_time_out=300 "$REPO_ROOT/train.py" "${args[@]}" "${EXTRA[@]}"
