"""What predict.py reports: the results file (one row per image), the progress line and the summary."""
import csv
import json
import logging
import os
import re
import time
from contextlib import ExitStack

from src.model_utils.atomic_write import atomic_open
from src.model_utils.errors import UserInputError

logger = logging.getLogger(__name__)
RESULT_FORMATS = (".csv", ".json", ".jsonl")
_LONE_SURROGATE = re.compile("[\udc80-\udcff]")  # a byte of a file name that is not UTF-8 (os.fsdecode)
PROGRESS_SECONDS = 10.0


class ResultsFile:
    """One row per image, written as the images are classified, under a temporary name until complete.

    ``.csv``: file, status, then class_k, name_k, probability_k for each of the top classes k = 1, 2, ...
    ``.json``: a list of {"file", "status", "top": [{"class", "name", "probability"}]};
    ``.jsonl``: one such object per line. A skipped image has status "skipped" and its reason.
    A file name that is not UTF-8 round-trips: a CSV holds its own bytes, JSON its bytes as \\udcNN escapes
    (Python's ``os.fsencode(json.load(...)["file"])`` gives them back).
    """

    def __init__(self, path, top):
        extension = os.path.splitext(path)[1].lower()
        if extension not in RESULT_FORMATS:
            raise UserInputError(f"predictions_file {path}: name a .csv, .json or .jsonl file")
        folder = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(folder):
            raise UserInputError(f"predictions_file {path}: folder {folder} not found")
        if os.path.isdir(path):
            raise UserInputError(f"predictions_file {path} is a folder: name a file in it, such as "
                                 f"{os.path.join(path, 'predictions' + extension)}")
        if not os.access(folder, os.W_OK | os.X_OK):
            raise UserInputError(f"predictions_file {path}: folder {folder} is not writable; choose another")
        self.path, self.extension, self.top, self.rows = path, extension, top, 0
        self._stack = ExitStack()
        self._file = None

    def __enter__(self):
        self._file = self._stack.enter_context(atomic_open(self.path, "w", newline="", encoding="utf-8",
                                                           errors="surrogateescape"))
        if self.extension == ".csv":
            self._csv = csv.writer(self._file)
            header = ["file", "status"]
            for rank in range(1, self.top + 1):
                header += [f"class_{rank}", f"name_{rank}", f"probability_{rank}"]
            self._csv.writerow(header)
        elif self.extension == ".json":
            self._file.write("[")
        return self

    def write(self, path, top, reason=None):
        if self.extension == ".csv":
            row = [path, "ok" if top else f"skipped: {reason}"]
            for index, name, prob in top or []:
                row += [index, name, f"{prob:.6f}"]
            self._csv.writerow(row)
        else:
            record = {"file": path, "status": "ok" if top else "skipped"}
            if top:
                record["top"] = [{"class": i, "name": name, "probability": round(p, 6)} for i, name, p in top]
            else:
                record["reason"] = reason
            text = _LONE_SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", json.dumps(record, ensure_ascii=False))
            if self.extension == ".json":
                text = ("\n" if self.rows == 0 else ",\n") + text
            else:
                text += "\n"
            self._file.write(text)
        self.rows += 1

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None and self.extension == ".json":
            self._file.write("\n]\n")
        return self._stack.__exit__(exc_type, exc, tb)


class Progress:
    """A log line every PROGRESS_SECONDS: images done of all, images/s, time left."""

    def __init__(self, total, clock=time.monotonic):
        self.total, self.clock = total, clock
        self.started = self.last = clock()
        self.done = 0

    def step(self):
        self.done += 1
        now = self.clock()
        if now - self.last >= PROGRESS_SECONDS and self.done < self.total:
            self.last = now
            rate = self.done / (now - self.started)
            left = (self.total - self.done) / rate
            logger.info("predicted %d/%d images, %.1f img/s, %d:%02d left", self.done, self.total, rate,
                        left // 60, left % 60)

    def rate(self):
        elapsed = self.clock() - self.started
        return self.done / elapsed if elapsed > 0 else 0.0
