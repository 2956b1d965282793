#!/usr/bin/env bash
# Evaluate on CPU: bash run_eval_cpu.sh [cifar10|imagenet2012|fashion_mnist] [DATASET_PATH] [CHECKPOINT_PATH] [--key value ...]
# Runs in ./eval (log: eval/log_eval_cpu.txt, ending with the result: line).
source "$(dirname "$0")/lib/common.sh"
split_args 3 3 "usage: bash run_eval_cpu.sh [cifar10|imagenet2012|fashion_mnist] [DATASET_PATH] [CHECKPOINT_PATH] [--key value ...]" "$@"
check_dataset "${POSITIONAL[0]}"
require_dir DATASET_PATH "${POSITIONAL[1]}"
require_file CHECKPOINT_PATH "${POSITIONAL[2]}"
launch "$PWD/eval" log_eval_cpu.txt python "$REPO_ROOT/eval.py" --config_path "$(config_for "${POSITIONAL[0]}" CPU)" \
    --dataset "${POSITIONAL[0]}" --device_target CPU --dataset_path "$DATASET_PATH" --checkpoint_path "$CHECKPOINT_PATH" \
    "${EXTRA[@]}"
