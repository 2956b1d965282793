"""Small data sets in the real on-disk formats, generated for the tests and bench/ (which share it).

Images carry a class-dependent pattern so that a few training steps can learn something.
"""
import os

import numpy as np

from src.dataset_specs import CIFAR_RECORDS_PER_FILE


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
    labels = rng.integers(0, num_classes, size=CIFAR_RECORDS_PER_FILE, dtype=np.uint8)
    images = images(labels, rng).reshape(CIFAR_RECORDS_PER_FILE, -1)
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
    index = np.arange(CIFAR_RECORDS_PER_FILE)
    images = np.zeros((CIFAR_RECORDS_PER_FILE, 3, 32, 32), np.uint8)
    images[:, 0] = (index % 256)[:, None, None]
    images[:, 1] = (index // 256)[:, None, None]
    labels = (index % 10).astype(np.uint8)
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    np.concatenate([labels[:, None], images.reshape(CIFAR_RECORDS_PER_FILE, -1)], axis=1).tofile(path)


def write_damaged_images(folder, seed=0):
    """JPEGs damaged as broken downloads leave them, in ``folder``; returns their names. (MindSpore 2.10's
    Decode kills the process with SIGFPE on the one cut inside its header; the reader refuses all three.)"""
    from PIL import Image
    os.makedirs(folder, exist_ok=True)
    pixels = np.random.default_rng(seed).integers(0, 256, size=(96, 128, 3)).astype(np.uint8)
    whole = os.path.join(folder, "whole.tmp")
    Image.fromarray(pixels).save(whole, format="JPEG", quality=95)
    data = open(whole, "rb").read()
    os.remove(whole)
    damaged = {"cut_in_header.JPEG": data[:300], "cut_short.JPEG": data[:3000], "empty.JPEG": b""}
    for name, payload in damaged.items():
        with open(os.path.join(folder, name), "wb") as f:
            f.write(payload)
    return sorted(damaged)


def write_odd_images(folder, seed=0):
    """Files real ImageNet copies hold that are not damaged: a PNG named .JPEG, a CMYK and a grey JPEG
    (all readable), and files that are not images (a .txt, a .DS_Store). Returns (image names, others)."""
    from PIL import Image
    os.makedirs(folder, exist_ok=True)
    image = Image.fromarray(np.random.default_rng(seed).integers(0, 256, size=(40, 48, 3)).astype(np.uint8))
    image.save(os.path.join(folder, "png_named.JPEG"), format="PNG")
    image.convert("CMYK").save(os.path.join(folder, "cmyk.JPEG"), format="JPEG")
    image.convert("L").save(os.path.join(folder, "grey.JPEG"), format="JPEG")
    with open(os.path.join(folder, "README.txt"), "w", encoding="utf-8") as f:
        f.write("not an image\n")
    with open(os.path.join(folder, ".DS_Store"), "wb") as f:
        f.write(b"\0\0\0\1Bud1" + bytes(64))
    return ["cmyk.JPEG", "grey.JPEG", "png_named.JPEG"], [".DS_Store", "README.txt"]
