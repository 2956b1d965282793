"""Data pipelines on generated files in the real formats, and their error paths."""
import os
import shutil

import mindspore.dataset as ds
import numpy as np
import pytest

from src.augment import Augmentation
from src.dataset import (DatasetError, clamp_workers, cifar10_files, create_dataset1, create_dataset2,
                         imagenet_folder)
from src.synthetic_data import write_cifar_bin, write_damaged_images, write_image_folder, write_odd_images


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
        cifar10_files(str(tmp_path / "nope"), True)
    (tmp_path / "readme.txt").write_text("x")
    with pytest.raises(DatasetError, match="holds no CIFAR-10 binary files; training reads data_batch_"):
        cifar10_files(str(tmp_path), True)


def _stock_cifar_folder(root):
    """The download's layout: data_batch_*.bin and test_batch.bin in one folder. The training file's image i
    encodes i in its centre pixel (write_indexed_cifar_bin); every test image is one colour no training
    image has (R = 255, G = 255)."""
    from src.synthetic_data import write_indexed_cifar_bin
    folder = root / "cifar-10-batches-bin"
    write_indexed_cifar_bin(str(folder / "data_batch_1.bin"))
    records = np.full((10000, 3073), 255, np.uint8)
    records[:, 0] = np.arange(10000) % 10
    records.tofile(str(folder / "test_batch.bin"))
    (folder / "batches.meta.txt").write_text("airplane\n")
    return str(folder)


def test_stock_cifar_folder_trains_on_training_files_and_evaluates_on_the_test_file(tmp_path):
    folder = _stock_cifar_folder(tmp_path)
    assert cifar10_files(folder, True) == ["data_batch_1.bin"] and cifar10_files(folder, False) == ["test_batch.bin"]
    train_ids = _record_ids(create_dataset1(folder, True, batch_size=500, image_size=32))
    assert sorted(train_ids) == list(range(10000))  # every training image once, no test image (id 65535)
    evaluation = _batches(create_dataset1(folder, False, batch_size=1000, image_size=32))
    assert sum(len(labels) for _, labels in evaluation) == 10000
    assert all(np.allclose(images[:, 0, 16, 16], (1 - 0.4914) / 0.2023, atol=1e-4) for images, _ in evaluation)


@pytest.mark.parametrize("train_dir, test_dir", [("cifar-10-batches-bin", "cifar-10-verify-bin"),
                                                 ("fashion-mnist-batches-bin", "fashion-mnist-verify-bin")])
def test_split_folders_name_what_the_run_lacks(tmp_path, train_dir, test_dir):
    """The official split (and the converter's Fashion-MNIST folders): each folder serves one run only,
    and pointing the other run at it names the folder, what it holds, what is missing and where it is."""
    write_cifar_bin(str(tmp_path / train_dir / "data_batch_1.bin"))
    write_cifar_bin(str(tmp_path / train_dir / "data_batch_2.bin"))
    write_cifar_bin(str(tmp_path / test_dir / "test_batch.bin"))
    with pytest.raises(DatasetError, match=rf"{train_dir} holds only data_batch_1.bin and data_batch_2.bin; "
                                           rf"evaluation reads test_batch.bin \(the test set\): pass the folder "
                                           rf"that holds it, such as .*{test_dir}$"):
        create_dataset1(str(tmp_path / train_dir), False)
    with pytest.raises(DatasetError, match=rf"{test_dir} holds only test_batch.bin; training reads "
                                           rf"data_batch_\*.bin \(the training set\).*such as .*{train_dir}$"):
        create_dataset1(str(tmp_path / test_dir), True)


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


def _odd_folder(tmp_path, imagenet_root):
    """The 9 evaluation images, plus readable odd ones (a PNG named .JPEG, CMYK, grey: 3 in class_b), files
    that are not images, and 3 damaged JPEGs in class_c."""
    root = tmp_path / "val"
    shutil.copytree(os.path.join(imagenet_root, "validation_preprocess"), root)
    write_odd_images(str(root / "class_b"))
    return root, write_damaged_images(str(root / "class_c"))


def test_damaged_images_stop_before_reading_or_are_left_out(tmp_path, imagenet_root, monkeypatch):
    monkeypatch.setenv("MOBILENETV1_CACHE", str(tmp_path / "cache"))
    root, damaged = _odd_folder(tmp_path, imagenet_root)
    cut = r"class_c/cut_in_header.JPEG \(cannot decode it \(Truncated File Read\)\)"
    with pytest.raises(DatasetError, match=rf"^3 damaged images in .*val: {cut}, class_c/cut_short.JPEG "
                                           r".*--damaged_images skip"):
        create_dataset2(str(root), False)
    for do_train in (False, True):
        batches = _batches(create_dataset2(str(root), do_train, batch_size=1, image_size=32, damaged_images="skip"))
        assert sorted(int(labels[0]) for _, labels in batches) == [0] * 3 + [1] * 6 + [2] * 3


def test_skipping_keeps_every_other_image_in_each_shard(tmp_path, imagenet_root, monkeypatch):
    monkeypatch.setenv("MOBILENETV1_CACHE", str(tmp_path / "cache"))
    root, _ = _odd_folder(tmp_path, imagenet_root)
    shards = [_batches(create_dataset2(str(root), True, batch_size=1, image_size=32, damaged_images="skip",
                                       shard=(2, rank))) for rank in (0, 1)]
    assert [len(s) for s in shards] == [6, 6]
    pixels = [tuple(np.round(image[0, :, 16, 16], 3)) for shard in shards for image, _ in shard]
    assert len(pixels) == 12


def test_more_class_folders_than_classes_is_an_error(imagenet_root):
    folder = os.path.join(imagenet_root, "train")
    with pytest.raises(DatasetError, match=r"has 3 class folders but class_num is 2: set --class_num 3 or more"):
        create_dataset2(folder, True, class_num=2)
    assert imagenet_folder(folder, class_num=1001)  # the official YAMLs' 1001 for 1000 folders


def test_imagenet_index_follows_mindspore_s_file_order(tmp_path):
    """The images a skip leaves are chosen by their index in ImageFolderDataset's own order, which the
    folder index must therefore follow exactly (mixed-case endings, files that are not images)."""
    import mindspore.dataset as ms_ds
    write_image_folder(str(tmp_path), classes=("b", "a", "C"), per_class=3)
    os.rename(tmp_path / "a" / "a_1.JPEG", tmp_path / "a" / "Z.jpg")
    write_odd_images(str(tmp_path / "a"))
    groups = imagenet_folder(str(tmp_path))
    names = [os.path.join(c, n) for c, files in groups.items() for n in files]
    reader = ms_ds.ImageFolderDataset(str(tmp_path), shuffle=False,
                                      extensions=sorted({n[n.rfind("."):] for n in names}))
    read = [image.tobytes() for image, _ in reader.create_tuple_iterator(output_numpy=True, num_epochs=1)]
    assert read == [open(tmp_path / name, "rb").read() for name in names]


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
    dataset = create_dataset1(cifar_dirs[0], True, batch_size=8, image_size=32, num_samples=8,
                              augmentation=Augmentation(crop_padding=0))
    images, _ = _batches(dataset)[0]
    pixels = np.rint((images[:, 0, 5] * 0.2023 + 0.4914) * 255).astype(np.uint8)
    assert all(tuple(p) in stored for p in pixels)
    shifted = create_dataset1(cifar_dirs[0], True, batch_size=8, image_size=32, num_samples=8,
                              augmentation=Augmentation(crop_padding=4))
    moved = np.rint((_batches(shifted)[0][0][:, 0, 5] * 0.2023 + 0.4914) * 255).astype(np.uint8)
    assert not all(tuple(p) in stored for p in moved)


def test_cutout_blanks_at_most_one_square_per_training_image(cifar_dirs, seeded):
    """cutout_length 8: at most one 8x8 square per image (clipped at the border, as in the paper) holds exactly
    the mean (0 after normalisation) in all channels; no stored pixel normalises to exactly 0, and evaluation
    images are left whole."""
    def zero_squares(do_train):
        dataset = create_dataset1(cifar_dirs[0 if do_train else 1], do_train, batch_size=8, image_size=32,
                                  num_samples=8,
                                  augmentation=Augmentation(train_augment="none", cutout_length=8))
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
    with pytest.raises(DatasetError, match="cutout_length must be at most image_size"):
        create_dataset1(cifar_dirs[0], True, image_size=32, augmentation=Augmentation(cutout_length=33))


def test_a_folder_of_only_damaged_images_is_one_line_even_when_skipping(tmp_path, monkeypatch):
    monkeypatch.setenv("MOBILENETV1_CACHE", str(tmp_path / "cache"))
    write_damaged_images(str(tmp_path / "val" / "a"))
    with pytest.raises(DatasetError, match=r"every image in the class folders of .*val is damaged \(3\)"):
        create_dataset2(str(tmp_path / "val"), True, damaged_images="skip")


def test_cifar_labels_beyond_class_num_are_one_line_before_reading(cifar_dirs):
    """--class_num 5 on ten classes: labels 5-9 would one-hot to zero rows and train nothing."""
    with pytest.raises(DatasetError, match=r"data_batch_1.bin holds labels up to 9 \(\d+ images with a label of 5 or "
                                           r"more\) but class_num is 5: set --class_num 10 or more"):
        create_dataset1(cifar_dirs[0], True, class_num=5)
    assert create_dataset1(cifar_dirs[0], True, class_num=10, image_size=32).get_dataset_size() > 0
