#!/usr/bin/env bash
# Helpers sourced by the run_*.sh launchers: argument checks, absolute paths, config choice,
# launching in the background (or in the foreground with FOREGROUND=1) with a log file.

SCRIPTS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REPO_ROOT="$(dirname "$SCRIPTS_DIR")"

die() { echo "error: $*" >&2; exit 1; }

get_real_path() {
    if [ "${1:0:1}" = "/" ]; then echo "$1"; else realpath -m "$PWD/$1"; fi
}

check_dataset() {
    case "$1" in
        cifar10|imagenet2012|fashion_mnist) ;;
        *) die "the selected dataset '$1' is none of cifar10, imagenet2012, fashion_mnist" ;;
    esac
}

# require_dir NAME PATH / require_file NAME PATH: set the variable NAME to PATH made absolute,
# after checking that it is a directory / a file
require_dir() { local p; p=$(get_real_path "$2"); [ -d "$p" ] || die "$1 is not a directory: $p"; printf -v "$1" '%s' "$p"; }
require_file() { local p; p=$(get_real_path "$2"); [ -f "$p" ] || die "$1 is not a file: $p"; printf -v "$1" '%s' "$p"; }

# split_args MIN MAX USAGE "$@": leading arguments into POSITIONAL (MIN to MAX of them, else the
# usage message and exit 1); the --key value flags after them into EXTRA, for train.py/eval.py
split_args() {
    local min="$1" max="$2" usage="$3"; shift 3
    POSITIONAL=()
    while [ $# -gt 0 ] && [ "${1:0:2}" != "--" ]; do POSITIONAL+=("$1"); shift; done
    EXTRA=("$@")
    if [ ${#POSITIONAL[@]} -lt "$min" ] || [ ${#POSITIONAL[@]} -gt "$max" ]; then echo "$usage"; exit 1; fi
}

# pretrained_args [PATH]: "--pre_trained <absolute path>" after checking the file; nothing without PATH
pretrained_args() {
    PRETRAINED_ARGS=()
    if [ -n "${1:-}" ]; then require_file PRETRAINED_CKPT_PATH "$1"; PRETRAINED_ARGS=(--pre_trained "$PRETRAINED_CKPT_PATH"); fi
}

# config_for DATASET DEVICE -> the YAML train.py would pick for them
config_for() {
    case "$1" in
        cifar10) echo "$REPO_ROOT/default_config.yaml" ;;
        fashion_mnist) echo "$REPO_ROOT/default_config_fashion_mnist.yaml" ;;
        imagenet2012)
            if [ "$2" = "GPU" ]; then echo "$REPO_ROOT/default_config_gpu_imagenet.yaml"
            else echo "$REPO_ROOT/default_config_imagenet.yaml"; fi ;;
    esac
}

# set_aside_previous_run DIR ARGS...: a DIR that holds another run's checkpoints is renamed DIR.<date-time>
# (said in one line) so that a new run starts in an empty DIR; not when ARGS resume that run (--resume)
set_aside_previous_run() {
    local dir="$1" kept; shift
    case " $* " in *" --resume "*|*" --resume="*) return 0 ;; esac
    if [ -d "$dir" ] && find "$dir" -maxdepth 2 -name 'mobilenetv1-*.ckpt' -print -quit | grep -q .; then
        kept="$dir.$(date +%Y%m%d-%H%M%S)"
        mv "$dir" "$kept" || die "cannot move the previous run in $dir aside"
        echo "the previous run in $dir is kept in $kept"
    fi
}

# launch WORK_DIR LOG_FILE command... : run in WORK_DIR, output to LOG_FILE, in the background
# unless FOREGROUND=1 (then wait and return the command's exit code); a previous run there is set aside
launch() {
    local work_dir="$1" log_file="$2"; shift 2
    set_aside_previous_run "$work_dir" "$@"
    mkdir -p "$work_dir" || die "cannot create $work_dir"
    cd "$work_dir" || die "cannot enter $work_dir"
    env > env.log
    if [ "${FOREGROUND:-0}" = "1" ]; then
        "$@" > "$log_file" 2>&1
        local rc=$?
        echo "finished with exit code $rc, log: $work_dir/$log_file"
        return $rc
    fi
    nohup "$@" > "$log_file" 2>&1 &
    echo "started in the background (pid $!), log: $work_dir/$log_file"
}
