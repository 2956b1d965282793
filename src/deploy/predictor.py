"""Top-5 predictions for image files from a checkpoint, a MINDIR or an ONNX file (predict.py).

Images go through the evaluation pipeline's own operations: ImageNet files are decoded, resized and
center-cropped; CIFAR-10 images are first resized to 32x32, Fashion-MNIST images turned grey,
resized to 28x28 and padded to 32x32 as the converter does, then normalised like eval.py.
"""
import logging
import os

import numpy as np
import mindspore.dataset.transforms as transforms
from PIL import Image, UnidentifiedImageError

from src.checkpoint import load_for_inference
from src.cpu_kernels import inference_network
from src.dataset import clamp_workers, cifar_eval_ops, imagenet_eval_ops
from src.dataset_specs import (CIFAR_SIDE, CLASS_NAMES, FASHION_MNIST_SIDE, IMAGE_EXTENSIONS, IMAGENET_TRAIN_DIR,
                               STORED_BORDER, is_image_name)
from src.deploy.exporter import load_exported
from src.image_check import check_folder, describe, settle
from src.mobilenet_v1 import create_network
from src.model_utils.errors import DatasetError, UserInputError

logger = logging.getLogger(__name__)


def image_files(path):
    """The image files to classify: ``path`` itself, or the images in the folder ``path``."""
    if os.path.isfile(path):
        return [path]
    if os.path.isdir(path):
        files = sorted(os.path.join(path, f) for f in os.listdir(path) if is_image_name(f))
        if files:
            return files
        raise UserInputError(f"no images ({', '.join(IMAGE_EXTENSIONS)}) in {path}")
    raise UserInputError(f"image file or folder not found: {path}")


def readable_files(files, config):
    """``files`` less the damaged ones (MindSpore's decoder, src/image_check.py) when damaged_images is skip;
    with error, any damaged file stops the run before the first is classified."""
    folder = os.path.dirname(files[0]) or "."
    damaged = check_folder(folder, {".": [os.path.basename(f) for f in files]},
                           clamp_workers(config.num_parallel_workers))
    kept = [f for f in files if os.path.basename(f) not in damaged]
    if damaged and not kept:
        raise DatasetError(f"{describe(damaged, folder)}: no image left to classify")
    settle(damaged, folder, config.damaged_images)
    return kept


def _stored_form(path, dataset):
    """An image file as the CIFAR-10 binary layout stores its data set: 32x32 RGB, or for Fashion-MNIST
    grey 28x28 padded to 32x32 and repeated over 3 channels, as the converter writes it."""
    try:
        image = Image.open(path)
        image.load()
    except (UnidentifiedImageError, OSError) as err:
        raise UserInputError(f"cannot read image {path}: {err}") from err
    if dataset == "fashion_mnist":
        grey = np.asarray(image.convert("L").resize((FASHION_MNIST_SIDE,) * 2, Image.BILINEAR))
        return np.repeat(np.pad(grey, STORED_BORDER[dataset])[:, :, None], 3, axis=2)
    return np.asarray(image.convert("RGB").resize((CIFAR_SIDE, CIFAR_SIDE), Image.BILINEAR))


def prepare(path, config):
    """One image as a float32 [3, H, W] array: the evaluation pipeline's own operations (src/dataset.py).

    ImageNet files are decoded, resized and centre-cropped as eval.py does; other images are first
    brought to the stored form of their data set, then normalised as eval.py does."""
    if config.dataset == "imagenet2012":
        ops, data = imagenet_eval_ops(config.image_size), np.fromfile(path, np.uint8)
    else:
        ops, data = cifar_eval_ops(config.image_size, config.dataset), _stored_form(path, config.dataset)
    try:
        return np.asarray(transforms.Compose(ops)(data), np.float32)
    except RuntimeError as err:
        raise UserInputError(f"cannot read image {path}: {err}") from err


def class_names(config):
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
        return lambda batch: net(Tensor(batch)).asnumpy()
    if model_path.endswith((".mindir", ".onnx")):
        # exported files have a fixed batch (1 for C++ use): run them image by image
        run = load_exported(model_path)
        return lambda batch: np.concatenate([run(image[None]) for image in batch])
    raise UserInputError(f"model must be a .ckpt, .mindir or .onnx file: {model_path}")


def predict(model_path, image_path, config, top=5):
    """[(file, [(class index, class name, probability), ...])] for every image, best first."""
    files = image_files(image_path)
    model = make_model(model_path, config)
    files = readable_files(files, config)
    logits = model(np.stack([prepare(f, config) for f in files]))
    names = class_names(config)
    exp = np.exp(logits - logits.max(axis=1, keepdims=True))
    probs = exp / exp.sum(axis=1, keepdims=True)
    results = []
    for file, row in zip(files, probs):
        best = np.argsort(-row, kind="stable")[:top]
        results.append((file, [(int(i), names[i] if i < len(names) else f"class {i}", float(row[i])) for i in best]))
    return results
