"""Finding the image files MindSpore's decoder cannot read, before a run reads them.

MindSpore 2.10's ``Decode`` kills the whole process (SIGFPE, no message) on some damaged JPEGs, such
as one cut short inside its header, and raises on others; either ends a run at the step that first
draws the file, hours in. So every image is decoded once beforehand by that same ``Decode``, in
worker processes: a file that raises, or kills its worker, is damaged, and a new worker goes on
with the next file. Results are cached per folder (file names, sizes and modification times), so
a folder is decoded again only when its files change; see ``check_folder``.

    python -m src.image_check <folder>     # lists every damaged image under a folder of class folders
"""
import fcntl
import hashlib
import json
import logging
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from src.cache import cache_dir
from src.dataset_specs import is_image_name
from src.model_utils.errors import DatasetError

logger = logging.getLogger(__name__)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHUNK = 256  # files a worker is given at a time
PROGRESS_SECONDS = 10.0
SAVE_SECONDS = 60.0  # a long first check caches the folders it has finished this often
_RESULT = "@@"  # marks the worker's result lines among anything else its libraries print


def _decode_worker(list_file):
    """Decode files of ``list_file`` (NUL-separated paths) for each "start end" line on stdin; print one
    result line per file as soon as it is known, so that a file that kills the process is the next one."""
    import numpy as np
    from mindspore.dataset.vision import Decode

    paths = [os.fsdecode(p) for p in open(list_file, "rb").read().split(b"\0")]
    decode = Decode()
    for line in sys.stdin:
        start, end = map(int, line.split())
        for i in range(start, end):
            try:
                decode(np.fromfile(paths[i], np.uint8))
                reason = ""
            except (RuntimeError, ValueError, OSError) as err:
                reason = _short_reason(err)
            sys.stdout.write(f"{_RESULT}{i}\t{reason}\n")
            sys.stdout.flush()


def _short_reason(err):
    """The line of MindSpore's error that says what is wrong with the file."""
    for line in str(err).splitlines():
        if line.startswith("[ERROR] "):
            return line[len("[ERROR] "):].split(" Dump the abnormal image")[0].strip()
    return str(err).splitlines()[0].strip() if str(err) else type(err).__name__


def _signal_name(number):
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


class _Workers:
    """Decoder processes, one per thread, each restarted after a file kills it."""

    def __init__(self, list_file, scratch):
        self.list_file, self.scratch = list_file, scratch
        self.local = threading.local()
        self.processes = []
        self.lock = threading.Lock()

    def _process(self):
        proc = getattr(self.local, "proc", None)
        if proc is None:
            env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [ROOT, os.environ.get("PYTHONPATH")])))
            # cwd: MindSpore writes a copy of each file it cannot decode (abnormal_image.jpg) there
            proc = subprocess.Popen([sys.executable, "-m", "src.image_check", "--decode-worker", self.list_file],
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                    cwd=self.scratch, env=env, text=True)
            self.local.proc = proc
            with self.lock:
                self.processes.append(proc)
        return proc

    def check(self, start, end, damaged, done):
        """Decode files start..end-1; record damaged ones as {index: reason}; put each index in ``done``."""
        while start < end:
            proc = self._process()
            proc.stdin.write(f"{start} {end}\n")
            proc.stdin.flush()
            for line in proc.stdout:
                if not line.startswith(_RESULT):
                    continue
                index, reason = line[len(_RESULT):].rstrip("\n").split("\t", 1)
                if reason:
                    damaged[int(index)] = reason
                done.put(int(index))
                start = int(index) + 1
                if start == end:
                    break
            else:  # the worker died on file ``start``
                code = proc.wait()
                self.local.proc = None
                if code >= 0:
                    raise DatasetError(f"the image-checking process stopped (exit code {code}) before a file "
                                       f"killed it; run python -m src.image_check --decode-worker {self.list_file} "
                                       "by hand to see why")
                damaged[start] = f"the decoder crashed on it ({_signal_name(-code)})"
                done.put(start)
                start += 1

    def close(self):
        for proc in self.processes:
            if proc.poll() is None:
                proc.stdin.close()
                proc.wait()


def find_damaged(paths, workers=1, on_progress=None):
    """{path: reason} for every file of ``paths`` that MindSpore's Decode cannot decode.

    ``on_progress(finished, damaged)`` is called every SAVE_SECONDS with a bytearray marking the
    indices of ``paths`` checked so far and {index: reason} of the damaged ones among them, so that a
    long check can keep what it has found if it is stopped.
    """
    if not paths:
        return {}
    with tempfile.TemporaryDirectory(prefix="image-check-") as scratch:
        list_file = os.path.join(scratch, "files")
        with open(list_file, "wb") as f:
            f.write(b"\0".join(os.fsencode(p) for p in paths))
        todo = queue.Queue()
        for start in range(0, len(paths), CHUNK):
            todo.put((start, min(start + CHUNK, len(paths))))
        damaged, done, pool = {}, queue.Queue(), _Workers(list_file, scratch)

        def drain():
            while True:
                try:
                    start, end = todo.get_nowait()
                except queue.Empty:
                    return
                pool.check(start, end, damaged, done)

        threads = max(1, min(workers, todo.qsize()))
        try:
            with ThreadPoolExecutor(threads) as executor:
                futures = [executor.submit(drain) for _ in range(threads)]
                try:
                    _follow(futures, done, len(paths), damaged, on_progress)
                except BaseException:  # Ctrl-C: the threads stop after their current chunk
                    while not todo.empty():
                        todo.get_nowait()
                    raise
                for future in futures:
                    future.result()
        finally:
            pool.close()
    return {paths[i]: reason for i, reason in sorted(damaged.items())}


def _follow(futures, done, total, damaged, on_progress):
    """While the workers decode: a progress line every PROGRESS_SECONDS, ``on_progress`` every SAVE_SECONDS."""
    started = logged = saved = time.monotonic()
    finished, count = bytearray(total), 0
    while not all(f.done() for f in futures):
        time.sleep(0.2)
        while not done.empty():
            finished[done.get()] = 1
            count += 1
        now = time.monotonic()
        if now - logged >= PROGRESS_SECONDS and count:
            rate = count / (now - started)
            logger.info("checking images: %d of %d (%.0f/s, about %.0f s left)", count, total, rate,
                        (total - count) / rate)
            logged = now
        if on_progress is not None and now - saved >= SAVE_SECONDS:
            on_progress(finished, dict(damaged))
            saved = now


def _signature(folder, names):
    """What identifies a folder's files: names, sizes, modification times."""
    sha = hashlib.sha256()
    for name in names:
        stat = os.stat(os.path.join(folder, name))
        sha.update(f"{name}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode("utf-8", "surrogateescape"))
    return sha.hexdigest()


def _cache_path(root):
    key = hashlib.sha256(os.path.abspath(root).encode("utf-8", "surrogateescape")).hexdigest()[:24]
    folder = cache_dir("image_checks")
    return os.path.join(folder, key + ".json") if folder else None


def _load(path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f).get("folders", {})
    except (OSError, ValueError, AttributeError):
        return {}


def _save(path, root, folders):
    tmp = f"{path}.tmp-{os.getpid()}"
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump({"root": os.path.abspath(root), "folders": folders}, f)
        os.replace(tmp, path)
    except OSError as err:
        logger.warning("could not cache the image check in %s (%s); the next run checks again", path, err)
        if os.path.exists(tmp):
            os.remove(tmp)


class _Locked:
    """An exclusive lock on ``path`` + ".lock" (no-op without a path): the processes of a data-parallel
    job wait while the first one checks, then find its results in the cache."""

    def __init__(self, path):
        self.path, self.file = path, None

    def __enter__(self):
        if self.path:
            try:
                self.file = open(self.path + ".lock", "a")
                fcntl.flock(self.file, fcntl.LOCK_EX)
            except OSError:
                self.file = None
        return self

    def __exit__(self, *exc):
        if self.file is not None:
            self.file.close()


def check_folder(root, groups, workers=1):
    """{relative path: reason} for the damaged images of ``groups`` ({sub-folder of root: [file names]}).

    A sub-folder whose files have the names, sizes and modification times of its cached check is
    not decoded again.
    """
    cache_path = _cache_path(root)
    with _Locked(cache_path):
        cached = _load(cache_path) if cache_path else {}
        signatures = {sub: _signature(os.path.join(root, sub), names) for sub, names in groups.items()}
        stale = [sub for sub in groups if cached.get(sub, {}).get("signature") != signatures[sub]]
        where = [(sub, name) for sub in stale for name in groups[sub]]
        if where:
            started = time.monotonic()
            logger.info("checking %d images in %s that the last check did not see (run once per change)",
                        len(where), root)
            ranges, first = {}, 0
            for sub in stale:
                ranges[sub] = (first, first + len(groups[sub]))
                first += len(groups[sub])

            def record(finished, damaged):
                """Cache the folders whose every image is checked."""
                for sub, (low, high) in list(ranges.items()):
                    if all(finished[low:high]):
                        cached[sub] = {"signature": signatures[sub],
                                       "damaged": {where[i][1]: damaged[i] for i in range(low, high) if i in damaged}}
                        del ranges[sub]
                if cache_path:
                    _save(cache_path, root, {sub: cached[sub] for sub in groups if sub in cached})

            found = find_damaged([os.path.join(root, *pair) for pair in where], workers, on_progress=record)
            index = {os.path.join(root, *pair): i for i, pair in enumerate(where)}
            record(bytearray(b"\1" * len(where)), {index[path]: reason for path, reason in found.items()})
            logger.info("checked %d images in %.1f s: %d damaged", len(where), time.monotonic() - started, len(found))
    return {os.path.normpath(os.path.join(sub, name)): reason
            for sub in groups for name, reason in cached[sub]["damaged"].items()}


def image_groups(root):
    """{class folder: [image file names]} of a folder of class folders, both sorted as MindSpore's
    ImageFolderDataset reads them; files that are not images are left out."""
    groups = {}
    for sub in sorted(d for d in os.listdir(root) if os.path.isdir(os.path.join(root, d))):
        groups[sub] = sorted(n for n in os.listdir(os.path.join(root, sub))
                             if is_image_name(n) and os.path.isfile(os.path.join(root, sub, n)))
    return groups


def describe(damaged, root, limit=3):
    """'N damaged images in ROOT: a (why), b (why), c (why) and K more'."""
    names = sorted(damaged)
    listed = ", ".join(f"{name} ({damaged[name]})" for name in names[:limit])
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return f"{len(names)} damaged image{'s' if len(names) != 1 else ''} in {root}: {listed}{more}"


def settle(damaged, root, policy):
    """Stop the run naming the damaged images (``policy`` "error"), or warn that they are left out ("skip")."""
    if not damaged:
        return
    message = describe(damaged, root)
    if policy != "skip":
        raise DatasetError(f"{message}. Replace or delete them, or pass --damaged_images skip to leave them out "
                           f"(python -m src.image_check {root} lists them all)")
    logger.warning("%s; leaving them out (damaged_images: skip)", message)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) == 2 and argv[0] == "--decode-worker":
        _decode_worker(argv[1])
        return 0
    if len(argv) != 1 or not os.path.isdir(argv[0]):
        print("usage: python -m src.image_check <folder of class folders>", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    damaged = check_folder(argv[0], image_groups(argv[0]), workers=os.cpu_count() or 1)
    for name, reason in sorted(damaged.items()):
        print(f"{os.path.join(argv[0], name)}\t{reason}")
    print(f"{len(damaged)} damaged", file=sys.stderr)
    return 1 if damaged else 0


if __name__ == "__main__":
    sys.exit(main())
