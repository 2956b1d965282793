"""The embedded default data set, for real: Debian's Fashion-MNIST files, converted, trained, evaluated.

Needs the dataset-fashion-mnist package (scripts/run_tests.sh installs it); without it these tests
fail rather than skip, so the real-data path is exercised on every run.
"""
import os
import re

import pytest

from src.tools.convert_fashion_mnist import DEBIAN_IDX_DIR, convert
from tests.conftest import run_entry_point

RESULT = re.compile(r"result: \{'top_5_accuracy': ([0-9.]+), 'top_1_accuracy': ([0-9.]+)\}")


@pytest.fixture(scope="module")
def fashion_mnist(tmp_path_factory):
    idx_dir = os.environ.get("FASHION_MNIST_DIR", DEBIAN_IDX_DIR)
    assert os.path.isdir(idx_dir), \
        f"Fashion-MNIST IDX files not found in {idx_dir}: apt-get install dataset-fashion-mnist"
    return convert(idx_dir, str(tmp_path_factory.mktemp("fashion_mnist")), log=lambda _: None)


def test_short_training_on_real_images_learns(tmp_path, fashion_mnist):
    train_dir, test_dir = fashion_mnist
    common = ["--dataset", "fashion_mnist", "--device_target", "CPU", "--image_size", "32",
              "--width_multiplier", "0.25", "--batch_size", "64"]
    proc = run_entry_point("train.py", *common, "--dataset_path", train_dir, "--num_samples", "3840",
                           "--epoch_size", "2", "--lr_decay_mode", "cosine_warmup", "--warmup_epochs", "0.2",
                           "--lr_init", "0.01", "--lr_max", "0.1", "--save_checkpoint_path", tmp_path, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ckpt = os.path.join(tmp_path, "mobilenetv1-2_60.ckpt")
    proc = run_entry_point("eval.py", *common, "--dataset_path", test_dir, "--num_samples", "2000",
                           "--checkpoint_path", ckpt, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    top5, top1 = map(float, RESULT.search(proc.stdout).groups())
    assert top1 > 0.5 and top5 > 0.85, proc.stdout  # chance is 0.1 / 0.5 on held-out real images
