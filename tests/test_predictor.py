"""predict.py's input tensors are eval.py's: the same operations on the same image give the same numbers."""
import csv
import json
import os
import re
import shutil

import numpy as np
import pytest
from PIL import Image

from src.dataset import create_dataset_from_config
from src.model_utils.config import get_config
from src.model_utils.errors import UserInputError
from src.deploy.predictor import prepare
from tests.conftest import run_entry_point


def first_eval_images(config, count):
    dataset = create_dataset_from_config(config, do_train=False)
    images = [image for image, _ in dataset.create_tuple_iterator(output_numpy=True, num_epochs=1)]
    return np.concatenate(images)[:count]


@pytest.mark.parametrize("image_size", [224, 96])
def test_imagenet_jpeg_gives_the_eval_pipelines_tensor(imagenet_root, image_size):
    config = get_config(["--dataset", "imagenet2012", "--dataset_path", imagenet_root, "--image_size",
                         str(image_size), "--batch_size", "1"])
    folder = os.path.join(imagenet_root, "validation_preprocess")
    first_class = sorted(os.listdir(folder))[0]
    first_file = os.path.join(folder, first_class, sorted(os.listdir(os.path.join(folder, first_class)))[0])
    (expected,) = first_eval_images(config, 1)
    got = prepare(first_file, config)
    assert got.shape == (3, image_size, image_size)
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("dataset,image_size", [("cifar10", 32), ("cifar10", 64), ("fashion_mnist", 32)])
def test_stored_image_gives_the_eval_pipelines_tensor(tmp_path, cifar_dirs, dataset, image_size):
    """A record of the .bin file saved as PNG (for Fashion-MNIST: its 28x28 grey centre) is what eval.py feeds."""
    config = get_config(["--dataset", dataset, "--dataset_path", cifar_dirs[1], "--image_size", str(image_size),
                         "--batch_size", "1"])
    record = np.fromfile(os.path.join(cifar_dirs[1], "test_batch.bin"), np.uint8, count=1 + 3 * 32 * 32)
    hwc = record[1:].reshape(3, 32, 32).transpose(1, 2, 0)
    if dataset == "fashion_mnist":  # the converter's layout: grey 28x28 padded by 2, repeated over 3 channels
        hwc = np.repeat(np.pad(hwc[2:30, 2:30, 0], 2)[:, :, None], 3, axis=2)
        record[1:] = hwc.transpose(2, 0, 1).reshape(-1)
        stored = tmp_path / "data"
        stored.mkdir()
        data = np.fromfile(os.path.join(cifar_dirs[1], "test_batch.bin"), np.uint8)
        data[:record.size] = record
        data.tofile(stored / "test_batch.bin")
        config.dataset_path = str(stored)
        Image.fromarray(hwc[2:30, 2:30, 0]).save(tmp_path / "image.png")
    else:
        Image.fromarray(hwc).save(tmp_path / "image.png")
    (expected,) = first_eval_images(config, 1)
    np.testing.assert_array_equal(prepare(str(tmp_path / "image.png"), config), expected)


def test_unreadable_image_is_named(tmp_path, imagenet_root):
    bad = tmp_path / "bad.JPEG"
    bad.write_bytes(b"not an image")
    for dataset in ("imagenet2012", "cifar10"):
        config = get_config(["--dataset", dataset, "--dataset_path", imagenet_root])
        with pytest.raises(UserInputError, match=f"cannot read image {bad}"):
            prepare(str(bad), config)


# --- predict.py on folders of any size ---

PREDICT = ["--dataset", "imagenet2012", "--class_num", "3", "--device_target", "CPU", "--width_multiplier", "0.25",
           "--image_size", "224", "--batch_size", "8"]


@pytest.fixture(scope="module")
def photo_model(tmp_path_factory):
    """A 3-class checkpoint (random weights: the outputs only need to be fixed numbers) and 96 photos of 500x375."""
    import mindspore as ms
    from src.mobilenet_v1 import create_network
    root = tmp_path_factory.mktemp("photos")
    ckpt = root / "model.ckpt"
    ms.save_checkpoint(create_network(get_config(PREDICT)), str(ckpt))
    rng = np.random.default_rng(0)
    base = rng.integers(0, 256, (375, 500, 3), dtype=np.uint8)
    for i in range(96):
        folder = root / "all" / ("sub" if i % 5 == 0 else ".")
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.roll(base, 7 * i, axis=1)).save(folder / f"photo_{i:03d}.jpg", quality=90)
    few = root / "few"
    few.mkdir()
    for name in sorted(os.listdir(root / "all"))[:24]:
        if name.endswith(".jpg"):
            os.link(root / "all" / name, few / name)
    return root, str(ckpt)


def _peak_rss_mb(args, cwd):
    """Peak resident memory of predict.py (the largest process of its tree), measured by a fresh parent."""
    import subprocess
    import sys
    from tests.conftest import ROOT
    probe = ("import resource, subprocess, sys; r = subprocess.run(sys.argv[1:], capture_output=True); "
             "print(r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    out = subprocess.run([sys.executable, "-c", probe, sys.executable, os.path.join(ROOT, "predict.py"), *args],
                         cwd=cwd, capture_output=True, text=True, timeout=600)
    code, peak = out.stdout.split()
    assert code == "0", out.stderr[-2000:]
    return int(peak) / 1024


def test_memory_stays_flat_whatever_the_folder_holds(tmp_path, photo_model):
    """4x the images, batch 8: peak memory within 25 % (one batch of the whole folder grew by about 9 MB an image)."""
    root, ckpt = photo_model
    few = _peak_rss_mb([*PREDICT, "--model_path", ckpt, "--image_path", root / "few"], tmp_path)
    many = _peak_rss_mb([*PREDICT, "--model_path", ckpt, "--image_path", root / "all", "--recursive", "True"],
                        tmp_path)
    assert many < 1.25 * few, (few, many)


def _terminal_top1(stdout):
    return dict(re.findall(r"^(\S+)\n  1\. (.+) \(class (\d+)\): ([0-9.]+)", stdout, re.M))


@pytest.mark.parametrize("extension", [".csv", ".json", ".jsonl"])
def test_results_file_holds_every_image_as_the_terminal_shows_it(tmp_path, photo_model, extension):
    root, ckpt = photo_model
    results = tmp_path / f"predictions{extension}"
    proc = run_entry_point("predict.py", *PREDICT, "--model_path", ckpt, "--image_path", root / "all",
                           "--recursive", "True", "--predictions_file", results, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    shown = re.findall(r"^(\S+\.jpg)\n  1\. (.+) \(class (\d+)\): ([0-9.]+)$", proc.stdout, re.M)
    assert len(shown) == 96
    if extension == ".csv":
        with open(results, encoding="utf-8") as f:
            rows = [(r["file"], r["name_1"], r["class_1"], float(r["probability_1"])) for r in csv.DictReader(f)]
    else:
        with open(results, encoding="utf-8") as f:
            records = json.load(f) if extension == ".json" else [json.loads(line) for line in f]
        rows = [(r["file"], r["top"][0]["name"], str(r["top"][0]["class"]), r["top"][0]["probability"])
                for r in records]
    assert [r[:3] for r in rows] == [s[:3] for s in shown]
    assert all(abs(r[3] - float(s[3])) < 1e-4 for r, s in zip(rows, shown))
    files = [r[0] for r in rows]
    assert files[:80] == sorted(files[:80]) and all("/sub/" in f for f in files[80:])  # a folder, then sub-folders
    assert "predicted 96 images (0 skipped: damaged or unreadable)" in proc.stderr


def test_without_recursive_only_the_folder_itself_is_read(tmp_path, photo_model):
    root, ckpt = photo_model
    proc = run_entry_point("predict.py", *PREDICT, "--model_path", ckpt, "--image_path", root / "all", cwd=tmp_path)
    assert proc.returncode == 0 and "predicted 76 images" in proc.stderr, proc.stderr[-3000:]


def test_streamed_batches_give_what_one_batch_of_everything_gives(photo_model):
    """Batches of 5 (the last one short) against the whole folder in one network call: the same top-5 and
    probabilities for every image."""
    from src.deploy.predictor import Prediction, image_files, make_model, probabilities
    root, ckpt = photo_model
    config = get_config([*PREDICT, "--batch_size", "5"])
    files = image_files(str(root / "few"))
    streamed = dict(Prediction(make_model(ckpt, config), config).run(files))
    whole = get_config([*PREDICT, "--batch_size", "24"])
    rows = probabilities(make_model(ckpt, whole)(np.stack([prepare(f, whole) for f in files])))
    for f, row in zip(files, rows):
        best = np.argsort(-row, kind="stable")[:3]
        assert [c for c, _, _ in streamed[f]] == list(best)
        np.testing.assert_allclose([p for _, _, p in streamed[f]], row[best], rtol=1e-5, atol=1e-7)


def test_a_damaged_file_is_named_skipped_and_counted(tmp_path, photo_model):
    root, ckpt = photo_model
    folder = tmp_path / "photos"
    shutil.copytree(root / "few", folder)
    (folder / "photo_999.jpg").write_bytes((folder / "photo_001.jpg").read_bytes()[:2000])
    proc = run_entry_point("predict.py", *PREDICT, "--model_path", ckpt, "--image_path", folder, cwd=tmp_path)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr[-3000:]
    assert re.search(r"skipped: damaged image \S+photo_999\.jpg \(", proc.stderr)
    assert "predicted 24 images (1 skipped: damaged or unreadable)" in proc.stderr
    with open(tmp_path / "predictions.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 25 and rows[-1]["status"].startswith("skipped: damaged image")


@pytest.mark.parametrize("name, message", [("p.txt", "name a .csv, .json or .jsonl file"),
                                           ("nowhere/p.csv", "folder .* not found")])
def test_bad_predictions_file_is_one_line(tmp_path, photo_model, name, message):
    root, ckpt = photo_model
    proc = run_entry_point("predict.py", *PREDICT, "--model_path", ckpt, "--image_path", root / "few",
                           "--predictions_file", tmp_path / name, cwd=tmp_path)
    assert proc.returncode == 1 and re.search(message, proc.stderr) and "Traceback" not in proc.stderr


def test_progress_line_every_ten_seconds_with_rate_and_time_left(caplog):
    from src.deploy.prediction_report import Progress
    now = [0.0]
    progress = Progress(100, clock=lambda: now[0])
    with caplog.at_level("INFO"):
        for _ in range(40):
            now[0] += 0.5
            progress.step()
    lines = [r.getMessage() for r in caplog.records]
    assert lines == ["predicted 20/100 images, 2.0 img/s, 0:40 left", "predicted 40/100 images, 2.0 img/s, 0:30 left"]
    assert progress.rate() == pytest.approx(2.0)


def _claims_size(jpeg, width, height):
    """``jpeg`` with its frame header claiming another size (a large photo without its gigabytes of pixels)."""
    data = bytearray(jpeg)
    sof = data.index(b"\xff\xc0")
    data[sof + 5:sof + 9] = height.to_bytes(2, "big") + width.to_bytes(2, "big")
    return bytes(data)


def test_odd_files_are_skipped_with_a_reason_and_the_others_classified(tmp_path, photo_model):
    """A 15000 x 15000 JPEG, one whose tail is erased flash (0xFF), a broken symlink, a folder named like an image
    and a name that is not UTF-8, beside a 16-bit PNG and its 8-bit twin: rc 0, one row per image file, the
    16-bit picture classified as its twin, the odd name written back as its own bytes."""
    root, ckpt = photo_model
    folder = tmp_path / "odd"
    folder.mkdir()
    photo = (root / "few" / "photo_001.jpg").read_bytes()
    (folder / "huge.jpg").write_bytes(_claims_size(photo, 15000, 15000))
    (folder / "erased.jpg").write_bytes(photo[:300] + b"\xff" * (len(photo) - 300))
    os.symlink("/nonexistent/x.jpg", folder / "broken.jpg")
    (folder / "folder.jpg").mkdir()
    grey = np.asarray(Image.open(root / "few" / "photo_001.jpg").convert("L"))
    Image.fromarray(grey).save(folder / "grey8.png")
    Image.fromarray(grey.astype(np.uint16) * 257).save(folder / "grey16.png")
    odd_name = os.fsencode(str(folder)) + b"/caf\xe9.png"
    shutil.copy(folder / "grey8.png", odd_name)
    results = tmp_path / "p.csv"
    proc = run_entry_point("predict.py", *PREDICT, "--model_path", ckpt, "--image_path", folder,
                           "--predictions_file", results, cwd=tmp_path)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr[-3000:]
    assert "predicted 3 images (2 skipped: damaged or unreadable)" in proc.stderr
    assert "huge.jpg (too large to read: 15000 x 15000 pixels" in proc.stderr
    assert "caf\\xe9.png\n  1." in proc.stdout
    with open(results, encoding="utf-8", errors="surrogateescape", newline="") as f:
        rows = {os.fsencode(r["file"]): r for r in csv.DictReader(f)}
    assert sorted(os.path.basename(name) for name in rows) == [b"caf\xe9.png", b"erased.jpg", b"grey16.png",
                                                               b"grey8.png", b"huge.jpg"]
    assert os.path.isfile(next(name for name in rows if name.endswith(b"\xe9.png")))
    sixteen, eight = rows[os.fsencode(str(folder / "grey16.png"))], rows[os.fsencode(str(folder / "grey8.png"))]
    assert sixteen["status"] == eight["status"] == "ok"
    assert [sixteen[f"class_{k}"] for k in (1, 2, 3)] == [eight[f"class_{k}"] for k in (1, 2, 3)]
    assert sixteen["probability_1"] == eight["probability_1"]


def test_a_predictions_file_that_is_a_folder_is_refused_before_the_first_image(tmp_path, photo_model):
    root, ckpt = photo_model
    (tmp_path / "out.csv").mkdir()
    proc = run_entry_point("predict.py", *PREDICT, "--model_path", ckpt, "--image_path", root / "few",
                           "--predictions_file", tmp_path / "out.csv", cwd=tmp_path)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert re.search(r"^error: predictions_file \S+out.csv is a folder", proc.stderr, re.M)
    assert proc.stdout == "" and "checking" not in proc.stderr
