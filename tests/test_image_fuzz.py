"""Property-based fuzzing of the one reader of image files (src/image_files.py) and everything that uses it.

Real JPEG, PNG, BMP and TIFF files of every mode, damaged at generated positions (cut short, tails of
0x00 / 0xFF / random bytes, flipped bytes, JPEG segments duplicated or swapped), beside odd entries
(broken symlinks, folders and FIFOs with image names, names that are not UTF-8), go through the damaged-
image check, the class-folder pipeline and predict.py's reading. The properties: nothing hangs, crashes
or raises past them, and the check's verdict is exactly what the readers do, file for file and index for
index. Deterministic (derandomised) with a small example budget in CI; set MOBILENETV1_FUZZ_EXAMPLES for
a long run, e.g. ``MOBILENETV1_FUZZ_EXAMPLES=2000 pytest tests/test_image_fuzz.py``, and MOBILENETV1_FUZZ_LOG
to a file that counts the files and entries it generated.
"""
import contextlib
import faulthandler
import io
import os
import tempfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from src.image_check import check_folder
from src.image_files import ImageReadError, class_folders, read_image

EXAMPLES = int(os.environ.get("MOBILENETV1_FUZZ_EXAMPLES", "0")) or None


def fuzz(ci_examples, *health_checks):
    """Hypothesis settings: derandomised, ``ci_examples`` unless MOBILENETV1_FUZZ_EXAMPLES says otherwise."""
    return settings(derandomize=True, database=None, deadline=None, print_blob=True,
                    max_examples=EXAMPLES or ci_examples,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, *health_checks])


EXAMPLE_SECONDS = 120  # one example that takes longer has hung: the run stops with every thread's stack

# which formats Pillow writes each mode in ("P+t": a palette with a transparent index)
FORMATS = {"RGB": ("JPEG", "PNG", "BMP", "TIFF"), "L": ("JPEG", "PNG", "BMP", "TIFF"), "CMYK": ("JPEG", "TIFF"),
           "RGBA": ("PNG", "TIFF"), "LA": ("PNG",), "P": ("PNG", "BMP"), "P+t": ("PNG",), "1": ("PNG", "BMP", "TIFF"),
           "I;16": ("PNG", "TIFF"), "I": ("TIFF",), "F": ("TIFF",)}
SUFFIX = {"JPEG": ".JPEG", "PNG": ".png", "BMP": ".bmp", "TIFF": ".tif"}
ODD_ENTRIES = ("broken_symlink", "folder", "fifo", "symlink", "not_utf8")


def encode(mode, fmt, width, height, seed):
    """A real file of ``fmt`` holding a ``mode`` image of random pixels."""
    rng = np.random.default_rng(seed)
    if mode in ("I;16", "I"):
        image = Image.fromarray(rng.integers(0, 65536, (height, width)).astype(np.uint16 if mode == "I;16" else
                                                                                np.int32))
    elif mode == "F":
        image = Image.fromarray(rng.uniform(-2.0, 3.0, (height, width)).astype(np.float32))
    else:
        image = Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8)).convert(
            "P" if mode == "P+t" else mode)
    extra = {"transparency": 0} if mode == "P+t" else {}
    out = io.BytesIO()
    image.save(out, format=fmt, **extra)
    return out.getvalue()


def _segments(data):
    """(start, end) of the JPEG marker segments before the scan data."""
    found, pos = [], 2
    while pos + 4 <= len(data) and data[pos] == 0xFF and data[pos + 1] not in (0xDA, 0xD9):
        end = pos + 2 + int.from_bytes(data[pos + 2:pos + 4], "big")
        found.append((pos, min(end, len(data))))
        pos = end
    return found


def damage(data, how, where, fill, seed):
    """``data`` damaged: cut at, filled from, or flipped at the fraction ``where``; a JPEG segment doubled or two
    swapped."""
    at = min(len(data), int(where * len(data)))
    rng = np.random.default_rng(seed)
    if how == "cut":
        return data[:at]
    if how == "tail":
        tail = rng.bytes(len(data) - at) if fill == "random" else bytes([fill]) * (len(data) - at)
        return data[:at] + tail
    if how == "flip":
        out = bytearray(data)
        for pos in rng.integers(0, len(out), 1 + seed % 8):
            out[pos] ^= int(rng.integers(1, 256))
        return bytes(out)
    segments = _segments(data)
    if how in ("double", "swap") and len(segments) >= 2:
        i = min(int(where * len(segments)), len(segments) - 2)
        (a0, a1), (b0, b1) = segments[i], segments[i + 1]
        middle = data[a0:a1] * 2 + data[b0:b1] if how == "double" else data[b0:b1] + data[a0:a1]
        return data[:a0] + middle + data[b1:]
    return data


files = st.builds(
    lambda mode_fmt, size, seed, how, where, fill: (mode_fmt[1], damage(encode(*mode_fmt, *size, seed), how,
                                                                        where, fill, seed)),
    mode_fmt=st.sampled_from([(m, f) for m, fs in FORMATS.items() for f in fs]),
    size=st.tuples(st.integers(1, 48), st.integers(1, 48)),
    seed=st.integers(0, 2 ** 16),
    how=st.sampled_from(["none", "cut", "tail", "flip", "double", "swap"]),
    where=st.floats(0.0, 1.0),
    fill=st.sampled_from([0x00, 0xFF, "random"]))


@contextlib.contextmanager
def scratch_folder():
    """A fresh folder and image-check cache per example (Hypothesis reruns a test body many times)."""
    with tempfile.TemporaryDirectory(prefix="fuzz-") as folder:
        old = os.environ.get("MOBILENETV1_CACHE")
        os.environ["MOBILENETV1_CACHE"] = os.path.join(folder, "cache")
        faulthandler.dump_traceback_later(EXAMPLE_SECONDS, exit=True)
        try:
            yield folder
        finally:
            faulthandler.cancel_dump_traceback_later()
            if old is None:
                del os.environ["MOBILENETV1_CACHE"]
            else:
                os.environ["MOBILENETV1_CACHE"] = old


def write_entries(folder, generated, odd):
    """The generated files and the odd entries in ``folder``; returns the names that are image files."""
    os.makedirs(folder, exist_ok=True)
    images = []
    for i, (fmt, data) in enumerate(generated):
        name = f"f{i}{SUFFIX[fmt] if i % 3 else SUFFIX[fmt].upper()}"
        with open(os.path.join(folder, name), "wb") as f:
            f.write(data)
        images.append(name)
    if os.environ.get("MOBILENETV1_FUZZ_LOG"):  # a long run counts what it generated
        with open(os.environ["MOBILENETV1_FUZZ_LOG"], "a", encoding="utf-8") as log:
            log.write("".join(f"file {fmt} {len(data)}\n" for fmt, data in generated) +
                      "".join(f"entry {kind}\n" for kind in sorted(odd)))
    for kind in odd:
        if kind == "broken_symlink":
            os.symlink("/nonexistent/x.JPEG", os.path.join(folder, "broken.JPEG"))
        elif kind == "folder":
            os.mkdir(os.path.join(folder, "folder.JPEG"))
        elif kind == "fifo":
            os.mkfifo(os.path.join(folder, "fifo.png"))
        elif kind == "symlink" and images:
            os.symlink(images[0], os.path.join(folder, "link.png"))
            images.append("link.png")
        elif kind == "not_utf8" and generated:
            name = os.fsdecode(b"caf\xe9" + os.fsencode(SUFFIX[generated[0][0]]))
            with open(os.path.join(folder, name), "wb") as f:
                f.write(generated[0][1])
            images.append(name)
    return sorted(images, key=os.fsencode)


def readable(path):
    try:
        read_image(path)
        return True
    except ImageReadError:
        return False


entries = st.tuples(st.lists(files, min_size=1, max_size=4), st.sets(st.sampled_from(ODD_ENTRIES)))


@fuzz(12)
@given(entries)
def test_the_check_and_the_class_folder_pipeline_agree_file_for_file(case):
    """Only regular image files are listed; the check flags exactly the files the reader refuses; the
    pipeline (damaged_images skip) yields exactly the approved files, in order, as the reader reads them."""
    import mindspore.dataset.transforms as transforms
    from src.dataset import create_dataset2, imagenet_eval_ops

    generated, odd = case
    with scratch_folder() as tmp:
        root = os.path.join(tmp, "val")
        expected_names = write_entries(os.path.join(root, "c0"), generated, odd)
        write_entries(os.path.join(root, "c1"), [("PNG", encode("RGB", "PNG", 9, 7, 1))], ())
        groups = class_folders(root)
        assert groups == {"c0": expected_names, "c1": ["f0.PNG"]}
        damaged = check_folder(root, groups, timeout=20.0)
        for sub, names in groups.items():
            for name in names:
                path = os.path.join(root, sub, name)
                assert (os.path.join(sub, name) in damaged) != readable(path), (name, damaged)
        approved = [(os.path.join(root, sub, name), label) for label, (sub, names) in enumerate(groups.items())
                    for name in names if os.path.join(sub, name) not in damaged]
        pipeline = create_dataset2(root, False, batch_size=1, image_size=8, damaged_images="skip")
        got = list(pipeline.create_tuple_iterator(output_numpy=True, num_epochs=1))
        assert len(got) == len(approved)
        ops = transforms.Compose(imagenet_eval_ops(8))
        for (image, label), (path, expected_label) in zip(got, approved):
            assert int(label[0]) == expected_label
            np.testing.assert_array_equal(image[0], ops(read_image(path)))


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory):
    import mindspore as ms
    from src.mobilenet_v1 import create_network
    from src.model_utils.config import get_config
    config = get_config(["--dataset", "cifar10", "--width_multiplier", "0.25", "--image_size", "32",
                         "--batch_size", "4"])
    path = str(tmp_path_factory.mktemp("fuzz_model") / "model.ckpt")
    ms.save_checkpoint(create_network(config), path)
    return config, path


@fuzz(8, HealthCheck.function_scoped_fixture)
@given(entries, st.sampled_from(["cifar10", "fashion_mnist"]))
def test_predict_classifies_every_approved_file_and_skips_the_rest_with_a_reason(tiny_checkpoint, case, dataset):
    """predict.py's listing, check and reading: one row per image file, 'ok' exactly for the files the
    reader reads, a reason for each other one, and a results file whose names round-trip to the files."""
    import json
    from src.deploy.prediction_report import ResultsFile
    from src.deploy.predictor import Prediction, damaged_files, image_files, make_model

    config, ckpt = tiny_checkpoint
    config.dataset = dataset
    generated, odd = case
    with scratch_folder() as tmp:
        folder = os.path.join(tmp, "images")
        names = write_entries(folder, generated, odd)
        files = image_files(folder)
        assert files == [os.path.join(folder, n) for n in names]
        damaged = damaged_files(files, 1)
        prediction = Prediction(make_model(ckpt, config), config)
        results_path = os.path.join(tmp, "p.jsonl")
        with ResultsFile(results_path, prediction.top) as results:
            rows = list(prediction.run(files, damaged))
            for path, top in rows:
                results.write(path, top, prediction.reasons.get(path))
        assert [path for path, _ in rows] == files
        for path, top in rows:
            assert (top is None) == (path in damaged) == (not readable(path)), (path, damaged)
            assert top is None or len(top) == 5 and all(np.isfinite(p) for _, _, p in top)
        with open(results_path, encoding="utf-8") as f:
            written = [json.loads(line) for line in f]
        assert [r["file"] for r in written] == files  # names that are not UTF-8 come back as written
        assert all(r["status"] == "skipped" and r["reason"] for r in written if r["file"] in damaged)


@fuzz(20)
@given(st.integers(1, 32), st.integers(1, 32), st.integers(0, 2 ** 16))
def test_sixteen_bit_grey_reads_as_its_eight_bit_picture_scaled_not_clipped(width, height, seed):
    """A 16-bit grey PNG holding v * 257 reads exactly as the 8-bit PNG holding v; the same through predict.py's
    preparation of a Fashion-MNIST image (Pillow's own convert("L") clipped it to white)."""
    from src.deploy.predictor import prepare
    from src.model_utils.config import get_config

    grey = np.random.default_rng(seed).integers(0, 256, (height, width)).astype(np.uint8)
    with scratch_folder() as tmp:
        eight, sixteen = os.path.join(tmp, "8.png"), os.path.join(tmp, "16.png")
        Image.fromarray(grey).save(eight)
        Image.fromarray(grey.astype(np.uint16) * 257).save(sixteen)
        assert Image.open(sixteen).mode == "I;16"
        np.testing.assert_array_equal(read_image(sixteen), read_image(eight))
        np.testing.assert_array_equal(read_image(sixteen)[:, :, 0], grey)
        config = get_config(["--dataset", "fashion_mnist", "--image_size", "28"])
        np.testing.assert_array_equal(prepare(sixteen, config), prepare(eight, config))
