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

check_dir() { [ -d "$2" ] || die "$1 is not a directory: $2"; }
check_file() { [ -f "$2" ] || die "$1 is not a file: $2"; }

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

# launch WORK_DIR LOG_FILE command... : run in WORK_DIR, output to LOG_FILE, in the background
# unless FOREGROUND=1 (then wait and return the command's exit code)
launch() {
    local work_dir="$1" log_file="$2"; shift 2
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
