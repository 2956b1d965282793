"""moxing.file on the local file system: copy_parallel, copy, exists, make_dirs, list_directory."""
import os
import shutil

CALLS = []


def copy_parallel(src_url, dst_url):
    CALLS.append(("copy_parallel", src_url, dst_url))
    if os.path.isdir(src_url):
        shutil.copytree(src_url, dst_url, dirs_exist_ok=True)
    else:
        os.makedirs(os.path.dirname(dst_url) or ".", exist_ok=True)
        shutil.copy(src_url, dst_url)


def copy(src_url, dst_url):
    shutil.copy(src_url, dst_url)


def exists(url):
    return os.path.exists(url)


def make_dirs(url):
    os.makedirs(url, exist_ok=True)


def list_directory(url):
    return sorted(os.listdir(url))
