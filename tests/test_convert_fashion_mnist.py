"""Fashion-MNIST IDX -> CIFAR-10 binary conversion: layout, idempotence, atomicity, bad input."""
import os

import numpy as np
import pytest

from src.tools.convert_fashion_mnist import ConversionError, convert, main
from src.dataset import create_dataset1
from src.synthetic_data import write_fashion_mnist_idx, write_idx


@pytest.fixture(scope="module")
def idx_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("idx")
    return str(folder), write_fashion_mnist_idx(str(folder), train=20000, test=10000, compress=True)


def test_records_hold_label_and_padded_grey_planes(tmp_path, idx_dir):
    folder, data = idx_dir
    train_dir, test_dir = convert(folder, str(tmp_path / "out"), log=lambda _: None)
    assert sorted(os.listdir(train_dir)) == ["data_batch_1.bin", "data_batch_2.bin"]
    assert os.listdir(test_dir) == ["test_batch.bin"]
    records = np.fromfile(os.path.join(train_dir, "data_batch_2.bin"), np.uint8).reshape(10000, 3073)
    images, labels = data["train"]
    np.testing.assert_array_equal(records[:, 0], labels[10000:])
    planes = records[5, 1:].reshape(3, 32, 32)
    for channel in planes:
        np.testing.assert_array_equal(channel[2:30, 2:30], images[10005])
        assert channel[:2].sum() == 0 and channel[:, 30:].sum() == 0
    assert not [f for f in os.listdir(train_dir) if ".tmp" in f]


def test_output_reads_through_the_cifar_pipeline(tmp_path, idx_dir):
    folder, data = idx_dir
    _, test_dir = convert(folder, str(tmp_path / "out"), log=lambda _: None)
    batch = next(create_dataset1(test_dir, False, batch_size=8, image_size=32, num_samples=8,
                                 stats="fashion_mnist").create_tuple_iterator(output_numpy=True))
    np.testing.assert_array_equal(batch[1], data["test"][1][:8])
    expected = (np.pad(data["test"][0][0], 2) / 255.0 - 0.2860) / 0.3530
    np.testing.assert_allclose(batch[0][0, 1], expected, atol=1e-4)


def test_second_run_is_a_no_op_and_damaged_output_is_rewritten(tmp_path, idx_dir):
    folder, _ = idx_dir
    out = str(tmp_path / "out")
    messages = []
    train_dir, _ = convert(folder, out, log=messages.append)
    target = os.path.join(train_dir, "data_batch_1.bin")
    first_mtime = os.stat(target).st_mtime_ns
    convert(folder, out, log=messages.append)
    assert os.stat(target).st_mtime_ns == first_mtime and "up to date" in messages[-1]
    with open(target, "r+b") as f:
        f.truncate(1000)
    convert(folder, out, log=messages.append)
    assert os.path.getsize(target) == 30730000 and "wrote" in messages[-1]


def test_uncompressed_idx_files_work(tmp_path):
    data = write_fashion_mnist_idx(str(tmp_path / "raw"), train=10000, test=10000, compress=False, seed=5)
    _, test_dir = convert(str(tmp_path / "raw"), str(tmp_path / "out"), log=lambda _: None)
    records = np.fromfile(os.path.join(test_dir, "test_batch.bin"), np.uint8).reshape(10000, 3073)
    np.testing.assert_array_equal(records[:, 0], data["test"][1])


def _linked_copy_without(tmp_path, idx_dir, name):
    """A folder linking to the good IDX files, except ``name``."""
    folder = tmp_path / "broken"
    folder.mkdir()
    for f in os.listdir(idx_dir[0]):
        if f != name:
            os.symlink(os.path.join(idx_dir[0], f), folder / f)
    return folder


def _broken_copy(tmp_path, idx_dir, name, array, magic):
    folder = _linked_copy_without(tmp_path, idx_dir, name)
    write_idx(str(folder / name), array, magic, compress=name.endswith(".gz"))
    return str(folder)


def test_bad_magic_number(tmp_path, idx_dir):
    folder = _broken_copy(tmp_path, idx_dir, "t10k-labels-idx1-ubyte.gz", np.zeros(10000, np.uint8), 2051)
    with pytest.raises(ConversionError, match="t10k-labels-idx1-ubyte.gz: magic number 2051, expected 2049"):
        convert(folder, str(tmp_path / "out"))


def test_count_mismatch(tmp_path, idx_dir):
    folder = _broken_copy(tmp_path, idx_dir, "t10k-labels-idx1-ubyte.gz", np.zeros(9000, np.uint8), 2049)
    with pytest.raises(ConversionError, match="10000 images but .* 9000 labels"):
        convert(folder, str(tmp_path / "out"))


def test_truncated_file(tmp_path, idx_dir):
    folder = _linked_copy_without(tmp_path, idx_dir, "t10k-images-idx3-ubyte.gz")
    images = np.zeros((10000, 28, 28), np.uint8)
    write_idx(str(folder / "t10k-images-idx3-ubyte"), images, 2051)
    with open(folder / "t10k-images-idx3-ubyte", "r+b") as f:
        f.truncate(16 + 28 * 28 * 100)
    with pytest.raises(ConversionError, match="truncated or corrupt"):
        convert(str(folder), str(tmp_path / "out"))
    assert not os.path.exists(tmp_path / "out" / "conversion.json")


def test_truncated_gzip_and_missing_files(tmp_path, idx_dir):
    folder = _linked_copy_without(tmp_path, idx_dir, "train-labels-idx1-ubyte.gz")
    data = open(os.path.join(idx_dir[0], "train-labels-idx1-ubyte.gz"), "rb").read()
    (folder / "train-labels-idx1-ubyte.gz").write_bytes(data[: len(data) // 2])
    with pytest.raises(ConversionError, match="train-labels-idx1-ubyte.gz: cannot read"):
        convert(str(folder), str(tmp_path / "out"))
    with pytest.raises(ConversionError, match="IDX folder not found"):
        convert(str(tmp_path / "none"), str(tmp_path / "out"))
    os.remove(folder / "train-labels-idx1-ubyte.gz")
    assert main(["--idx_dir", str(folder), "--output_dir", str(tmp_path / "out")]) == 1
