"""Finding the image files the reader cannot read, before a run reads them.

Every image is read once beforehand by the one reader of image files (src/image_files.py), in worker
processes with a time limit per file: a file that raises, kills its worker or is not read within
DECODE_SECONDS is damaged, and a new worker goes on with the next file. So a run learns of a damaged
file before its first step, not hours in at the step that first draws it. Results are cached per
folder, signed by each file's name, size, modification and change times and inode, and by the
reader's version, so a folder is read again only when its files (or the reader) change; see
``check_folder``.

    python -m src.image_check <folder>     # lists every damaged image under a folder of class folders
"""
import fcntl
import hashlib
import json
import logging
import os
import queue
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from src.cache import cache_dir
from src.image_files import class_folders, printable
from src.model_utils.errors import DatasetError

logger = logging.getLogger(__name__)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHUNK = 256  # files a worker is given at a time
DECODE_SECONDS = 30.0  # a file not read in this time is damaged (a decoder caught in a loop, a hung mount)
START_SECONDS = 120.0  # a worker process that does not start in this time stops the check
PROGRESS_SECONDS = 10.0
SAVE_SECONDS = 60.0  # a long first check caches the folders it has finished this often
CACHE_FORMAT = 2  # verdicts of another reader (format 1: MindSpore's Decode) are not reused
_RESULT = "@@"  # marks the worker's result lines among anything else its libraries print
_READY = _RESULT + "ready"


def _decode_worker(list_file):
    """Read files of ``list_file`` (NUL-separated paths) for each "start end" line on stdin; print one
    result line per file as soon as it is known, so that a file that kills or stalls the process is the next one."""
    from src.image_files import ImageReadError, read_image

    paths = [os.fsdecode(p) for p in open(list_file, "rb").read().split(b"\0")]
    out = sys.stdout.buffer
    out.write(f"{_READY}\n".encode())
    out.flush()
    for line in sys.stdin:
        start, end = map(int, line.split())
        for i in range(start, end):
            try:
                read_image(paths[i])
                reason = ""
            except ImageReadError as err:
                reason = str(err)
            out.write(f"{_RESULT}{i}\t{reason}\n".encode("utf-8", "backslashreplace"))
            out.flush()


def _signal_name(number):
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


class _Lines:
    """Lines of a worker's stdout, each awaited for at most a given time."""

    def __init__(self, stream):
        self.fd, self.buffer = stream.fileno(), b""

    def next(self, seconds):
        """The next line (str, without its newline); "" at the end of the stream; None after ``seconds``."""
        deadline = time.monotonic() + seconds
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.fd], [], [], left)[0]:
                return None
            chunk = os.read(self.fd, 65536)
            if not chunk:
                return ""
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line.decode("utf-8", "replace")


class _Workers:
    """Reader processes, one per thread, each replaced after a file kills or stalls it."""

    def __init__(self, list_file, scratch, timeout):
        self.list_file, self.scratch, self.timeout = list_file, scratch, timeout
        self.local = threading.local()
        self.processes = []
        self.lock = threading.Lock()

    def _process(self):
        proc = getattr(self.local, "proc", None)
        if proc is None:
            env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [ROOT, os.environ.get("PYTHONPATH")])))
            proc = subprocess.Popen([sys.executable, "-m", "src.image_check", "--decode-worker", self.list_file],
                                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                    cwd=self.scratch, env=env, bufsize=0)
            self.local.proc, self.local.lines = proc, _Lines(proc.stdout)
            with self.lock:
                self.processes.append(proc)
            while (line := self.local.lines.next(START_SECONDS)) != _READY:
                if not line:  # "": it ended; None: it did not start in time
                    self._stop()
                    raise DatasetError(f"the image-checking process did not start; run python -m src.image_check "
                                       f"--decode-worker {self.list_file} by hand to see why")
        return proc

    def _stop(self):
        """End this thread's worker; its exit status (negative: the signal that ended it)."""
        proc, self.local.proc = self.local.proc, None
        if proc.poll() is None:
            proc.kill()
        return proc.wait()

    def check(self, start, end, damaged, done):
        """Read files start..end-1; record damaged ones as {index: reason}; put each index in ``done``."""
        while start < end:
            proc = self._process()
            proc.stdin.write(f"{start} {end}\n".encode())
            while start < end:
                line = self.local.lines.next(self.timeout)
                if line is None:  # file ``start`` stalls the reader
                    self._stop()
                    damaged[start] = f"the decoder did not finish in {self.timeout:g} s"
                elif not line:  # the worker died on file ``start``
                    code = self._stop()
                    if code >= 0:
                        raise DatasetError(f"the image-checking process stopped (exit code {code}) before a file "
                                           f"killed it; run python -m src.image_check --decode-worker "
                                           f"{self.list_file} by hand to see why")
                    damaged[start] = f"the decoder crashed on it ({_signal_name(-code)})"
                elif line.startswith(_RESULT):
                    index, reason = line[len(_RESULT):].split("\t", 1)
                    start = int(index)
                    if reason:
                        damaged[start] = reason
                else:
                    continue
                done.put(start)
                start += 1
                if line is None or not line:
                    break

    def close(self):
        for proc in self.processes:
            if proc.poll() is None:
                proc.stdin.close()
                try:
                    proc.wait(5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


def find_damaged(paths, workers=1, on_progress=None, timeout=DECODE_SECONDS):
    """{path: reason} for every file of ``paths`` that the reader cannot read within ``timeout`` seconds.

    ``on_progress(finished, damaged)`` is called every SAVE_SECONDS with a bytearray marking the
    indices of ``paths`` checked so far and {index: reason} of the damaged ones among them, so that a
    long check can keep what it has found if it is stopped.
    """
    if not paths:
        return {}
    with tempfile.TemporaryDirectory(prefix="image-check-") as scratch:
        list_file = os.path.join(scratch, "files")
        with open(list_file, "wb") as f:  # absolute: the workers run in the scratch folder
            f.write(b"\0".join(os.fsencode(os.path.abspath(p)) for p in paths))
        todo = queue.Queue()
        for start in range(0, len(paths), CHUNK):
            todo.put((start, min(start + CHUNK, len(paths))))
        damaged, done, pool = {}, queue.Queue(), _Workers(list_file, scratch, timeout)

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
    """What identifies a folder's files: names, sizes, modification and change times, devices and inodes.
    A file replaced by another of the same size and modification time (``touch -r``) still has a new change
    time, which no user command sets back."""
    sha = hashlib.sha256(f"format {CACHE_FORMAT}\n".encode())
    for name in names:
        try:
            st = os.stat(os.path.join(folder, name))
            sign = f"{st.st_size}\0{st.st_mtime_ns}\0{st.st_ctime_ns}\0{st.st_dev}\0{st.st_ino}"
        except OSError as err:  # gone since it was listed: never matches a cached verdict
            sign = f"error {err.errno}"
        sha.update(f"{name}\0{sign}\n".encode("utf-8", "surrogateescape"))
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


def check_folder(root, groups, workers=1, timeout=DECODE_SECONDS):
    """{relative path: reason} for the damaged images of ``groups`` ({sub-folder of root: [file names]}).

    A sub-folder whose files have the signature of its cached check (``_signature``) is not read again.
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

            found = find_damaged([os.path.join(root, *pair) for pair in where], workers, on_progress=record,
                                 timeout=timeout)
            index = {os.path.join(root, *pair): i for i, pair in enumerate(where)}
            record(bytearray(b"\1" * len(where)), {index[path]: reason for path, reason in found.items()})
            logger.info("checked %d images in %.1f s: %d damaged", len(where), time.monotonic() - started, len(found))
    return {os.path.normpath(os.path.join(sub, name)): reason
            for sub in groups for name, reason in cached[sub]["damaged"].items()}


def describe(damaged, root, limit=3):
    """'N damaged images in ROOT: a (why), b (why), c (why) and K more'."""
    names = sorted(damaged)
    listed = ", ".join(f"{printable(name)} ({damaged[name]})" for name in names[:limit])
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
    damaged = check_folder(argv[0], class_folders(argv[0]), workers=os.cpu_count() or 1)
    for name, reason in sorted(damaged.items()):
        print(f"{printable(os.path.join(argv[0], name))}\t{reason}")
    print(f"{len(damaged)} damaged", file=sys.stderr)
    return 1 if damaged else 0


if __name__ == "__main__":
    sys.exit(main())
