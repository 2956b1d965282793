"""Fashion-MNIST IDX files -> CIFAR-10 binary files, so the CIFAR-10 pipeline reads them.

Each 28x28 grey image is zero-padded to 32x32 and repeated over 3 channels; a record is
1 label byte + 3x32x32 image bytes, 10,000 records per file (what Cifar10Dataset requires):
``<output_dir>/fashion-mnist-batches-bin/data_batch_{1..6}.bin`` (60,000 training images) and
``<output_dir>/fashion-mnist-verify-bin/test_batch.bin`` (10,000 test images).
Files are written atomically; a second run with the same input does nothing.

    python -m src.tools.convert_fashion_mnist --idx_dir /usr/share/datasets/fashion-mnist \
        --output_dir data/fashion_mnist
"""
import argparse
import gzip
import hashlib
import json
import os
import sys

import numpy as np

from src.dataset_specs import (CIFAR_RECORDS_PER_FILE, CIFAR_TEST_FILE, CIFAR_TRAIN_PREFIX, FASHION_MNIST_IDX,
                               FASHION_MNIST_SIDE, FASHION_MNIST_TEST_DIR, FASHION_MNIST_TRAIN_DIR, STORED_BORDER)
from src.model_utils.atomic_write import atomic_open
from src.model_utils.errors import UserInputError

DEBIAN_IDX_DIR = "/usr/share/datasets/fashion-mnist"
IMAGE_MAGIC, LABEL_MAGIC = 2051, 2049
MANIFEST = "conversion.json"
BORDER = STORED_BORDER["fashion_mnist"]  # zero pixels added on each side of the 28x28 originals


class ConversionError(UserInputError):
    """Missing or corrupt IDX input; the message names the file."""


def find_idx_file(idx_dir, stem):
    """The IDX file ``stem`` in ``idx_dir``, gzipped or not."""
    for name in (stem + ".gz", stem):
        path = os.path.join(idx_dir, name)
        if os.path.isfile(path):
            return path
    raise ConversionError(f"{stem}[.gz] not found in {idx_dir}. Install Debian's dataset-fashion-mnist "
                          f"(files in {DEBIAN_IDX_DIR}) or pass --idx_dir with the four Fashion-MNIST IDX files")


def _read_bytes(path):
    try:
        with (gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb")) as f:
            return f.read()
    except (OSError, EOFError, gzip.BadGzipFile) as err:
        raise ConversionError(f"{path}: cannot read ({err}); the file is damaged or truncated") from err


def read_idx(path, magic):
    """Array of an IDX file whose magic number must be ``magic`` (2049 labels, 2051 images)."""
    data = _read_bytes(path)
    ndim = {LABEL_MAGIC: 1, IMAGE_MAGIC: 3}[magic]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ConversionError(f"{path}: {len(data)} bytes, too short for an IDX header")
    found = int.from_bytes(data[:4], "big")
    if found != magic:
        raise ConversionError(f"{path}: magic number {found}, expected {magic} "
                              f"({'labels' if magic == LABEL_MAGIC else 'images'} IDX file)")
    shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    expected = int(np.prod(shape))
    if len(data) - header != expected:
        raise ConversionError(f"{path}: header says {shape} ({expected} bytes of data) but the file holds "
                              f"{len(data) - header}; it is truncated or corrupt")
    return np.frombuffer(data, np.uint8, offset=header).reshape(shape)


def load_split(idx_dir, split):
    """(images N x 28 x 28, labels N) of one split, cross-checked."""
    image_path, label_path = (find_idx_file(idx_dir, stem) for stem in FASHION_MNIST_IDX[split])
    images, labels = read_idx(image_path, IMAGE_MAGIC), read_idx(label_path, LABEL_MAGIC)
    if len(images) != len(labels):
        raise ConversionError(f"{image_path} holds {len(images)} images but {label_path} {len(labels)} labels")
    if images.shape[1:] != (FASHION_MNIST_SIDE, FASHION_MNIST_SIDE):
        raise ConversionError(f"{image_path}: images are {images.shape[1:]}, expected "
                              f"{FASHION_MNIST_SIDE}x{FASHION_MNIST_SIDE}")
    if len(images) % CIFAR_RECORDS_PER_FILE:
        raise ConversionError(f"{image_path}: {len(images)} images is not a multiple of {CIFAR_RECORDS_PER_FILE} "
                              "(the CIFAR-10 binary reader needs 10,000 records per file)")
    if labels.max() > 9:
        raise ConversionError(f"{label_path}: label {labels.max()} outside 0..9")
    return images, labels


def to_cifar_records(images, labels):
    """N x 3073 uint8 records: label, then the 32x32 padded image as 3 identical CHW planes."""
    padded = np.pad(images, ((0, 0), (BORDER, BORDER), (BORDER, BORDER)))
    planes = np.repeat(padded[:, None], 3, axis=1).reshape(len(images), -1)
    return np.concatenate([labels[:, None], planes], axis=1)


def _write_atomically(path, payload):
    with atomic_open(path, "wb") as f:
        f.write(payload)


def _digest(paths):
    sha = hashlib.sha256()
    for path in paths:
        with open(path, "rb") as f:
            sha.update(f.read())
    return sha.hexdigest()


def output_files(output_dir, num_train_files=6):
    train = [os.path.join(output_dir, FASHION_MNIST_TRAIN_DIR, f"{CIFAR_TRAIN_PREFIX}{i + 1}.bin")
             for i in range(num_train_files)]
    return train, [os.path.join(output_dir, FASHION_MNIST_TEST_DIR, CIFAR_TEST_FILE)]


def convert(idx_dir=DEBIAN_IDX_DIR, output_dir="data/fashion_mnist", log=print):
    """Convert if needed; return (train_dir, test_dir)."""
    if not os.path.isdir(idx_dir):
        raise ConversionError(f"IDX folder not found: {idx_dir}. Install Debian's dataset-fashion-mnist "
                              f"(files in {DEBIAN_IDX_DIR}) or pass --idx_dir")
    sources = [find_idx_file(idx_dir, stem) for split in ("train", "test") for stem in FASHION_MNIST_IDX[split]]
    source_digest = _digest(sources)
    train_dir, test_dir = (os.path.join(output_dir, d) for d in (FASHION_MNIST_TRAIN_DIR, FASHION_MNIST_TEST_DIR))
    manifest_path = os.path.join(output_dir, MANIFEST)
    if os.path.isfile(manifest_path):
        with open(manifest_path, encoding="utf-8") as f:
            manifest = json.load(f)
        if manifest.get("source_sha256") == source_digest and all(
                os.path.isfile(p) and _digest([p]) == manifest["files"].get(os.path.relpath(p, output_dir))
                for p in sum(output_files(output_dir, manifest["num_train_files"]), [])):
            log(f"[convert] {output_dir} is up to date")
            return train_dir, test_dir
    os.makedirs(train_dir, exist_ok=True)
    os.makedirs(test_dir, exist_ok=True)
    train_records = to_cifar_records(*load_split(idx_dir, "train"))
    test_records = to_cifar_records(*load_split(idx_dir, "test"))
    train_files, test_files = output_files(output_dir, len(train_records) // CIFAR_RECORDS_PER_FILE)
    for records, paths in ((train_records, train_files), (test_records, test_files)):
        for i, path in enumerate(paths):
            chunk = records[i * CIFAR_RECORDS_PER_FILE:(i + 1) * CIFAR_RECORDS_PER_FILE]
            _write_atomically(path, chunk.tobytes())
    files = {os.path.relpath(p, output_dir): _digest([p]) for p in train_files + test_files}
    manifest = {"source": os.path.abspath(idx_dir), "source_sha256": source_digest,
                "num_train_files": len(train_files), "train_images": len(train_records),
                "test_images": len(test_records), "files": files}
    _write_atomically(manifest_path, json.dumps(manifest, indent=1).encode())
    log(f"[convert] wrote {len(train_records)} training images to {train_dir} and "
        f"{len(test_records)} test images to {test_dir}")
    return train_dir, test_dir


def main(argv=None):
    parser = argparse.ArgumentParser(description="Convert Fashion-MNIST IDX files to the CIFAR-10 binary layout")
    parser.add_argument("--idx_dir", default=DEBIAN_IDX_DIR, help="folder of the four IDX files (.gz or not)")
    parser.add_argument("--output_dir", default="data/fashion_mnist", help="where the .bin folders go")
    args = parser.parse_args(argv)
    try:
        train_dir, test_dir = convert(args.idx_dir, args.output_dir)
    except UserInputError as err:  # a missing or corrupt input, or an output that cannot be written
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(f"train: {train_dir}\ntest: {test_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
