"""Images per second of the class-folder pipelines (src/dataset.py's create_dataset2) at 224 over 500x375 JPEGs.

    python bench/image_pipeline.py [--images 400] [--workers 2] [--rounds 3]

Writes ``--images`` JPEGs of the size of an ImageNet photo in 4 class folders, checks them once (cached), then
times whole passes of the training pipeline (random-resized crop, flip) and the evaluation pipeline (resize,
centre crop), batch 32; prints the median of ``--rounds`` passes of each. Run it from another checkout to
compare two versions on one machine.
"""
import argparse
import os
import statistics
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
import numpy as np  # noqa: E402
from image_check_cost import save_photo  # noqa: E402  (bench/, this script's folder)
from src.dataset import create_dataset2  # noqa: E402


def write_photos(root, images, classes=4):
    rng = np.random.default_rng(1)
    for i in range(images):
        folder = os.path.join(root, f"c{i % classes}")
        os.makedirs(folder, exist_ok=True)
        save_photo(os.path.join(folder, f"{i}.JPEG"), rng)


def images_per_second(root, do_train, workers):
    data = create_dataset2(root, do_train, batch_size=32, image_size=224, num_parallel_workers=workers)
    start, count = time.perf_counter(), 0
    for image, _ in data.create_tuple_iterator(output_numpy=True, num_epochs=1):
        count += len(image)
    return count / (time.perf_counter() - start)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=400)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["MOBILENETV1_CACHE"] = os.path.join(tmp, "cache")
        root = os.path.join(tmp, "photos")
        write_photos(root, args.images)
        print(f"{args.images} JPEGs of 500x375, image 224, batch 32, {args.workers} workers, "
              f"medians of {args.rounds}")
        print("| pipeline | img/s |\n|---|---|")
        for do_train in (True, False):
            rates = [images_per_second(root, do_train, args.workers) for _ in range(args.rounds)]
            print(f"| {'training' if do_train else 'evaluation'} | {statistics.median(rates):.0f} |")


if __name__ == "__main__":
    main()
