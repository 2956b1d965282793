"""ModelArts jobs: train -> eval -> export with enable_modelarts=True against a stand-in moxing.

The stand-in (tests/fake_moxing) copies between local folders; data_url holds the zipped data
set, train_url receives the outputs.
"""
import os
import subprocess
import sys
import zipfile

import pytest

from tests.conftest import ROOT, run_entry_point

FAKE_MOXING = os.path.join(ROOT, "tests", "fake_moxing")
SMALL = ["--device_target", "CPU", "--width_multiplier", "0.25", "--epoch_size", "1"]


def zip_folder(folder, zip_path, top_name):
    with zipfile.ZipFile(zip_path, "w") as archive:
        for base, _, files in os.walk(folder):
            for name in files:
                path = os.path.join(base, name)
                archive.write(path, os.path.join(top_name, os.path.relpath(path, folder)))


def modelarts_job(script, tmp_path, *args):
    env = dict(os.environ, PYTHONPATH=FAKE_MOXING, JOB_ID=tmp_path.name)
    cache = tmp_path / "cache"
    flags = ["--enable_modelarts", "True", "--data_url", tmp_path / "obs_data", "--train_url", tmp_path / "obs_out",
             "--data_path", cache / "data", "--output_path", cache / "train", "--load_path", cache / "ckpt", *args]
    return subprocess.run([sys.executable, os.path.join(ROOT, script), *map(str, flags)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize("dataset", ["cifar10", "imagenet2012"])
def test_train_eval_export_on_modelarts(tmp_path, dataset, stock_cifar_dir, imagenet_root):
    """CIFAR-10 as the download unpacks (training and test files in one folder): training reads the training
    file only, evaluation the test file only."""
    obs = tmp_path / "obs_data"
    obs.mkdir()
    if dataset == "cifar10":
        name, source, size = "cifar10", stock_cifar_dir, ["--image_size", "32", "--num_samples", "64",
                                                         "--batch_size", "32"]
    else:
        name, source, size = "ImageNet_Original", imagenet_root, ["--image_size", "64", "--batch_size", "6"]
    zip_folder(source, obs / f"{name}.zip", name)
    common = ["--dataset", dataset, "--need_modelarts_dataset_unzip", "True", "--modelarts_dataset_unzip_name",
              name, *SMALL, *size]
    train = modelarts_job("train.py", tmp_path, *common)
    assert train.returncode == 0, train.stderr[-3000:]
    assert "unzip percent: 100%" in train.stdout
    if dataset == "cifar10":
        assert "training set: 10000 images from data_batch_1.bin in" in train.stderr
        assert "(test_batch.bin there not read)" in train.stderr
    assert (tmp_path / "cache" / "data" / name).is_dir()
    steps = 2 if dataset == "cifar10" else 3
    ckpt_name = f"mobilenetv1-1_{steps}.ckpt"
    assert (tmp_path / "obs_out" / ckpt_name).is_file()
    assert (tmp_path / "obs_out" / "metrics.jsonl").is_file()

    # the trained checkpoint comes back in through checkpoint_url, as on ModelArts
    eval_size = size if dataset == "imagenet2012" else ["--image_size", "32", "--num_samples", "64"]
    evaluation = modelarts_job("eval.py", tmp_path, "--dataset", dataset, "--need_modelarts_dataset_unzip", "True",
                               "--modelarts_dataset_unzip_name", name, "--checkpoint_url", tmp_path / "obs_out",
                               "--checkpoint_path", ckpt_name, "--device_target", "CPU", "--width_multiplier",
                               "0.25", *eval_size)
    assert evaluation.returncode == 0, evaluation.stderr[-3000:]
    assert "result: {'top_5_accuracy'" in evaluation.stdout
    if dataset == "cifar10":
        assert "evaluation set: 10000 images from test_batch.bin in" in evaluation.stderr
    export = modelarts_job("export.py", tmp_path, "--dataset", dataset, "--checkpoint_url", tmp_path / "obs_out",
                           "--ckpt_file", ckpt_name, "--file_format", "ONNX", "--batch_size", "1", "--width", "32",
                           "--height", "32", "--device_target", "CPU", "--width_multiplier", "0.25",
                           "--need_modelarts_dataset_unzip", "False")
    assert export.returncode == 0, export.stderr[-3000:]
    assert (tmp_path / "obs_out" / "mobilenetv1.onnx").is_file()


def test_without_moxing_the_error_is_one_line(tmp_path, cifar_dirs):
    proc = run_entry_point("train.py", "--enable_modelarts", "True", "--dataset_path", cifar_dirs[0],
                           "--data_url", tmp_path, "--data_path", tmp_path / "data", *SMALL, cwd=tmp_path)
    assert proc.returncode == 1
    assert "enable_modelarts=True needs ModelArts' moxing library, which is not installed" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_outputs_reach_train_url_when_the_job_fails(tmp_path):
    (tmp_path / "obs_data").mkdir()
    proc = modelarts_job("train.py", tmp_path, "--dataset_path", tmp_path / "nowhere", *SMALL)
    assert proc.returncode == 1 and "CIFAR-10 dataset folder not found" in proc.stderr
    assert (tmp_path / "obs_out").is_dir()  # the (empty) output folder was still uploaded
