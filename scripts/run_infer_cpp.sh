#!/usr/bin/env bash
# C++ inference and its accuracy:
#   bash run_infer_cpp.sh [MODEL_PATH] [DATASET_PATH] [DEVICE_TYPE] [DEVICE_ID](optional) [--key value ...]
# MODEL_PATH: a MINDIR, an ONNX file or a checkpoint. DEVICE_TYPE: Ascend, GPU or CPU.
# DATASET_PATH and the --key flags are those of eval.py (e.g. --dataset fashion_mnist; default
# imagenet2012, as the official script). Steps, each logged in the current folder:
#   export (checkpoint -> ONNX, batch 1)   export.log
#   convert (CPU: ONNX -> Lite MINDIR)     convert.log
#   build the harness                      build.log        (into ascend310_infer/out/, or HARNESS_OUT=DIR)
#   preprocess (eval.py's pipeline)        preprocess.log   (CIFAR-10 / Fashion-MNIST .bin files)
#   infer                                  infer.log, result_Files/, time_Result/
#                                          (ImageNet: the harness decodes DATASET_PATH/validation_preprocess/
#                                          JPEGs itself, as eval.py preprocesses them, labels in labels.json)
#   postprocess (top-1 / top-5)            acc.log
# On CPU the MindSpore Lite runtime here reads MINDIR converted from ONNX, not MINDIR written by
# MindSpore 2.x (MindIR version 3): pass the ONNX file or the checkpoint.
source "$(dirname "$0")/lib/common.sh"
split_args 3 4 "usage: bash run_infer_cpp.sh [MODEL_PATH] [DATASET_PATH] [DEVICE_TYPE] [DEVICE_ID](optional) [--key value ...]" "$@"
require_file MODEL_PATH "${POSITIONAL[0]}"
MODEL="$MODEL_PATH"
require_dir DATASET_PATH "${POSITIONAL[1]}"
DEVICE_TYPE="${POSITIONAL[2]}"
case "$DEVICE_TYPE" in Ascend|GPU|CPU) ;; *) die "DEVICE_TYPE must be Ascend, GPU or CPU, got '$DEVICE_TYPE'" ;; esac
DEVICE_ID="${POSITIONAL[3]:-0}"
[[ "$DEVICE_ID" =~ ^[0-9]+$ ]] || die "DEVICE_ID must be a number, got '$DEVICE_ID'"
[ "$DEVICE_TYPE" = "GPU" ] && DEVICE_ID=0
has_flag() { local f; for f in "${EXTRA[@]}"; do [ "$f" = "$1" ] && return 0; done; return 1; }
has_flag --dataset || EXTRA=(--dataset imagenet2012 "${EXTRA[@]}")
flag_value() {  # flag_value --key DEFAULT: the value given with --key in the extra flags, else DEFAULT
    local i; for ((i = 0; i < ${#EXTRA[@]} - 1; i++)); do
        [ "${EXTRA[$i]}" = "$1" ] && { echo "${EXTRA[$((i + 1))]}"; return; }
    done; echo "$2"
}
DATASET="$(flag_value --dataset imagenet2012)"
IMAGE_SIZE="$(flag_value --image_size "")"
WORK="$PWD"

step() {  # step NAME LOG command...
    local name="$1" log="$2"; shift 2
    echo "[$name] -> $WORK/$log"
    "$@" > "$WORK/$log" 2>&1 || { echo "error: $name failed, see $WORK/$log:"; tail -n 5 "$WORK/$log"; exit 1; }
}

case "$MODEL" in
    *.ckpt)
        step export export.log python "$REPO_ROOT/export.py" --ckpt_file "$MODEL" --file_format ONNX --batch_size 1 \
            --file_name "$WORK/mobilenetv1_infer" --device_target CPU "${EXTRA[@]}"  # the input size: --image_size, as preprocessed
        MODEL="$WORK/mobilenetv1_infer.onnx" ;;
    *.onnx|*.mindir|*.air) ;;
    *) die "MODEL_PATH must be a .mindir, .onnx or .ckpt file: $MODEL" ;;
esac
HARNESS_OUT="$(get_real_path "${HARNESS_OUT:-$REPO_ROOT/ascend310_infer/out}")"
export HARNESS_OUT
step build build.log bash "$REPO_ROOT/ascend310_infer/build.sh"
MS_PATH="$(cat "$HARNESS_OUT/mindspore_path.txt")"
export LD_LIBRARY_PATH="$MS_PATH/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
MODEL_GIVEN="$MODEL"
if [ "${MODEL##*.}" = "onnx" ]; then
    [ -x "$HARNESS_OUT/convert_onnx" ] || die "this MindSpore build has no ONNX converter: pass a MINDIR"
    step convert convert.log "$HARNESS_OUT/convert_onnx" "$MODEL" "$WORK/mobilenetv1_lite"
    MODEL="$WORK/mobilenetv1_lite.mindir"
fi
rm -rf "$WORK/preprocess_Result" "$WORK/result_Files" "$WORK/time_Result" "$WORK/labels.json"
if [ "$DATASET" = "imagenet2012" ]; then  # JPEG class folders: decoded and preprocessed by the harness
    if [ -z "${IMAGE_SIZE:-}" ] && [ -f "$MODEL_GIVEN.json" ]; then  # the size the model was exported for
        IMAGE_SIZE="$(python -c 'import json, sys; print(json.load(open(sys.argv[1]))["input_shape"][-1])' "$MODEL_GIVEN.json")"
    fi
    IMAGE_SIZE="${IMAGE_SIZE:-224}"
    echo "[preprocess] in the harness: shorter side to $((IMAGE_SIZE * 256 / 224)), centre crop to $IMAGE_SIZE"
    INPUTS=(--image_path "$DATASET_PATH/validation_preprocess" --resize $((IMAGE_SIZE * 256 / 224))
            --label_file "$WORK/labels.json")
    LABELS="$WORK/labels.json"
else
    SETTINGS=()  # the export's own settings (image size, normalisation), when export.py wrote them beside it
    if [ -f "$MODEL_GIVEN.json" ]; then SETTINGS=(--ckpt_file "$MODEL_GIVEN"); fi
    step preprocess preprocess.log python "$REPO_ROOT/preprocess.py" --dataset_path "$DATASET_PATH" \
        --result_path "$WORK/preprocess_Result" --device_target CPU "${SETTINGS[@]}" "${EXTRA[@]}"
    INPUTS=(--input0_path "$WORK/preprocess_Result/00_data")
    LABELS="$WORK/preprocess_Result/labels.json"
fi
step infer infer.log "$HARNESS_OUT/main" --mindir_path "$MODEL" "${INPUTS[@]}" \
    --device_type "$DEVICE_TYPE" --device_id "$DEVICE_ID" \
    --result_dir "$WORK/result_Files" --time_file "$WORK/time_Result/test_perform_static.txt"
step postprocess acc.log python "$REPO_ROOT/postprocess.py" --result_dir "$WORK/result_Files" --label_dir "$LABELS"
grep "average time" "$WORK/infer.log"
cat "$WORK/acc.log"
