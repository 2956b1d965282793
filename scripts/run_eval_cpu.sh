#!/usr/bin/env bash
# Evaluate on CPU: bash run_eval_cpu.sh [cifar10|imagenet2012|fashion_mnist] [DATASET_PATH] [CHECKPOINT_PATH] [--key value ...]
# Runs in ./eval (log: eval/log_eval_cpu.txt, ending with the result: line).
source "$(dirname "$0")/lib/common.sh"
USAGE="usage: bash run_eval_cpu.sh [cifar10|imagenet2012|fashion_mnist] [DATASET_PATH] [CHECKPOINT_PATH] [--key value ...]"
positional=(); while [ $# -gt 0 ] && [ "${1:0:2}" != "--" ]; do positional+=("$1"); shift; done
if [ ${#positional[@]} -ne 3 ]; then echo "$USAGE"; exit 1; fi
check_dataset "${positional[0]}"
DATASET_PATH=$(get_real_path "${positional[1]}"); check_dir DATASET_PATH "$DATASET_PATH"
CHECKPOINT=$(get_real_path "${positional[2]}"); check_file CHECKPOINT_PATH "$CHECKPOINT"
launch "$PWD/eval" log_eval_cpu.txt python "$REPO_ROOT/eval.py" --config_path "$(config_for "${positional[0]}" CPU)" \
    --dataset "${positional[0]}" --device_target CPU --dataset_path "$DATASET_PATH" --checkpoint_path "$CHECKPOINT" "$@"
