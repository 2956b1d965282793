"""Finding damaged images with the one reader, in worker processes with a time limit, with a cache."""
import os
import signal
import threading
import time

import pytest

from src import image_check
from src.image_check import check_folder, describe, find_damaged
from src.image_files import class_folders
from src.synthetic_data import write_damaged_images, write_image_folder, write_odd_images


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("MOBILENETV1_CACHE", str(folder))
    return folder


def test_damaged_files_are_found_and_readable_odd_ones_are_not(tmp_path):
    folder = str(tmp_path / "images")
    write_image_folder(folder, classes=("a",), per_class=3)
    damaged = write_damaged_images(os.path.join(folder, "a"))
    readable, _ = write_odd_images(os.path.join(folder, "a"))
    names = sorted(os.listdir(os.path.join(folder, "a")))
    paths = [os.path.join(folder, "a", n) for n in names if n.endswith(".JPEG")]
    found = find_damaged(paths, workers=2)
    assert sorted(os.path.basename(p) for p in found) == damaged
    assert found[os.path.join(folder, "a", "empty.JPEG")].startswith("not an image in a format the reader knows")
    assert not set(readable) & {os.path.basename(p) for p in found}


def _worker_pids():
    """The image-check worker processes of this test process."""
    pids = []
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read()
            with open(f"/proc/{entry}/stat", encoding="ascii") as f:
                parent = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if b"--decode-worker" in cmdline and parent == os.getpid():
            pids.append(int(entry))
    return pids


def test_a_file_that_stalls_the_reader_is_damaged_and_the_check_goes_on(tmp_path):
    """A FIFO with no writer blocks the reader's open() forever, as a decoder caught in a loop or a hung mount
    would: the file is named with the time limit, its worker replaced, and the files after it are read."""
    write_image_folder(str(tmp_path), classes=("a",), per_class=2)
    fifo = str(tmp_path / "a" / "stalls.JPEG")
    os.mkfifo(fifo)
    good = [str(tmp_path / "a" / n) for n in sorted(os.listdir(tmp_path / "a")) if n != "stalls.JPEG"]
    found = find_damaged([good[0], fifo, good[1]], workers=1, timeout=1.0)
    assert found == {fifo: "the decoder did not finish in 1 s"}
    assert not _worker_pids()  # the stalled worker was killed, the others closed


def test_a_worker_killed_under_the_check_names_its_file_and_the_check_goes_on(tmp_path):
    """A worker that dies (the OOM killer, a decoder crash) while reading a file: that file is damaged, with
    the signal's name, and a new worker reads the rest."""
    write_image_folder(str(tmp_path), classes=("a",), per_class=2)
    fifo = str(tmp_path / "a" / "stalls.JPEG")
    os.mkfifo(fifo)
    good = [str(tmp_path / "a" / n) for n in sorted(os.listdir(tmp_path / "a")) if n != "stalls.JPEG"]

    def kill_the_worker():  # once it has started and waits on the FIFO
        time.sleep(3.0)
        for pid in _worker_pids():
            os.kill(pid, signal.SIGKILL)

    killer = threading.Thread(target=kill_the_worker)
    killer.start()
    found = find_damaged([fifo, *good], workers=1, timeout=60.0)
    killer.join()
    assert found == {fifo: "the decoder crashed on it (SIGKILL)"}


def test_a_replaced_file_of_the_same_size_and_time_is_read_again(tmp_path, cache):
    """``cp damaged x.JPEG && touch -r old x.JPEG`` keeps size and modification time; the cache sees the change."""
    root = str(tmp_path / "train")
    write_image_folder(root, classes=("a",), per_class=2)
    target = os.path.join(root, "a", sorted(os.listdir(os.path.join(root, "a")))[0])
    assert check_folder(root, class_folders(root)) == {}
    stat = os.stat(target)
    data = bytearray(open(target, "rb").read())
    data[len(data) // 3:] = b"\xff" * (len(data) - len(data) // 3)
    with open(target, "r+b") as f:
        f.write(data)
    os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert os.stat(target).st_size == stat.st_size and os.stat(target).st_mtime_ns == stat.st_mtime_ns
    assert list(check_folder(root, class_folders(root))) == [os.path.relpath(target, root)]


def test_class_folders_leave_out_files_that_are_not_images(tmp_path):
    write_image_folder(str(tmp_path), classes=("b", "a"), per_class=2)
    _, others = write_odd_images(str(tmp_path / "a"))
    (tmp_path / "a" / "nested").mkdir()
    groups = class_folders(str(tmp_path))
    assert list(groups) == ["a", "b"]
    assert not set(others) & set(groups["a"]) and "nested" not in groups["a"]
    assert groups["a"] == sorted(groups["a"]) and len(groups["b"]) == 2


def test_the_cache_rechecks_only_changed_folders(tmp_path, cache, monkeypatch):
    root = str(tmp_path / "train")
    write_image_folder(root, classes=("a", "b"), per_class=2)
    write_damaged_images(os.path.join(root, "b"))
    checked = []
    real = image_check.find_damaged
    monkeypatch.setattr(image_check, "find_damaged",
                        lambda paths, workers, on_progress=None, timeout=None: checked.append(paths) or real(paths, 1))
    first = check_folder(root, class_folders(root))
    assert sorted(first) == [os.path.join("b", n) for n in ("cut_in_header.JPEG", "cut_short.JPEG", "empty.JPEG")]
    assert len(checked) == 1 and len(checked[0]) == 7
    assert check_folder(root, class_folders(root)) == first and len(checked) == 1  # nothing changed: no decoding
    os.remove(os.path.join(root, "b", "empty.JPEG"))
    second = check_folder(root, class_folders(root))
    assert len(checked) == 2 and all(os.path.dirname(p).endswith("b") for p in checked[1])  # folder b only
    assert sorted(second) == sorted(first)[:2]


def test_an_unwritable_cache_still_checks(tmp_path, monkeypatch):
    monkeypatch.setattr(image_check, "cache_dir", lambda sub="": None)
    root = str(tmp_path / "train")
    write_image_folder(root, classes=("a",), per_class=1)
    write_damaged_images(os.path.join(root, "a"))
    assert len(check_folder(root, class_folders(root))) == 3


def test_describe_names_the_first_few_and_counts_all():
    damaged = {f"c/{i}.JPEG": "Decode: image decode failed." for i in range(5)}
    text = describe(damaged, "/data/train")
    assert text.startswith("5 damaged images in /data/train: c/0.JPEG (Decode: image decode failed.)")
    assert text.endswith("and 2 more") and "c/3.JPEG" not in text


def test_command_line_lists_every_damaged_image(tmp_path, cache, capsys):
    write_image_folder(str(tmp_path), classes=("a",), per_class=1)
    write_damaged_images(str(tmp_path / "a"))
    assert image_check.main([str(tmp_path)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("\t")[0] for line in lines] == [
        os.path.join(str(tmp_path), "a", n) for n in ("cut_in_header.JPEG", "cut_short.JPEG", "empty.JPEG")]


def test_a_stopped_check_keeps_the_folders_it_finished(tmp_path, cache, monkeypatch):
    """A first check of a large set runs for minutes: the class folders checked before it stopped are cached."""
    import time
    root = str(tmp_path / "train")
    write_image_folder(root, classes=("a", "b"), per_class=2)
    monkeypatch.setattr(image_check, "CHUNK", 2)  # one chunk per folder
    monkeypatch.setattr(image_check, "SAVE_SECONDS", 0.0)
    real_check = image_check._Workers.check

    def stop_in_folder_b(self, start, end, damaged, done):
        if start >= 2:
            time.sleep(1.0)  # long enough for the checked folder a to be saved
            raise KeyboardInterrupt
        real_check(self, start, end, damaged, done)

    monkeypatch.setattr(image_check._Workers, "check", stop_in_folder_b)
    with pytest.raises(KeyboardInterrupt):
        check_folder(root, class_folders(root), workers=1)
    monkeypatch.setattr(image_check._Workers, "check", real_check)
    checked = []
    real = image_check.find_damaged
    monkeypatch.setattr(image_check, "find_damaged",
                        lambda paths, workers, on_progress=None, timeout=None: checked.append(paths) or real(paths, 1))
    assert check_folder(root, class_folders(root)) == {}
    assert [os.path.basename(os.path.dirname(p)) for p in checked[0]] == ["b", "b"]


def test_a_relative_folder_is_read_from_where_the_run_started(tmp_path, cache, monkeypatch):
    """The workers run in a scratch folder: a relative dataset path still names the user's files."""
    write_image_folder(str(tmp_path / "train"), classes=("a",), per_class=2)
    write_damaged_images(str(tmp_path / "train" / "a"))
    monkeypatch.chdir(tmp_path)
    assert sorted(check_folder("train", class_folders("train"))) == [
        os.path.join("a", n) for n in ("cut_in_header.JPEG", "cut_short.JPEG", "empty.JPEG")]
