"""Data sets laid out as they come from their source, through train.py, eval.py, predict.py and preprocess.py:
the CIFAR-10 download's one folder, and class folders holding damaged images and files that are not images."""
import csv
import os
import re
import shutil

import numpy as np
import pytest

from src.synthetic_data import write_damaged_images, write_image_folder, write_odd_images
from tests.conftest import TINY_MODEL, run_entry_point


def _one_line_error(proc, *parts):
    """Exit code 1 (not a signal), one 'error:' line holding every part, no traceback."""
    assert proc.returncode == 1, (proc.returncode, proc.stderr[-2000:])
    assert "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and all(part in errors[0] for part in parts), proc.stderr[-2000:]


def test_training_on_the_stock_cifar_folder_reads_the_training_images_only(tmp_path, stock_cifar_dir):
    """An epoch of 10 steps of 1,000 is the 10,000 training images; with the test file it would be 20."""
    proc = run_entry_point("train.py", "--dataset_path", stock_cifar_dir, *TINY_MODEL, "--epoch_size", "1",
                           "--batch_size", "1000", "--save_checkpoint_path", tmp_path, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (f"training set: 10000 images from data_batch_1.bin in {stock_cifar_dir} (test_batch.bin there not read)"
            in proc.stderr)
    assert re.search(r"training epochs 1-1 of 10 steps, batch 1000", proc.stderr)
    assert os.path.exists(tmp_path / "mobilenetv1-1_10.ckpt")


def test_eval_on_the_stock_cifar_folder_scores_the_test_images_only(tmp_path, stock_cifar_dir, trained):
    out, _ = trained
    proc = run_entry_point("eval.py", "--dataset_path", stock_cifar_dir, *TINY_MODEL, "--checkpoint_path",
                           out / "mobilenetv1-2_3.ckpt", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (f"evaluation set: 10000 images from test_batch.bin in {stock_cifar_dir} (data_batch_1.bin there not read)"
            in proc.stderr)


def test_eval_on_a_training_only_folder_names_the_missing_test_file(tmp_path, cifar_dirs, trained):
    out, _ = trained
    proc = run_entry_point("eval.py", "--dataset_path", cifar_dirs[0], *TINY_MODEL, "--checkpoint_path",
                           out / "mobilenetv1-2_3.ckpt", cwd=tmp_path)
    _one_line_error(proc, f"{cifar_dirs[0]} holds only data_batch_1.bin; evaluation reads test_batch.bin",
                    f"such as {cifar_dirs[1]}")


@pytest.fixture(scope="module")
def odd_imagenet(tmp_path_factory):
    """An ImageNet root whose class folders also hold a PNG named .JPEG, a CMYK and a grey JPEG, a README
    and a .DS_Store; train/ also holds three damaged JPEGs."""
    root = tmp_path_factory.mktemp("ImageNet_real")
    for split, per_class in (("train", 4), ("validation_preprocess", 2)):
        write_image_folder(str(root / split), per_class=per_class, seed=5)
        write_odd_images(str(root / split / "class_b"))
    return str(root), write_damaged_images(str(root / "train" / "class_c"))


IMAGENET = ["--dataset", "imagenet2012", "--class_num", "3", "--device_target", "CPU", "--width_multiplier", "0.25",
            "--image_size", "32", "--epoch_size", "1"]


@pytest.fixture(scope="module")
def imagenet_checkpoint(tmp_path_factory, odd_imagenet):
    """Training that leaves the damaged images out: 12 + 3 readable images, batch 5."""
    out = tmp_path_factory.mktemp("imagenet_train")
    proc = run_entry_point("train.py", *IMAGENET, "--dataset_path", odd_imagenet[0], "--batch_size", "5",
                           "--damaged_images", "skip", "--save_checkpoint_path", out, cwd=out)
    return out, proc


def test_damaged_images_stop_training_before_the_first_step(tmp_path, odd_imagenet):
    proc = run_entry_point("train.py", *IMAGENET, "--dataset_path", odd_imagenet[0], "--batch_size", "5",
                           "--save_checkpoint_path", tmp_path, cwd=tmp_path)
    _one_line_error(proc, "3 damaged images in", "class_c/cut_in_header.JPEG (cannot decode it (Truncated File Read))",
                    "class_c/cut_short.JPEG", "class_c/empty.JPEG", "--damaged_images skip")
    assert "step:" not in proc.stdout


def test_skipping_damaged_images_trains_on_every_readable_one(imagenet_checkpoint):
    out, proc = imagenet_checkpoint
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "3 damaged images in" in proc.stderr and "leaving them out (damaged_images: skip)" in proc.stderr
    assert "training set: 15 images in 3 class folders" in proc.stderr  # 12 + PNG-as-JPEG, CMYK, grey
    assert os.path.exists(out / "mobilenetv1-1_3.ckpt")


def test_eval_reads_odd_but_readable_images_and_ignores_other_files(tmp_path, odd_imagenet, imagenet_checkpoint):
    out, _ = imagenet_checkpoint
    proc = run_entry_point("eval.py", *IMAGENET, "--dataset_path", odd_imagenet[0], "--checkpoint_path",
                           out / "mobilenetv1-1_3.ckpt", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "evaluation set: 9 images in 3 class folders" in proc.stderr and "result: " in proc.stdout


def test_more_class_folders_than_class_num_stops_eval(tmp_path, odd_imagenet, imagenet_checkpoint):
    out, _ = imagenet_checkpoint
    root = tmp_path / "root"
    shutil.copytree(os.path.join(odd_imagenet[0], "validation_preprocess"), root / "validation_preprocess")
    write_image_folder(str(root / "validation_preprocess"), classes=("class_d",), per_class=1)
    proc = run_entry_point("eval.py", *IMAGENET, "--dataset_path", root, "--checkpoint_path",
                           out / "mobilenetv1-1_3.ckpt", cwd=tmp_path)
    _one_line_error(proc, "has 4 class folders but class_num is 3")


def test_predict_skips_and_counts_damaged_images_and_preprocess_stops_or_skips(tmp_path, odd_imagenet,
                                                                               imagenet_checkpoint):
    out, _ = imagenet_checkpoint
    folder = os.path.join(odd_imagenet[0], "train", "class_c")
    model = ["--model_path", out / "mobilenetv1-1_3.ckpt", "--image_path", folder]
    proc = run_entry_point("predict.py", *IMAGENET, *model, "--predictions_file", tmp_path / "p.csv", cwd=tmp_path)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr[-3000:]
    assert sorted(os.path.basename(p) for p in re.findall(r"^(\S+\.JPEG)$", proc.stdout, re.M)) == [
        f"class_c_{i}.JPEG" for i in range(4)]
    skipped = re.findall(r"skipped: damaged image (\S+) \(", proc.stderr)
    assert len(skipped) == 3 and any(p.endswith("cut_in_header.JPEG") for p in skipped)
    assert "predicted 4 images (3 skipped: damaged or unreadable)" in proc.stderr
    with open(tmp_path / "p.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 7 and sum(r["status"].startswith("skipped: damaged image") for r in rows) == 3
    (tmp_path / "root").mkdir()
    os.symlink(os.path.join(odd_imagenet[0], "train"), tmp_path / "root" / "validation_preprocess")
    preprocess = [*IMAGENET, "--dataset_path", tmp_path / "root", "--result_path", tmp_path / "pre"]
    proc = run_entry_point("preprocess.py", *preprocess, cwd=tmp_path)
    _one_line_error(proc, "3 damaged images in")
    proc = run_entry_point("preprocess.py", *preprocess, "--damaged_images", "skip", cwd=tmp_path)
    assert proc.returncode == 0 and "wrote 15 input tensors" in proc.stdout, proc.stderr[-3000:]
    assert len(os.listdir(tmp_path / "pre" / "00_data")) == 15
    assert np.fromfile(tmp_path / "pre" / "00_data" / "img_000000.bin", np.float32).size == 3 * 32 * 32


def test_an_evaluation_folder_set_is_labelled_by_class_name_not_by_position(tmp_path):
    """Trained on class folders c0, c1, c2; evaluated on a folder set without c0 (the same images otherwise):
    labels stay by name (the positions would shift every label by one); a folder the model lacks is one line."""
    root = tmp_path / "data"
    write_image_folder(str(root / "train"), classes=("c0", "c1", "c2"), per_class=4, seed=1)
    shutil.copytree(root / "train", root / "validation_preprocess")
    args = ["--dataset", "imagenet2012", "--class_num", "3", "--dataset_path", root, "--device_target", "CPU",
            "--width_multiplier", "0.25", "--image_size", "32", "--batch_size", "4", "--epoch_size", "1"]
    proc = run_entry_point("train.py", *args, "--save_checkpoint_path", tmp_path / "run", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    ckpt = str(tmp_path / "run" / "mobilenetv1-1_3.ckpt")
    from src.model_settings import read_settings
    assert read_settings(ckpt)["class_names"] == ["c0", "c1", "c2"]
    from src.dataset import create_dataset2
    shutil.rmtree(root / "validation_preprocess" / "c0")
    labels = [int(label[0]) for _, label in create_dataset2(str(root / "validation_preprocess"), False, batch_size=1,
                                                            image_size=32, class_names=["c0", "c1", "c2"])
              .create_tuple_iterator(output_numpy=True, num_epochs=1)]
    assert labels == [1] * 4 + [2] * 4
    proc = run_entry_point("eval.py", *args, "--checkpoint_path", ckpt, cwd=tmp_path)
    assert proc.returncode == 0 and "result:" in proc.stdout, proc.stderr[-2000:]
    os.rename(root / "validation_preprocess" / "c2", root / "validation_preprocess" / "c9")
    proc = run_entry_point("eval.py", *args, "--checkpoint_path", ckpt, cwd=tmp_path)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert re.search(r"^error: \S+validation_preprocess: class folder c9 is not among the 3 classes the model was "
                     r"trained on \(c0, c1, c2\)", proc.stderr, re.M), proc.stderr[-2000:]
