"""The launch scripts themselves: argument count, paths and dataset names are checked up front."""
import os
import subprocess

import pytest

from tests.conftest import ROOT

SCRIPTS = {
    # script: (arguments that are all valid except for the checked one, index of DATASET_PATH)
    "run_train_cpu.sh": ["cifar10", "{data}"],
    "run_eval_cpu.sh": ["cifar10", "{data}", "{ckpt}"],
    "run_standalone_train.sh": ["cifar10", "{data}", "0"],
    "run_standalone_train_gpu.sh": ["cifar10", "{data}"],
    "run_distribute_train.sh": ["cifar10", "{table}", "{data}"],
    "run_distribute_train_gpu.sh": ["cifar10", "{config}", "{data}"],
    "run_distribute_train_cpu.sh": ["cifar10", "{data}", "2"],
    "run_eval.sh": ["cifar10", "{data}", "{ckpt}", "0"],
}


def run_script(name, args, cwd):
    return subprocess.run(["bash", os.path.join(ROOT, "scripts", name), *args], cwd=cwd, capture_output=True,
                          text=True, timeout=60)


@pytest.fixture
def paths(tmp_path):
    (tmp_path / "data").mkdir()
    for name in ("model.ckpt", "hccl_8p.json"):
        (tmp_path / name).write_text("x")
    return {"data": "data", "ckpt": "model.ckpt", "table": "hccl_8p.json",
            "config": os.path.join(ROOT, "default_config.yaml")}


def _valid(name, paths):
    return [arg.format(**paths) for arg in SCRIPTS[name]]


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_wrong_argument_count_prints_usage(name, tmp_path):
    proc = run_script(name, ["cifar10"], tmp_path)
    assert proc.returncode == 1 and f"usage: bash {name}" in proc.stdout
    assert not (tmp_path / "train").exists() and not (tmp_path / "eval").exists()


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_unknown_dataset_name(name, tmp_path, paths):
    args = _valid(name, paths)
    args[0] = "mnist"
    proc = run_script(name, args, tmp_path)
    assert proc.returncode == 1 and "the selected dataset 'mnist' is none of cifar10, imagenet2012, fashion_mnist" \
        in proc.stderr


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_missing_paths_are_named(name, tmp_path, paths):
    template = SCRIPTS[name]
    for index, arg in enumerate(template):
        if not arg.startswith("{"):
            continue
        args = _valid(name, paths)
        args[index] = "missing/thing"
        proc = run_script(name, args, tmp_path)
        assert proc.returncode == 1, (name, index, proc.stdout, proc.stderr)
        assert f"{tmp_path}/missing/thing" in proc.stderr  # made absolute before the check


@pytest.mark.parametrize("name,args,message", [
    ("run_standalone_train.sh", ["cifar10", "{data}", "zero"], "DEVICE_ID must be a number"),
    ("run_eval.sh", ["cifar10", "{data}", "{ckpt}", "x"], "DEVICE_ID must be a number"),
    ("run_distribute_train_cpu.sh", ["cifar10", "{data}", "0"], "WORKER_NUM must be a positive number"),
])
def test_numbers_are_checked(name, args, message, tmp_path, paths):
    proc = run_script(name, [a.format(**paths) for a in args], tmp_path)
    assert proc.returncode == 1 and message in proc.stderr


@pytest.mark.parametrize("args", [["a", "b"], ["--fast"]])
def test_quickstart_usage(args, tmp_path):
    proc = run_script("run_quickstart.sh", args, tmp_path)
    assert proc.returncode == 1 and "usage: bash scripts/run_quickstart.sh [--full] [OUTPUT_DIR]" in proc.stdout


def test_quickstart_names_a_folder_without_the_data(tmp_path):
    env = dict(os.environ, FASHION_MNIST_DIR=str(tmp_path))
    proc = subprocess.run(["bash", os.path.join(ROOT, "scripts", "run_quickstart.sh"), str(tmp_path / "out")],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert f"FASHION_MNIST_DIR={tmp_path} lacks the four Fashion-MNIST IDX files" in proc.stdout


def test_run_infer_cpp_checks_arguments(tmp_path, paths):
    proc = run_script("run_infer_cpp.sh", ["model.ckpt", "data"], tmp_path)
    assert proc.returncode == 1 and "usage: bash run_infer_cpp.sh" in proc.stdout
    proc = run_script("run_infer_cpp.sh", ["missing.onnx", "data", "CPU"], tmp_path)
    assert proc.returncode == 1 and f"MODEL_PATH is not a file: {tmp_path}/missing.onnx" in proc.stderr


def test_env_setup_ignores_the_callers_arguments(tmp_path):
    """Sourced without arguments, a file sees its caller's: run_quickstart.sh OUTPUT_DIR must not reach pip."""
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").write_text("#!/bin/sh\necho \"python $*\" >> \"$(dirname \"$0\")/calls\"\n")
    (venv / "bin" / "python").chmod(0o755)
    script = f"set -- {tmp_path}/output_dir; VIRTUAL_ENV={venv}; PATH={venv}/bin:$PATH; " \
             f"source {ROOT}/scripts/lib/env_setup.sh && echo sourced"
    proc = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "sourced" in proc.stdout, proc.stderr
    assert "output_dir" not in proc.stderr + (venv / "bin" / "calls").read_text()
    assert f"-r {ROOT}/requirements.txt -c" in (venv / "bin" / "calls").read_text()  # runtime set only
    proc = subprocess.run(["bash", "-c", f"EXTRA_REQUIREMENTS={ROOT}/requirements-test.txt; {script}"],
                          capture_output=True, text=True, timeout=60)
    assert f"-r {ROOT}/requirements-test.txt" in (venv / "bin" / "calls").read_text()
