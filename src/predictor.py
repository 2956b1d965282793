"""Top-5 predictions for image files from a checkpoint, a MINDIR or an ONNX file (predict.py).

Images are prepared the way the evaluation pipeline prepares its data set: ImageNet images are
resized and center-cropped; CIFAR-10 images resized to 32x32; Fashion-MNIST images turned grey,
resized to 28x28 and padded to 32x32 as the converter does. Then normalised like eval.py.
"""
import os

import numpy as np
from PIL import Image, UnidentifiedImageError

from src.checkpoint import load_for_inference
from src.dataset import CIFAR_FORMAT_STATS, IMAGE_EXTENSIONS, IMAGENET_MEAN, IMAGENET_STD
from src.exporter import load_exported
from src.mobilenet_v1 import create_network
from src.model_utils.errors import UserInputError

CLASS_NAMES = {
    "cifar10": ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"],
    "fashion_mnist": ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                      "Ankle boot"],
}


def image_files(path):
    """The image files to classify: ``path`` itself, or the images in the folder ``path``."""
    if os.path.isfile(path):
        return [path]
    if os.path.isdir(path):
        files = sorted(os.path.join(path, f) for f in os.listdir(path) if f.lower().endswith(IMAGE_EXTENSIONS))
        if files:
            return files
        raise UserInputError(f"no images ({', '.join(IMAGE_EXTENSIONS)}) in {path}")
    raise UserInputError(f"image file or folder not found: {path}")


def prepare(path, config):
    """One image as a float32 [3, H, W] array, preprocessed as the evaluation pipeline does."""
    try:
        image = Image.open(path)
        image.load()
    except (UnidentifiedImageError, OSError) as err:
        raise UserInputError(f"cannot read image {path}: {err}") from err
    size = config.image_size
    if config.dataset == "imagenet2012":
        image = image.convert("RGB")
        short = int(size * 256 / 224)
        scale = short / min(image.size)
        image = image.resize((max(short, round(image.width * scale)), max(short, round(image.height * scale))),
                             Image.BILINEAR)
        left, top = (image.width - size) // 2, (image.height - size) // 2
        pixels = np.asarray(image.crop((left, top, left + size, top + size)), np.float32)
        mean, std = np.array(IMAGENET_MEAN), np.array(IMAGENET_STD)
    else:
        if config.dataset == "fashion_mnist":
            grey = np.asarray(image.convert("L").resize((28, 28), Image.BILINEAR))
            pixels = np.repeat(np.pad(grey, 2)[:, :, None], 3, axis=2)
        else:
            pixels = np.asarray(image.convert("RGB").resize((32, 32), Image.BILINEAR))
        if size != 32:
            pixels = np.asarray(Image.fromarray(pixels).resize((size, size), Image.BILINEAR))
        mean, std = (np.array(v) * 255 for v in CIFAR_FORMAT_STATS[config.dataset])
        pixels = pixels.astype(np.float32)
    return ((pixels - mean) / std).transpose(2, 0, 1).astype(np.float32)


def class_names(config):
    if config.dataset in CLASS_NAMES:
        return CLASS_NAMES[config.dataset]
    train_dir = os.path.join(config.dataset_path, "train")
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
        net.set_train(False)
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
    logits = model(np.stack([prepare(f, config) for f in files]))
    names = class_names(config)
    exp = np.exp(logits - logits.max(axis=1, keepdims=True))
    probs = exp / exp.sum(axis=1, keepdims=True)
    results = []
    for file, row in zip(files, probs):
        best = np.argsort(-row, kind="stable")[:top]
        results.append((file, [(int(i), names[i] if i < len(names) else f"class {i}", float(row[i])) for i in best]))
    return results
