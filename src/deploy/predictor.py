"""Top-5 predictions for image files from a checkpoint, a MINDIR or an ONNX file (predict.py).

Images are listed and read by the one reader of image files (src/image_files.py), then go through the
evaluation pipeline's own operations: ImageNet images are resized and center-cropped; CIFAR-10 images
are first resized to 32x32, Fashion-MNIST images turned grey, resized to 28x28 and padded to 32x32 as
the converter does, then normalised like eval.py. A folder streams through in batches of ``batch_size``
images, so memory does not grow with the folder; files the reader cannot read (damaged, too large,
stalling the decoder) are named, left out and counted.
"""
import logging
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import mindspore.dataset.transforms as transforms
from PIL import Image

from src.checkpoint import load_for_inference
from src.cpu_kernels import inference_network
from src.dataset import clamp_workers, cifar_eval_ops, imagenet_eval_ops
from src.dataset_specs import (CIFAR_SIDE, CLASS_NAMES, FASHION_MNIST_SIDE, IMAGENET_TRAIN_DIR, STORED_BORDER,
                               TRANSPARENCY_BACKGROUND)
from src.deploy.exporter import load_exported
from src.model_settings import read_export_record
from src.image_check import check_folder
from src.image_files import IMAGE_EXTENSIONS, WHITE, ImageReadError, list_images, printable, read_image
from src.mobilenet_v1 import create_network
from src.model_utils.errors import UserInputError

logger = logging.getLogger(__name__)
# A checkpoint's network runs on at most this many images at a time: at 224x224 its working set is about 9 MB
# per image (batch 256, the ImageNet YAMLs' batch_size, peaks at 2.7 GB, 32 at 0.8 GB).
NETWORK_SLICE = 32


def image_files(path, recursive=False):
    """The image files to classify: ``path`` itself, or the images in the folder ``path`` (and in its
    sub-folders with ``recursive``), in a stable order: sorted by path, a folder's files before its sub-folders'."""
    if os.path.isfile(path):
        return [path]
    if not os.path.isdir(path):
        what = "not a regular file or a folder" if os.path.lexists(path) else "not found"
        raise UserInputError(f"image file or folder {what}: {printable(path)}")
    files = []
    for folder, subfolders, _ in os.walk(path):
        subfolders.sort(key=os.fsencode)
        files.extend(os.path.join(folder, name) for name in list_images(folder))
        if not recursive:
            break
    if not files:
        where = f"{path} or its sub-folders" if recursive else f"{path} (--recursive True reads its sub-folders)"
        raise UserInputError(f"no images ({', '.join(IMAGE_EXTENSIONS)}) in {where}")
    return files


def damaged_files(files, workers):
    """{file: reason} of the ``files`` that the reader cannot read (src/image_check.py: checked in
    separate processes, so a decoder crash costs no run; cached per folder)."""
    root = os.path.commonpath([os.path.dirname(os.path.abspath(f)) for f in files])
    groups = {}
    for f in files:
        sub, name = os.path.split(os.path.relpath(os.path.abspath(f), root))
        groups.setdefault(sub or ".", []).append(name)
    damaged = check_folder(root, groups, workers)
    by_path = {os.path.normpath(os.path.join(root, rel)): why for rel, why in damaged.items()}
    return {f: by_path[os.path.normpath(os.path.abspath(f))] for f in files
            if os.path.normpath(os.path.abspath(f)) in by_path}


def _stored_form(pixels, dataset):
    """An image as the CIFAR-10 binary layout stores its data set: 32x32 RGB, or for Fashion-MNIST
    grey 28x28 padded to 32x32 and repeated over 3 channels, as the converter writes it."""
    image = Image.fromarray(pixels)
    if dataset == "fashion_mnist":
        grey = np.asarray(image.convert("L").resize((FASHION_MNIST_SIDE,) * 2, Image.BILINEAR))
        return np.repeat(np.pad(grey, STORED_BORDER[dataset])[:, :, None], 3, axis=2)
    return np.asarray(image.convert("RGB").resize((CIFAR_SIDE, CIFAR_SIDE), Image.BILINEAR))


def prepare(path, config):
    """One image as a float32 [3, H, W] array: the evaluation pipeline's own operations (src/dataset.py).

    ImageNet files are decoded, resized and centre-cropped as eval.py does; other images are first
    brought to the stored form of their data set, then normalised as eval.py does."""
    try:
        pixels = read_image(path, TRANSPARENCY_BACKGROUND.get(config.dataset, WHITE))
    except ImageReadError as err:
        raise UserInputError(f"cannot read image {printable(path)}: {err}") from err
    if config.dataset == "imagenet2012":
        ops, data = imagenet_eval_ops(config.image_size), pixels
    else:
        ops, data = cifar_eval_ops(config.image_size, config.dataset), _stored_form(pixels, config.dataset)
    return np.asarray(transforms.Compose(ops)(data), np.float32)


def class_names(config):
    """The model's class names in label order: recorded in its checkpoint or settings file, else the data set's,
    else the training folders', else numbers."""
    if getattr(config, "class_names", None):
        return list(config.class_names)
    if config.dataset in CLASS_NAMES:
        return CLASS_NAMES[config.dataset]
    train_dir = os.path.join(config.dataset_path, IMAGENET_TRAIN_DIR)
    if os.path.isdir(train_dir):
        return sorted(d for d in os.listdir(train_dir) if os.path.isdir(os.path.join(train_dir, d)))
    return [f"class {i}" for i in range(config.class_num)]


def make_model(model_path, config):
    """A function from a [N, 3, H, W] batch to logits, for a .ckpt, .mindir or .onnx file."""
    if not os.path.isfile(model_path):
        raise UserInputError(f"model file not found: {model_path}")
    if model_path.endswith(".ckpt"):
        from mindspore import Tensor
        net = create_network(config)
        load_for_inference(net, model_path)
        net = inference_network(net, config)
        size = min(NETWORK_SLICE, max(1, int(config.batch_size)))
        return lambda batch: _in_slices(lambda piece: net(Tensor(piece)).asnumpy(), batch, size)
    if model_path.endswith((".mindir", ".onnx")):
        # exported files have a fixed input: slices of its batch (the last one padded), of its size
        run = load_exported(model_path)
        shape = exported_input_shape(model_path, run)
        if shape is not None and list(shape[1:]) != [3, config.image_size, config.image_size]:
            raise UserInputError(f"{model_path} takes input {shape} but image_size is {config.image_size}: drop "
                                 "--image_size (an export's settings file gives it)")
        return lambda batch: _in_slices(run, batch, shape[0] if shape else 1)
    raise UserInputError(f"model must be a .ckpt, .mindir or .onnx file: {model_path}")


def exported_input_shape(path, run):
    """[batch, 3, H, W] of the exported model ``path`` loaded as ``run`` (``load_exported``): an ONNX file's own,
    else its settings file's; None for a MINDIR exported elsewhere (it is run one image at a time)."""
    if run.input_shape is not None:
        return run.input_shape
    record = read_export_record(path)
    return None if record is None else list(record["input_shape"])


def _in_slices(run, batch, size):
    """``run`` on slices of ``size`` images of ``batch``, the last padded with zeros, so that the network's
    graph compiles once and its working set stays that of ``size`` images."""
    outputs = []
    for start in range(0, len(batch), size):
        piece = batch[start:start + size]
        count = len(piece)
        if count < size:
            piece = np.concatenate([piece, np.zeros((size - count, *piece.shape[1:]), piece.dtype)])
        outputs.append(run(piece)[:count])
    return np.concatenate(outputs)


def probabilities(logits):
    exp = np.exp(logits - logits.max(axis=1, keepdims=True))
    return exp / exp.sum(axis=1, keepdims=True)


def top_classes(row, names, top):
    """[(class index, class name, probability)] of the ``top`` most likely classes, best first."""
    best = np.argsort(-row, kind="stable")[:top]
    return [(int(i), names[i] if i < len(names) else f"class {i}", float(row[i])) for i in best]


class Prediction:
    """Streams files through a model in batches: ``run(files)`` yields (file, top classes) for each readable
    file and (file, None) for each file that could not be read (``reasons`` says why)."""

    def __init__(self, model, config, top=5):
        self.model, self.config, self.top = model, config, top
        self.batch_size = max(1, int(config.batch_size))
        self.names = class_names(config)
        self.reasons = {}

    def _prepared(self, path):
        try:
            return prepare(path, self.config)
        except UserInputError as err:
            self.reasons[path] = str(err)
            return None

    def run(self, files, damaged=None):
        damaged = damaged or {}
        self.reasons.update({f: f"damaged image {printable(f)} ({why})" for f, why in damaged.items()})
        workers = clamp_workers(self.config.num_parallel_workers)
        with ThreadPoolExecutor(workers) as pool:
            for start in range(0, len(files), self.batch_size):
                chunk = files[start:start + self.batch_size]
                readable = [f for f in chunk if f not in damaged]
                tensors = dict(zip(readable, pool.map(self._prepared, readable)))
                ready = [f for f in readable if tensors[f] is not None]
                rows = {}
                if ready:
                    rows = dict(zip(ready, probabilities(self.model(np.stack([tensors[f] for f in ready])))))
                for f in chunk:
                    yield f, (top_classes(rows[f], self.names, self.top) if f in rows else None)
