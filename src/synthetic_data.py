"""Small data sets in the real on-disk formats, generated for the tests and bench/ (which share it).

Images carry a class-dependent pattern so that a few training steps can learn something.
"""
import os

import numpy as np

CIFAR_RECORDS = 10000  # Cifar10Dataset only reads files of exactly 10,000 records


def cifar_images(labels, rng):
    """CHW uint8 images whose mean brightness and colour depend on the label."""
    noise = rng.integers(0, 96, size=(len(labels), 3, 32, 32), dtype=np.int32)
    base = (labels[:, None, None, None] * 16 + np.array([0, 40, 80])[None, :, None, None]) % 160
    return (noise + base).astype(np.uint8)


def separable_cifar_images(labels, rng):
    """Grey CHW uint8 images, 24 levels apart per class with 16 levels of noise: classes never overlap,
    so a network grows confident fast (and large logit gaps appear within one epoch)."""
    noise = rng.integers(0, 16, size=(len(labels), 3, 32, 32), dtype=np.int32)
    return (noise + labels[:, None, None, None].astype(np.int32) * 24).astype(np.uint8)


def write_cifar_bin(path, seed=0, num_classes=10, images=cifar_images):
    """A CIFAR-10 binary file: 10,000 records of 1 label byte + 3x32x32 image bytes; returns the labels."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, num_classes, size=CIFAR_RECORDS, dtype=np.uint8)
    images = images(labels, rng).reshape(CIFAR_RECORDS, -1)
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    np.concatenate([labels[:, None], images], axis=1).tofile(path)
    return labels


def write_image_folder(root, classes=("class_a", "class_b", "class_c"), per_class=4, size=(48, 40), seed=0):
    """An ImageNet-style folder: root/<class>/<n>.JPEG, real JPEG files."""
    from PIL import Image
    rng = np.random.default_rng(seed)
    for index, name in enumerate(classes):
        os.makedirs(os.path.join(root, name), exist_ok=True)
        for n in range(per_class):
            pixels = rng.integers(0, 64, size=(size[1], size[0], 3)) + index * 60
            Image.fromarray(pixels.astype(np.uint8)).save(os.path.join(root, name, f"{name}_{n}.JPEG"))
    return list(classes)


def write_idx(path, array, magic, compress=False):
    """An IDX file (big-endian magic, dimension sizes, then uint8 data), optionally gzipped."""
    import gzip
    header = magic.to_bytes(4, "big") + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    payload = header + np.ascontiguousarray(array, np.uint8).tobytes()
    with (gzip.open(path, "wb") if compress else open(path, "wb")) as f:
        f.write(payload)


def write_fashion_mnist_idx(folder, train=10000, test=10000, compress=True, seed=0):
    """The four Fashion-MNIST IDX files with random 28x28 images; returns {split: (images, labels)}."""
    rng = np.random.default_rng(seed)
    os.makedirs(folder, exist_ok=True)
    suffix = ".gz" if compress else ""
    out = {}
    for split, prefix, count in (("train", "train", train), ("test", "t10k", test)):
        images = rng.integers(0, 256, size=(count, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, size=count, dtype=np.uint8)
        write_idx(os.path.join(folder, f"{prefix}-images-idx3-ubyte{suffix}"), images, 2051, compress)
        write_idx(os.path.join(folder, f"{prefix}-labels-idx1-ubyte{suffix}"), labels, 2049, compress)
        out[split] = (images, labels)
    return out


def write_indexed_cifar_bin(path):
    """A CIFAR-10 file whose image i is one flat colour encoding i (R = i % 256, G = i // 256), for
    checking which records a pipeline read: crops, flips and padding keep the centre pixel."""
    index = np.arange(CIFAR_RECORDS)
    images = np.zeros((CIFAR_RECORDS, 3, 32, 32), np.uint8)
    images[:, 0] = (index % 256)[:, None, None]
    images[:, 1] = (index // 256)[:, None, None]
    labels = (index % 10).astype(np.uint8)
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    np.concatenate([labels[:, None], images.reshape(CIFAR_RECORDS, -1)], axis=1).tofile(path)
