"""Files that appear whole or not at all: written under a temporary name in the same folder, renamed when done.

A reader never sees a half-written file, and a write that fails (a full disk, no permission) removes its
temporary and raises ``WriteError``: one line naming the path, the reason and what to do.
"""
import contextlib
import errno
import logging
import os
import re

from src.model_utils.errors import UserInputError

_ADVICE = {errno.ENOSPC: "free some space or write elsewhere", errno.EDQUOT: "free some space or write elsewhere",
           errno.EACCES: "choose a folder you may write to", errno.EPERM: "choose a folder you may write to",
           errno.EROFS: "choose a writable folder"}


class WriteError(UserInputError):
    """A file could not be written; nothing half-written is left behind."""


def write_error(path, err):
    """The one-line WriteError for an OSError ``err`` while writing ``path``."""
    reason = os.strerror(err.errno).lower() if err.errno else str(err)
    advice = _ADVICE.get(err.errno, "check the folder")
    return WriteError(f"cannot write {path}: {reason}; {advice}")


def temporary_path(path, suffix=""):
    """The temporary name ``path`` is written under: hidden, in the same folder (so the rename is atomic), ending
    in ``suffix`` for writers that add or need an extension."""
    folder, name = os.path.split(os.path.abspath(path))
    return os.path.join(folder, f".{name}.partial-{os.getpid()}{suffix}")


def _remove(path):
    with contextlib.suppress(FileNotFoundError):
        os.remove(path)


def _sync_folder(folder):
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(path, check=None, suffix="", leftovers=()):
    """Yield a temporary path to write ``path`` through; on success ``check(temporary)`` (may raise) runs, then the
    temporary is synced and renamed to ``path``. On any error the temporary and the ``leftovers`` (a writer's own
    temporaries) are removed; OSErrors become WriteError.
    """
    tmp = temporary_path(path, suffix)
    try:
        yield tmp
        if not os.path.isfile(tmp) or not os.path.getsize(tmp):
            raise WriteError(f"cannot write {path}: nothing was written (see the writer's message above); "
                             "check the free space and permissions of its folder")
        if check is not None:
            check(tmp)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
        _sync_folder(os.path.dirname(os.path.abspath(path)))
    except OSError as err:
        raise write_error(path, err) from err
    finally:
        for leftover in (tmp, *leftovers):
            _remove(leftover)


@contextlib.contextmanager
def atomic_open(path, mode="w", **kwargs):
    """``open(path, mode)`` through ``atomic_path``: the file exists under its name only once fully written."""
    with atomic_path(path) as tmp:
        try:
            with open(tmp, mode, **kwargs) as f:
                yield f
        except OSError as err:
            raise write_error(path, err) from err


class _Collect(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


@contextlib.contextmanager
def quiet_mindspore():
    """MindSpore's own log lines held back (its save and export functions log a failed write, and its ONNX export
    does not raise it): yields the list of its warning and error messages, for the one line the user then sees."""
    from mindspore import log
    ms_logger = log._get_logger()  # noqa: SLF001  (MindSpore names its logger per process)
    collect, handlers, propagate = _Collect(), ms_logger.handlers[:], ms_logger.propagate
    ms_logger.handlers, ms_logger.propagate = [collect], False
    try:
        yield collect.messages
    finally:
        ms_logger.handlers, ms_logger.propagate = handlers, propagate


def reason_in(messages):
    """The OS error in MindSpore's log messages ('no space left on device'), or None."""
    for message in reversed(messages):
        match = re.search(r"\[Errno (\d+)\] ([^:\n]+)", message)
        if match:
            return match[2].strip().lower()
    return None
