"""The one reader of image files: which entries of a folder are images, and how a file becomes pixels.

The damaged-image check (src/image_check.py), the class-folder pipelines (src/dataset.py), predict.py
and preprocess.py all list and read images here, so a file the check approves is exactly a file the
pipelines read, index for index, decoded the same way.

* An image is a regular file (a symlink counts by what it points to: a broken one, a folder, a FIFO
  or a device is not an image) whose name ends in one of IMAGE_EXTENSIONS, in any case.
* ``read_image`` decodes with Pillow and turns every mode into 8-bit RGB by scaling, never clipping:
  16-bit grey (``I;16``) by 255/65535; 32-bit integers (``I``) as 16-bit when they fit, else stretched
  from their minimum to their maximum; floats (``F``) from [0, 1] when they fit, else stretched;
  transparency (``RGBA``, ``LA``, ``PA``, palette with a transparent index) composited over a background;
  everything else (``1``, ``L``, ``P``, ``CMYK``, ``YCbCr``, ...) by Pillow's own conversion.
* A file larger than MAX_PIXELS, one Pillow cannot decode, or one with non-finite values is an
  ``ImageReadError`` whose message says why in a few words.

This module imports no MindSpore, so the check's worker processes start in a fraction of a second.
"""
import os
import stat
import warnings

import numpy as np
from PIL import Image, UnidentifiedImageError

IMAGE_EXTENSIONS = (".jpeg", ".jpg", ".png", ".bmp", ".tif", ".tiff")
MAX_PIXELS = 89_478_485  # Pillow's own warning limit (about 9,500 x 9,500): a 3-channel decode of 256 MiB
WHITE = (255, 255, 255)  # what transparent pixels are composited over unless the caller says otherwise
_SIXTEEN_BIT = ("I;16", "I;16L", "I;16B", "I;16N")
_ALPHA = ("RGBA", "RGBa", "LA", "La", "PA")

Image.MAX_IMAGE_PIXELS = None  # the limit is MAX_PIXELS, checked before decoding, with a message of ours


class ImageReadError(ValueError):
    """A file the reader cannot turn into pixels; ``str()`` is the reason, without the path."""


def is_image_name(name):
    return name.lower().endswith(IMAGE_EXTENSIONS)


def is_image_file(path):
    """An image name on a regular file (after symlinks)."""
    try:
        return is_image_name(os.path.basename(path)) and stat.S_ISREG(os.stat(path).st_mode)
    except (OSError, ValueError):
        return False


def list_images(folder):
    """The image files of ``folder`` (names, sorted by their bytes), sub-folders not entered."""
    return sorted((name for name in os.listdir(folder) if is_image_file(os.path.join(folder, name))), key=os.fsencode)


def class_folder_names(root):
    """The class folders of ``root`` (every sub-folder), sorted by their bytes: the classes in label order."""
    return sorted((d for d in os.listdir(root) if os.path.isdir(os.path.join(root, d))), key=os.fsencode)


def class_folders(root):
    """{class folder: [image names]} of a folder of class folders, both sorted; every sub-folder is a class,
    with or without images. Which classes and files a class-folder pipeline reads, in its order."""
    return {sub: list_images(os.path.join(root, sub)) for sub in class_folder_names(root)}


def printable(path):
    """``path`` for a terminal or a log line: bytes that are not UTF-8 shown as \\xNN."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def _scaled(values, nominal_high):
    """Values on [0, nominal_high] to 0-255; others stretched from their minimum to their maximum."""
    values = values.astype(np.float64)
    if not np.isfinite(values).all():
        raise ImageReadError("its pixels hold values that are not finite numbers")
    low, high = (0.0, float(nominal_high)) if values.size == 0 or (
        values.min() >= 0 and values.max() <= nominal_high) else (values.min(), values.max())
    if high == low:
        return np.zeros(values.shape, np.uint8)
    return np.rint((values - low) * (255.0 / (high - low))).astype(np.uint8)


def _to_rgb(image, background):
    """An opened image of any mode as HxWx3 uint8."""
    mode = image.mode
    if mode in _SIXTEEN_BIT or mode == "I":
        grey = _scaled(np.asarray(image), 65535)
    elif mode == "F":
        grey = _scaled(np.asarray(image), 1.0)
    else:
        if (mode == "P" and "transparency" in image.info) or mode in _ALPHA:
            rgba = image.convert("RGBA")
            canvas = Image.new("RGBA", rgba.size, background + (255,))
            return np.asarray(Image.alpha_composite(canvas, rgba).convert("RGB"))
        return np.asarray(image if mode == "RGB" else image.convert("RGB"))
    return np.repeat(grey[:, :, None], 3, axis=2)


def read_image(path, background=WHITE):
    """The pixels of an image file as a HxWx3 uint8 RGB array; ``ImageReadError`` says why it cannot be read.

    ``background``: the RGB colour that transparent pixels are composited over.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Pillow's warnings about odd metadata: the pixels decide
            with Image.open(path) as image:
                width, height = image.size
                if width * height > MAX_PIXELS:
                    raise ImageReadError(f"too large to read: {width} x {height} pixels, more than {MAX_PIXELS:,}")
                if width == 0 or height == 0:
                    raise ImageReadError(f"it has no pixels ({width} x {height})")
                image.load()
                pixels = _to_rgb(image, background)
    except ImageReadError:
        raise
    except Exception as err:  # noqa: BLE001  Pillow's plugins raise many kinds of error on malformed data
        raise ImageReadError(_reason(err)) from err
    return np.ascontiguousarray(pixels)


def _reason(err):
    """A few words on why Pillow failed, without the file's name (the caller names it)."""
    if isinstance(err, FileNotFoundError):
        return "file not found"
    if isinstance(err, PermissionError):
        return "permission denied"
    if isinstance(err, UnidentifiedImageError):
        return "not an image in a format the reader knows (empty, or another kind of file)"
    text = str(err).strip().splitlines()[0].strip() if str(err).strip() else type(err).__name__
    return f"cannot decode it ({text})"
