"""Files exchanged with the C++ inference harness: preprocessed inputs, labels, raw logits.

``write_inputs`` runs the evaluation pipeline of eval.py with batch 1 and writes each image as a
float32 NCHW tensor ``00_data/img_<n>.bin`` plus ``labels.json`` (name -> class); a set written again
replaces the earlier one whole. ``score_results``
reads the harness's ``<name>_0.bin`` logits back and computes top-1/top-5 over every image.
"""
import json
import os
import shutil

import numpy as np

from src.dataset import create_dataset_from_config
from src.model_utils.atomic_write import atomic_open, temporary_path, write_error
from src.model_utils.config import Config
from src.model_utils.errors import UserInputError

DATA_FOLDER = "00_data"
LABEL_FILE = "labels.json"


def write_inputs(config, result_path):
    """Write every evaluation image of the config's dataset; return (count, label file path).

    The pipeline runs with batch 1 (the harness reads one image per file); ``config`` is left as it is.
    """
    dataset = create_dataset_from_config(Config({**config.to_dict(), "batch_size": 1}), do_train=False)
    data_dir = os.path.join(result_path, DATA_FOLDER)
    os.makedirs(result_path, exist_ok=True)
    staging = temporary_path(data_dir)  # the new set, whole, before it replaces an earlier one
    labels = {}
    try:
        os.makedirs(staging)
        for index, (image, label) in enumerate(dataset.create_tuple_iterator(output_numpy=True, num_epochs=1)):
            name = f"img_{index:06d}"
            with open(os.path.join(staging, name + ".bin"), "wb") as f:
                f.write(image.astype(np.float32).tobytes())
            labels[name] = int(label[0])
        label_path = os.path.join(result_path, LABEL_FILE)
        _replace_folder(staging, data_dir)
        with atomic_open(label_path, "w", encoding="utf-8") as f:
            json.dump(labels, f)
    except OSError as err:
        raise write_error(data_dir, err) from err
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return len(labels), label_path


def _replace_folder(new, old):
    """``new`` takes the place of ``old`` whole: an earlier, larger set leaves no tensors among the new ones."""
    if os.path.isdir(old):
        retired = temporary_path(old, ".old")
        os.rename(old, retired)
        os.rename(new, old)
        shutil.rmtree(retired, ignore_errors=True)
    else:
        os.rename(new, old)


def score_results(result_dir, label_file):
    """{'top1 acc', 'top5 acc', 'images'} over every labelled image; each must have a result file."""
    if not os.path.isfile(label_file):
        raise UserInputError(f"label file not found: {label_file} (written by preprocess.py)")
    with open(label_file, encoding="utf-8") as f:
        labels = json.load(f)
    if not labels:
        raise UserInputError(f"{label_file} lists no images")
    top1 = top5 = 0
    for name, label in labels.items():
        path = os.path.join(result_dir, f"{name}_0.bin")
        if not os.path.isfile(path):
            raise UserInputError(f"no inference result for {name}: {path} is missing")
        logits = np.fromfile(path, np.float32)
        ranked = np.argsort(-logits, kind="stable")
        top1 += int(ranked[0] == label)
        top5 += int(label in ranked[:5])
    return {"top1 acc": top1 / len(labels), "top5 acc": top5 / len(labels), "images": len(labels)}
