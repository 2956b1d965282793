"""A disk that fills up: no false "exported", no half-written file, one line, and a training run that can resume.

The folders are size-limited tmpfs mounts (the tests mount them as root, as CI runs); the atomic writer's
own behaviour is also checked with an injected ENOSPC, which needs no mount.
"""
import errno
import os
import subprocess
import sys

import mindspore as ms
import pytest

from src.model_utils import atomic_write
from src.model_utils.atomic_write import WriteError, atomic_open
from src.synthetic_data import write_fashion_mnist_idx
from tests.conftest import ROOT, TINY_MODEL, run_entry_point

KB = 1024


class Disk:
    """A tmpfs of a given size at ``path``; ``fill(leave)`` takes all but ``leave`` bytes with a filler file."""

    def __init__(self, path, size):
        self.path = str(path)
        os.makedirs(self.path)
        mount = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", self.path],
                               capture_output=True, text=True)
        if mount.returncode:
            pytest.skip(f"cannot mount a tmpfs here ({mount.stderr.strip()}); the injected-ENOSPC tests still run")

    def free(self):
        stat = os.statvfs(self.path)
        return stat.f_bavail * stat.f_frsize

    def fill(self, leave):
        with open(os.path.join(self.path, "filler"), "wb") as f:
            f.write(b"\0" * max(0, self.free() - leave))

    def grow(self, size):
        subprocess.run(["mount", "-o", f"remount,size={size}", self.path], check=True)

    def files(self):
        return sorted(name for name in os.listdir(self.path) if name != "filler")

    def unmount(self):
        subprocess.run(["umount", self.path], check=False)


@pytest.fixture
def disk(tmp_path):
    made = []

    def make(size, name="disk"):
        made.append(Disk(tmp_path / name, size))
        return made[-1]
    yield make
    for d in made:
        d.unmount()


def _one_line_error(proc, *parts):
    assert proc.returncode == 1, (proc.returncode, proc.stderr[-3000:])
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and all(part in errors[0] for part in parts), proc.stderr[-3000:]
    return errors[0]


# --- the writer itself, with an injected ENOSPC ---

def test_a_failed_write_leaves_neither_file_nor_temporary(tmp_path, monkeypatch):
    target = tmp_path / "out.json"
    target.write_text("old")

    def full(*_args):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    with pytest.raises(WriteError, match=rf"cannot write {target}: no space left on device; free some space"):
        with atomic_open(str(target), "w") as f:
            f.write("new")
            monkeypatch.setattr(atomic_write.os, "fsync", full)
    assert target.read_text() == "old" and os.listdir(tmp_path) == ["out.json"]


def test_a_writer_that_writes_nothing_is_an_error(tmp_path):
    with pytest.raises(WriteError, match="nothing was written"):
        with atomic_write.atomic_path(str(tmp_path / "m.onnx")):
            pass
    assert os.listdir(tmp_path) == []


# --- through the entry points, on a full tmpfs ---

@pytest.mark.parametrize("file_format, suffix", [("ONNX", ".onnx"), ("MINDIR", ".mindir")])
def test_export_onto_a_full_disk_says_so_and_leaves_nothing(disk, trained, file_format, suffix):
    out, _ = trained
    full = disk("4m")
    full.fill(leave=64 * KB)
    proc = run_entry_point("export.py", "--ckpt_file", out / "mobilenetv1-2_3.ckpt", "--file_name",
                           os.path.join(full.path, "m"), "--file_format", file_format, *TINY_MODEL, "--batch_size",
                           "1", "--verify", "True", cwd=out)
    _one_line_error(proc, f"cannot write {full.path}/m{suffix}", "no space left on device")
    assert "exported:" not in proc.stdout and full.files() == []


def test_training_onto_a_disk_that_fills_stops_with_the_resume_command_and_resumes(disk, cifar_dirs):
    """Room for the epoch-1 checkpoint (1.7 MB) but not the epoch-2 one: the run stops with one line naming the last
    good checkpoint; after the disk grows, --resume auto finishes the run from it."""
    full = disk("2600k")
    args = ["--dataset_path", cifar_dirs[0], *TINY_MODEL, "--epoch_size", "3", "--num_samples", "96",
            "--save_checkpoint_path", full.path, "--save_checkpoint_epochs", "1"]
    proc = run_entry_point("train.py", *args, cwd=full.path)
    line = _one_line_error(proc, f"cannot write {full.path}/mobilenetv1-2_3.ckpt: no space left on device",
                           f"the last good checkpoint is {full.path}/mobilenetv1-1_3.ckpt",
                           "--resume auto")
    assert "partial" not in line
    left = full.files()
    assert not [name for name in left if "partial" in name or name.endswith(".tmp")], left
    assert "mobilenetv1-1_3.ckpt" in left and "mobilenetv1-2_3.ckpt" not in left
    if "curves.png" in left:  # drawn only when it fitted: never an empty file
        assert os.path.getsize(os.path.join(full.path, "curves.png")) > 10 * KB
    assert int(ms.load_checkpoint(os.path.join(full.path, "mobilenetv1-1_3.ckpt"))["global_step"].asnumpy()[0]) == 3
    full.grow("20m")
    resumed = run_entry_point("train.py", *args, "--resume", "auto", cwd=full.path)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "at epoch 2, step 1" in resumed.stderr and "mobilenetv1-3_3.ckpt" in full.files()


def test_curves_that_do_not_fit_are_a_warning_and_training_goes_on(disk, cifar_dirs):
    full = disk("40k")
    proc = run_entry_point("train.py", "--dataset_path", cifar_dirs[0], *TINY_MODEL, "--epoch_size", "1",
                           "--num_samples", "64", "--save_checkpoint", "False", "--save_checkpoint_path", full.path,
                           cwd=full.path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"curves not drawn: cannot write {full.path}/curves.png: no space left on device" in proc.stderr
    assert full.files() == ["metrics.jsonl"]


def test_converter_onto_a_full_disk_is_one_line_and_leaves_no_temporary(disk, tmp_path):
    idx = tmp_path / "idx"
    write_fashion_mnist_idx(str(idx), train=20000, test=10000, compress=True)
    full = disk("2m")
    proc = subprocess.run([sys.executable, "-m", "src.tools.convert_fashion_mnist", "--idx_dir", str(idx),
                           "--output_dir", os.path.join(full.path, "fm")], cwd=ROOT, capture_output=True, text=True)
    _one_line_error(proc, f"cannot write {full.path}/fm/", "no space left on device")
    written = [name for _, _, names in os.walk(full.path) for name in names]
    assert not [name for name in written if "partial" in name or "tmp" in name], written
