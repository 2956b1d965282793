"""predict.py's input tensors are eval.py's: the same operations on the same image give the same numbers."""
import os

import numpy as np
import pytest
from PIL import Image

from src.dataset import create_dataset_from_config
from src.model_utils.config import get_config
from src.model_utils.errors import UserInputError
from src.deploy.predictor import prepare


def first_eval_images(config, count):
    dataset = create_dataset_from_config(config, do_train=False)
    images = [image for image, _ in dataset.create_tuple_iterator(output_numpy=True, num_epochs=1)]
    return np.concatenate(images)[:count]


@pytest.mark.parametrize("image_size", [224, 96])
def test_imagenet_jpeg_gives_the_eval_pipelines_tensor(imagenet_root, image_size):
    config = get_config(["--dataset", "imagenet2012", "--dataset_path", imagenet_root, "--image_size",
                         str(image_size), "--batch_size", "1"])
    folder = os.path.join(imagenet_root, "validation_preprocess")
    first_class = sorted(os.listdir(folder))[0]
    first_file = os.path.join(folder, first_class, sorted(os.listdir(os.path.join(folder, first_class)))[0])
    (expected,) = first_eval_images(config, 1)
    got = prepare(first_file, config)
    assert got.shape == (3, image_size, image_size)
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("dataset,image_size", [("cifar10", 32), ("cifar10", 64), ("fashion_mnist", 32)])
def test_stored_image_gives_the_eval_pipelines_tensor(tmp_path, cifar_dirs, dataset, image_size):
    """A record of the .bin file saved as PNG (for Fashion-MNIST: its 28x28 grey centre) is what eval.py feeds."""
    config = get_config(["--dataset", dataset, "--dataset_path", cifar_dirs[1], "--image_size", str(image_size),
                         "--batch_size", "1"])
    record = np.fromfile(os.path.join(cifar_dirs[1], "test_batch.bin"), np.uint8, count=1 + 3 * 32 * 32)
    hwc = record[1:].reshape(3, 32, 32).transpose(1, 2, 0)
    if dataset == "fashion_mnist":  # the converter's layout: grey 28x28 padded by 2, repeated over 3 channels
        hwc = np.repeat(np.pad(hwc[2:30, 2:30, 0], 2)[:, :, None], 3, axis=2)
        record[1:] = hwc.transpose(2, 0, 1).reshape(-1)
        stored = tmp_path / "data"
        stored.mkdir()
        data = np.fromfile(os.path.join(cifar_dirs[1], "test_batch.bin"), np.uint8)
        data[:record.size] = record
        data.tofile(stored / "test_batch.bin")
        config.dataset_path = str(stored)
        Image.fromarray(hwc[2:30, 2:30, 0]).save(tmp_path / "image.png")
    else:
        Image.fromarray(hwc).save(tmp_path / "image.png")
    (expected,) = first_eval_images(config, 1)
    np.testing.assert_array_equal(prepare(str(tmp_path / "image.png"), config), expected)


def test_unreadable_image_is_named(tmp_path, imagenet_root):
    bad = tmp_path / "bad.JPEG"
    bad.write_bytes(b"not an image")
    for dataset in ("imagenet2012", "cifar10"):
        config = get_config(["--dataset", dataset, "--dataset_path", imagenet_root])
        with pytest.raises(UserInputError, match=f"cannot read image {bad}"):
            prepare(str(bad), config)
