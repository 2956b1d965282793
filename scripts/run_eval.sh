#!/usr/bin/env bash
# Evaluate on an Ascend device: bash run_eval.sh [cifar10|imagenet2012|fashion_mnist] [DATASET_PATH] [CHECKPOINT_PATH] [DEVICE_ID] [--key value ...]
# Runs in ./eval (log: eval/log_eval.txt). DEVICE_TARGET=GPU|CPU evaluates there instead.
source "$(dirname "$0")/lib/common.sh"
USAGE="usage: bash run_eval.sh [cifar10|imagenet2012|fashion_mnist] [DATASET_PATH] [CHECKPOINT_PATH] [DEVICE_ID] [--key value ...]"
positional=(); while [ $# -gt 0 ] && [ "${1:0:2}" != "--" ]; do positional+=("$1"); shift; done
if [ ${#positional[@]} -ne 4 ]; then echo "$USAGE"; exit 1; fi
check_dataset "${positional[0]}"
DATASET_PATH=$(get_real_path "${positional[1]}"); check_dir DATASET_PATH "$DATASET_PATH"
CHECKPOINT=$(get_real_path "${positional[2]}"); check_file CHECKPOINT_PATH "$CHECKPOINT"
[[ "${positional[3]}" =~ ^[0-9]+$ ]] || die "DEVICE_ID must be a number, got '${positional[3]}'"
TARGET="${DEVICE_TARGET:-Ascend}"
export DEVICE_ID="${positional[3]}" RANK_SIZE=1
launch "$PWD/eval" log_eval.txt python "$REPO_ROOT/eval.py" --config_path "$(config_for "${positional[0]}" "$TARGET")" \
    --dataset "${positional[0]}" --device_target "$TARGET" --dataset_path "$DATASET_PATH" \
    --checkpoint_path "$CHECKPOINT" --device_id "$DEVICE_ID" "$@"
