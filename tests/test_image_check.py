"""Finding damaged images with MindSpore's own decoder, in worker processes, with a cache."""
import os

import pytest

from src import image_check
from src.image_check import check_folder, describe, find_damaged, image_groups
from src.synthetic_data import write_damaged_images, write_image_folder, write_odd_images


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("MOBILENETV1_CACHE", str(folder))
    return folder


def test_damaged_files_are_found_and_a_crash_does_not_stop_the_check(tmp_path):
    """The file cut inside its header kills MindSpore's decoder (SIGFPE): its worker dies, the file is
    named, and a new worker checks the files after it."""
    folder = str(tmp_path / "images")
    write_image_folder(folder, classes=("a",), per_class=3)
    damaged = write_damaged_images(os.path.join(folder, "a"))
    readable, _ = write_odd_images(os.path.join(folder, "a"))
    names = sorted(os.listdir(os.path.join(folder, "a")))
    paths = [os.path.join(folder, "a", n) for n in names if n.endswith(".JPEG")]
    found = find_damaged(paths, workers=2)
    assert sorted(os.path.basename(p) for p in found) == damaged
    assert "SIGFPE" in found[os.path.join(folder, "a", "cut_in_header.JPEG")]
    assert "SIGFPE" not in found[os.path.join(folder, "a", "empty.JPEG")]
    assert not set(readable) & {os.path.basename(p) for p in found}


def test_image_groups_leave_out_files_that_are_not_images(tmp_path):
    write_image_folder(str(tmp_path), classes=("b", "a"), per_class=2)
    _, others = write_odd_images(str(tmp_path / "a"))
    (tmp_path / "a" / "nested").mkdir()
    groups = image_groups(str(tmp_path))
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
                        lambda paths, workers, on_progress=None: checked.append(paths) or real(paths, 1))
    first = check_folder(root, image_groups(root))
    assert sorted(first) == [os.path.join("b", n) for n in ("cut_in_header.JPEG", "cut_short.JPEG", "empty.JPEG")]
    assert len(checked) == 1 and len(checked[0]) == 7
    assert check_folder(root, image_groups(root)) == first and len(checked) == 1  # nothing changed: no decoding
    os.remove(os.path.join(root, "b", "empty.JPEG"))
    second = check_folder(root, image_groups(root))
    assert len(checked) == 2 and all(os.path.dirname(p).endswith("b") for p in checked[1])  # folder b only
    assert sorted(second) == sorted(first)[:2]


def test_an_unwritable_cache_still_checks(tmp_path, monkeypatch):
    monkeypatch.setattr(image_check, "cache_dir", lambda sub="": None)
    root = str(tmp_path / "train")
    write_image_folder(root, classes=("a",), per_class=1)
    write_damaged_images(os.path.join(root, "a"))
    assert len(check_folder(root, image_groups(root))) == 3


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
        check_folder(root, image_groups(root), workers=1)
    monkeypatch.setattr(image_check._Workers, "check", real_check)
    checked = []
    real = image_check.find_damaged
    monkeypatch.setattr(image_check, "find_damaged",
                        lambda paths, workers, on_progress=None: checked.append(paths) or real(paths, 1))
    assert check_folder(root, image_groups(root)) == {}
    assert [os.path.basename(os.path.dirname(p)) for p in checked[0]] == ["b", "b"]
