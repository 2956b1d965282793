"""Data pipelines on generated files in the real formats, and their error paths."""
import os
import shutil

import mindspore.dataset as ds
import numpy as np
import pytest

from src.dataset import (DatasetError, clamp_workers, cifar10_files, create_dataset1, create_dataset2,
                         imagenet_folder)


def _batches(dataset):
    return list(dataset.create_tuple_iterator(output_numpy=True, num_epochs=1))


def test_cifar_train_pipeline_shapes_and_label_dtype(cifar_dirs):
    dataset = create_dataset1(cifar_dirs[0], True, batch_size=16, image_size=32, num_samples=40)
    batches = _batches(dataset)
    assert len(batches) == 2  # 40 images, drop_remainder for training
    images, labels = batches[0]
    assert images.shape == (16, 3, 32, 32) and images.dtype == np.float32
    assert labels.dtype == np.int32 and labels.min() >= 0 and labels.max() <= 9


def test_cifar_eval_counts_every_image_in_file_order(cifar_dirs):
    dataset = create_dataset1(cifar_dirs[1], False, batch_size=16, image_size=40, num_samples=40)
    batches = _batches(dataset)
    assert [len(b[1]) for b in batches] == [16, 16, 8]
    assert batches[0][0].shape == (16, 3, 40, 40)
    raw = np.fromfile(os.path.join(cifar_dirs[1], "test_batch.bin"), np.uint8).reshape(-1, 3073)
    np.testing.assert_array_equal(np.concatenate([b[1] for b in batches]), raw[:40, 0])


def test_cifar_eval_normalises_like_the_official_pipeline(cifar_dirs):
    images, _ = _batches(create_dataset1(cifar_dirs[1], False, batch_size=2, image_size=32, num_samples=2))[0]
    raw = np.fromfile(os.path.join(cifar_dirs[1], "test_batch.bin"), np.uint8, count=3073)
    chw = raw[1:].reshape(3, 32, 32) / 255.0
    expected = (chw - np.array([0.4914, 0.4822, 0.4465])[:, None, None]) / np.array([0.2023, 0.1994, 0.2010])[
        :, None, None]
    np.testing.assert_allclose(images[0], expected, atol=1e-4)


def test_fashion_mnist_at_28_pixels_crops_the_stored_border(cifar_dirs):
    """image_size 28 on Fashion-MNIST files is the 28x28 original inside the converter's 2-pixel border,
    not a resize of the padded image; other data sets still resize to 28."""
    raw = np.fromfile(os.path.join(cifar_dirs[1], "test_batch.bin"), np.uint8, count=3073)
    original = raw[1:].reshape(3, 32, 32)[:, 2:30, 2:30] / 255.0
    images, _ = _batches(create_dataset1(cifar_dirs[1], False, batch_size=2, image_size=28, num_samples=2,
                                         stats="fashion_mnist"))[0]
    assert images.shape == (2, 3, 28, 28)
    np.testing.assert_allclose(images[0], (original - 0.2860) / 0.3530, atol=1e-4)
    resized, _ = _batches(create_dataset1(cifar_dirs[1], False, batch_size=2, image_size=28, num_samples=2))[0]
    cropped = (original - np.array([0.4914, 0.4822, 0.4465])[:, None, None]) / np.array([0.2023, 0.1994, 0.2010])[
        :, None, None]
    assert resized.shape == (2, 3, 28, 28) and np.abs(resized[0] - cropped).max() > 0.1


def test_truncated_cifar_file_is_reported_with_its_name(tmp_path, cifar_dirs):
    bad = tmp_path / "data_batch_1.bin"
    data = open(os.path.join(cifar_dirs[0], "data_batch_1.bin"), "rb").read()
    bad.write_bytes(data[: 3073 * 200 + 17])
    with pytest.raises(DatasetError, match=r"data_batch_1.bin: 614617 bytes .*truncated"):
        create_dataset1(str(tmp_path), True)


def test_missing_and_empty_cifar_folders(tmp_path):
    with pytest.raises(DatasetError, match="CIFAR-10 dataset folder not found"):
        cifar10_files(str(tmp_path / "nope"))
    (tmp_path / "readme.txt").write_text("x")
    with pytest.raises(DatasetError, match="no CIFAR-10 binary files"):
        cifar10_files(str(tmp_path))


def test_imagenet_train_and_eval_pipelines(imagenet_root):
    train = _batches(create_dataset2(os.path.join(imagenet_root, "train"), True, batch_size=4, image_size=64))
    assert len(train) == 4  # 18 images -> 4 full batches
    assert train[0][0].shape == (4, 3, 64, 64) and train[0][1].dtype == np.int32
    evaluation = _batches(create_dataset2(os.path.join(imagenet_root, "validation_preprocess"), False,
                                          batch_size=4, image_size=64))
    labels = np.concatenate([b[1] for b in evaluation])
    assert sorted(labels.tolist()) == [0, 0, 0, 1, 1, 1, 2, 2, 2]  # every image, labels by sorted class folder


def test_imagenet_folder_errors(tmp_path):
    with pytest.raises(DatasetError, match="image folder not found"):
        imagenet_folder(str(tmp_path / "train"))
    with pytest.raises(DatasetError, match="no class folders"):
        imagenet_folder(str(tmp_path))
    (tmp_path / "cat").mkdir()
    (tmp_path / "cat" / "notes.txt").write_text("x")
    with pytest.raises(DatasetError, match="no images"):
        imagenet_folder(str(tmp_path))


def test_unreadable_image_fails_loudly(tmp_path, imagenet_root, monkeypatch):
    monkeypatch.chdir(tmp_path)  # MindSpore drops abnormal_image.jpg into the working directory
    root = tmp_path / "val"
    shutil.copytree(os.path.join(imagenet_root, "validation_preprocess"), root)
    (root / "class_a" / "broken.JPEG").write_bytes(b"\xff\xd8\xff not really a jpeg")
    with pytest.raises(RuntimeError, match="broken.JPEG|[Dd]ecode"):
        _batches(create_dataset2(str(root), False, batch_size=2, image_size=32))


def test_workers_clamped_to_cpu_count():
    cpus = os.cpu_count()
    assert clamp_workers(64) == min(64, cpus)
    assert clamp_workers(cpus + 1) == cpus and clamp_workers(1) == 1
    assert clamp_workers(0) == 1


@pytest.fixture
def seeded():
    """Random augmentations drawn from a fixed seed (the previous seed restored), so the draw cannot vary."""
    previous = ds.config.get_seed()
    ds.config.set_seed(1)
    yield
    ds.config.set_seed(previous)


def _record_ids(dataset):
    """Record indices from the centre pixels of write_indexed_cifar_bin images (undoing Normalize)."""
    mean, std = np.array([0.4914, 0.4822]), np.array([0.2023, 0.1994])
    ids = []
    for images, _ in _batches(dataset):
        centre = images[:, :2, 16, 16] * std + mean
        red, green = np.rint(centre * 255).astype(int).T
        ids.extend(red + 256 * green)
    return ids


def test_training_shards_are_disjoint_halves(tmp_path):
    from src.synthetic_data import write_indexed_cifar_bin
    write_indexed_cifar_bin(str(tmp_path / "data_batch_1.bin"))
    shards = [_record_ids(create_dataset1(str(tmp_path), True, batch_size=500, image_size=32, shard=(2, rank)))
              for rank in (0, 1)]
    assert len(shards[0]) == len(shards[1]) == 5000
    assert set(shards[0]).isdisjoint(shards[1]) and set(shards[0]) | set(shards[1]) == set(range(10000))


def test_crop_padding_sets_the_random_shift(cifar_dirs, seeded):
    """crop_padding 0 leaves only the flip: every training image is the stored one or its mirror."""
    raw = np.fromfile(os.path.join(cifar_dirs[0], "data_batch_1.bin"), np.uint8).reshape(-1, 3073)
    stored = {tuple(r[1:].reshape(3, 32, 32)[0, 5]) for r in raw}  # row 5 of every image (training shuffles)
    stored |= {row[::-1] for row in stored}
    dataset = create_dataset1(cifar_dirs[0], True, batch_size=8, image_size=32, num_samples=8, crop_padding=0)
    images, _ = _batches(dataset)[0]
    pixels = np.rint((images[:, 0, 5] * 0.2023 + 0.4914) * 255).astype(np.uint8)
    assert all(tuple(p) in stored for p in pixels)
    shifted = create_dataset1(cifar_dirs[0], True, batch_size=8, image_size=32, num_samples=8, crop_padding=4)
    moved = np.rint((_batches(shifted)[0][0][:, 0, 5] * 0.2023 + 0.4914) * 255).astype(np.uint8)
    assert not all(tuple(p) in stored for p in moved)


def test_cutout_blanks_at_most_one_square_per_training_image(cifar_dirs, seeded):
    """cutout_length 8: at most one 8x8 square per image (MindSpore's CutOut clips it at the border, or
    places it outside, as in the paper) holds exactly the mean (0 after normalisation) in all channels;
    no stored pixel normalises to exactly 0, and evaluation images are left whole."""
    def zero_squares(do_train):
        dataset = create_dataset1(cifar_dirs[0], do_train, batch_size=8, image_size=32, num_samples=8,
                                  augment="none", cutout_length=8)
        images = _batches(dataset)[0][0]
        return [np.argwhere((img == 0).all(axis=0)) for img in images]

    blanked = [zeros for zeros in zero_squares(True) if len(zeros)]
    assert len(blanked) >= 4
    for zeros in blanked:
        low, high = zeros.min(axis=0), zeros.max(axis=0)
        sides = high - low + 1
        assert 0 < len(zeros) == sides.prod() and (sides <= 8).all()
        assert ((sides == 8) | (low == 0) | (high == 31)).all()
    assert all(len(zeros) == 0 for zeros in zero_squares(False))
    with pytest.raises(DatasetError, match="cutout_length must be 0"):
        create_dataset1(cifar_dirs[0], True, image_size=32, cutout_length=33)
