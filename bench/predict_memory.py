"""predict.py on folders of photos: peak memory, wall time and images/s against the folder's size.

    python bench/predict_memory.py [--images 1500 6000] [--repo PATH] [--work DIR]

Writes N JPEGs of 500x375 (once, into --work), a 1001-class checkpoint of random weights (width 1.0, the
ImageNet network), and runs ``python predict.py --device_target CPU --dataset imagenet2012 --model_path M
--image_path FOLDER`` of the checkout --repo (default: this one) for each N. Peak memory is the largest
process of predict.py's tree (getrusage of a parent that runs nothing else).
"""
import argparse
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PHOTO = (375, 500, 3)


def write_photos(folder, count):
    import numpy as np
    from PIL import Image
    os.makedirs(folder, exist_ok=True)
    base = np.random.default_rng(0).integers(0, 256, PHOTO, dtype=np.uint8)
    for i in range(count):
        path = os.path.join(folder, f"photo_{i:05d}.JPEG")
        if not os.path.exists(path):
            Image.fromarray(np.roll(base, 3 * i, axis=1)).save(path, quality=90)


def write_checkpoint(path):
    if os.path.exists(path):
        return
    sys.path.insert(0, ROOT)
    import mindspore as ms
    from src.mobilenet_v1 import create_network
    from src.model_utils.config import get_config
    ms.save_checkpoint(create_network(get_config(["--dataset", "imagenet2012", "--class_num", "1001"])), path)


def measure(repo, checkpoint, folder, work):
    probe = ("import resource, subprocess, sys, time; t = time.time(); "
             "r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True); "
             "print(r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, time.time() - t); "
             "print(r.stderr[-600:], file=sys.stderr)")
    command = [sys.executable, os.path.join(repo, "predict.py"), "--device_target", "CPU", "--dataset",
               "imagenet2012", "--model_path", checkpoint, "--image_path", folder]
    out = subprocess.run([sys.executable, "-c", probe, *command], cwd=work, capture_output=True, text=True)
    code, peak_kb, wall = out.stdout.split()
    return int(code), int(peak_kb) / 1024, float(wall), out.stderr


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, nargs="+", default=[1500, 6000])
    parser.add_argument("--repo", default=ROOT)
    parser.add_argument("--work", default=os.path.join(ROOT, "output", "bench_predict"))
    args = parser.parse_args()
    os.makedirs(args.work, exist_ok=True)
    checkpoint = os.path.join(args.work, "imagenet_random.ckpt")
    write_checkpoint(checkpoint)
    print(f"| images | exit | peak memory (MB) | wall (s) | images/s |  ({args.repo})")
    print("|---|---|---|---|---|")
    for count in args.images:
        folder = os.path.join(args.work, f"photos_{count}")
        write_photos(folder, count)
        code, peak, wall, stderr = measure(args.repo, checkpoint, folder, args.work)
        print(f"| {count} | {code} | {peak:.0f} | {wall:.1f} | {count / wall:.1f} |", flush=True)
        if code:
            print(stderr, file=sys.stderr)


if __name__ == "__main__":
    main()
