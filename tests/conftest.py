"""Shared fixtures: data sets in the real formats, generated once per test session."""
import os
import subprocess
import sys

# One oneDNN instruction set for the whole suite, in this process and in the entry points it runs:
# the AVX2 cap, which the in-process tests of MindSpore's own 3x3 convolutions need to run at speed
# (set here, it counts as the user's and no network lifts it). tests/test_isa.py runs the lift.
os.environ.setdefault("ONEDNN_MAX_CPU_ISA", "AVX2")
import src  # noqa: E402, F401  (then caps oneDNN's ISA before MindSpore loads, as the entry points do)
import pytest  # noqa: E402

from src.synthetic_data import write_cifar_bin, write_image_folder  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture
def graph_mode():
    """Graph mode only, as the entry points run."""
    import mindspore as ms
    previous = ms.get_context("mode")
    ms.set_context(mode=ms.GRAPH_MODE, device_target="CPU")
    yield
    ms.set_context(mode=previous)
    # MindSpore 2.10 keeps every function that ms.grad / value_and_grad compiled in graph mode in an lru_cache
    # of 4096, and with it the cells in its closure: without this the cells of these tests live until the
    # interpreter's exit, where their __del__ fails (744 "Exception ignored in Cell.__del__" lines after pytest).
    from mindspore.graph.api import _get_func_args_info_cached
    _get_func_args_info_cached.cache_clear()


@pytest.fixture(scope="session")
def cifar_dirs(tmp_path_factory):
    """(train_dir, test_dir) in the official layout: cifar-10-batches-bin/, cifar-10-verify-bin/."""
    root = tmp_path_factory.mktemp("cifar10")
    train_dir, test_dir = root / "cifar-10-batches-bin", root / "cifar-10-verify-bin"
    write_cifar_bin(str(train_dir / "data_batch_1.bin"), seed=1)
    write_cifar_bin(str(test_dir / "test_batch.bin"), seed=2)
    return str(train_dir), str(test_dir)


@pytest.fixture(scope="session")
def stock_cifar_dir(tmp_path_factory, cifar_dirs):
    """cifar-10-batches-bin/ as the CIFAR-10 archive unpacks: cifar_dirs' training and test files in one
    folder, with the archive's text files."""
    folder = tmp_path_factory.mktemp("cifar-10-binary") / "cifar-10-batches-bin"
    folder.mkdir()
    for source in cifar_dirs:
        for name in os.listdir(source):
            os.symlink(os.path.join(source, name), folder / name)
    (folder / "batches.meta.txt").write_text("airplane\nautomobile\n")
    (folder / "readme.html").write_text("<html></html>")
    return str(folder)


@pytest.fixture(scope="session")
def imagenet_root(tmp_path_factory):
    """An ImageNet_Original-style root with train/ and validation_preprocess/ class folders of JPEGs."""
    root = tmp_path_factory.mktemp("ImageNet_Original")
    write_image_folder(str(root / "train"), per_class=6, seed=3)
    write_image_folder(str(root / "validation_preprocess"), per_class=3, seed=4)
    return str(root)


TINY_MODEL = ["--device_target", "CPU", "--width_multiplier", "0.25", "--image_size", "32"]


@pytest.fixture(scope="session")
def trained(tmp_path_factory, cifar_dirs):
    """One short CIFAR-10 training run through train.py: 96 images, batch 32, 2 epochs -> (folder, process)."""
    out = tmp_path_factory.mktemp("train")
    proc = run_entry_point("train.py", "--dataset_path", cifar_dirs[0], *TINY_MODEL, "--epoch_size", "2",
                           "--num_samples", "96", "--save_checkpoint_path", out, "--save_checkpoint_epochs", "1",
                           cwd=out)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out, proc


def run_entry_point(script, *args, cwd=None, timeout=600):
    """Run train.py / eval.py / export.py as a user would; returns the CompletedProcess."""
    cmd = [sys.executable, os.path.join(ROOT, script), *map(str, args)]
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout)
