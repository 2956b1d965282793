"""What checking a class folder for damaged images costs (src/image_check.py), first run and cached.

    python bench/image_check_cost.py [--images 50000] [--classes 100] [--side 64] [--rounds 3]

Writes ``--images`` small JPEGs (``--side`` pixels square) in ``--classes`` folders, then times, in
this one run: the first check (every image read by the one reader, src/image_files.py, in one worker
process per CPU), a repeated check that the cache answers (the walk and the signatures only), and the
reader's rate on one 500x375 JPEG, the size of an ImageNet photo, from which the full ImageNet
training set's first check is estimated. Prints a markdown table; medians over ``--rounds``.
"""
import argparse
import os
import platform
import statistics
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from src.image_check import check_folder, find_damaged  # noqa: E402
from src.image_files import class_folders  # noqa: E402

IMAGENET_TRAIN_IMAGES = 1_281_167


def write_folder(root, images, classes, side):
    rng = np.random.default_rng(0)
    base = np.linspace(0, 200, side, dtype=np.float32)
    for c in range(classes):
        folder = os.path.join(root, f"n{c:08d}")
        os.makedirs(folder)
        for i in range(images // classes):
            pixels = base[None, :, None] + base[:, None, None] * 0.2 + rng.integers(0, 40, (side, side, 3))
            Image.fromarray(pixels.clip(0, 255).astype(np.uint8)).save(os.path.join(folder, f"{i}.JPEG"),
                                                                       quality=90)


def save_photo(path, rng):
    """A 500x375 JPEG, about an ImageNet photo's size and cost: a smooth image with noise."""
    y, x = np.mgrid[0:375, 0:500]
    pixels = np.stack([x * 0.4, y * 0.5, (x + y) * 0.2], axis=2) + rng.integers(0, 48, (375, 500, 3))
    Image.fromarray(pixels.clip(0, 255).astype(np.uint8)).save(path, quality=90)


def photo_decode_seconds(folder, copies=(200, 2000)):
    """Seconds per image to check a 500x375 JPEG (``save_photo``): the difference between checking two numbers
    of copies, so that the workers' start-up cancels out."""
    path = os.path.join(folder, "photo.JPEG")
    save_photo(path, np.random.default_rng(1))
    seconds = []
    for count in copies:
        start = time.perf_counter()
        find_damaged([path] * count, workers=os.cpu_count())
        seconds.append(time.perf_counter() - start)
    return (seconds[1] - seconds[0]) / (copies[1] - copies[0]), os.path.getsize(path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=50000)
    parser.add_argument("--classes", type=int, default=100)
    parser.add_argument("--side", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["MOBILENETV1_CACHE"] = os.path.join(tmp, "cache")
        root = os.path.join(tmp, "train")
        write_folder(root, args.images, args.classes, args.side)
        first, cached = [], []
        for r in range(args.rounds):
            os.environ["MOBILENETV1_CACHE"] = os.path.join(tmp, f"cache{r}")  # a cold cache each round
            start = time.perf_counter()
            assert not check_folder(root, class_folders(root), workers=os.cpu_count())
            first.append(time.perf_counter() - start)
            start = time.perf_counter()
            check_folder(root, class_folders(root), workers=os.cpu_count())
            cached.append(time.perf_counter() - start)
        per_photo, photo_bytes = photo_decode_seconds(tmp)
    cpu = platform.processor() or platform.machine()
    print(f"{args.images} JPEGs of {args.side}x{args.side} in {args.classes} folders, {os.cpu_count()} CPUs ({cpu}), "
          f"medians of {args.rounds}")
    print("| check | seconds |\n|---|---|")
    print(f"| first (every image decoded) | {statistics.median(first):.1f} |")
    print(f"| repeated (cache: walk and signatures only) | {statistics.median(cached):.2f} |")
    print(f"| 500x375 JPEG ({photo_bytes // 1000} kB), per image | {per_photo * 1000:.2f} ms |")
    print(f"| ImageNet training set, first check, estimated | {per_photo * IMAGENET_TRAIN_IMAGES / 60:.0f} min |")
    repeated = statistics.median(cached) / args.images * IMAGENET_TRAIN_IMAGES
    print(f"| ImageNet training set, repeated check, estimated | {repeated:.0f} s |")


if __name__ == "__main__":
    main()
