"""Boxes blanked on the normalised CHW image: random erasing and Cutout, drawn from a numpy Generator.

Random erasing (Zhong et al. 2017) with mindcv's meaning of its keys (MindSpore's RandomErasing, which
mindcv uses): up to ``max_attempts`` tries of an area share uniform on ``scale`` and an aspect ratio
(width / height) on ``ratio``, uniform as in mindcv and the paper, or log-uniform as in timm
(``aspect`` "log_uniform"); the box fills with ``value`` ("const"), a normal draw per channel
("rand") or per pixel ("pixel"), timm's ``re_mode``.
"""
import math

import numpy as np

ERASE_MODES = ("const", "rand", "pixel")
ASPECT_DRAWS = ("uniform", "log_uniform")


class RandomErasing:
    def __init__(self, prob, scale, ratio, value=0.0, max_attempts=10, mode="const", aspect="uniform"):
        self.prob, self.scale, self.ratio, self.value = prob, tuple(scale), tuple(ratio), value
        self.max_attempts, self.mode, self.aspect = max_attempts, mode, aspect

    def draw_box(self, height, width, rng):
        """(top, left, box height, box width) of one erasure, or None when no try fits inside the image."""
        for _ in range(self.max_attempts):
            area = rng.uniform(*self.scale) * height * width
            if self.aspect == "log_uniform":
                aspect = math.exp(rng.uniform(math.log(self.ratio[0]), math.log(self.ratio[1])))
            else:
                aspect = rng.uniform(*self.ratio)
            box_w = int(round(math.sqrt(area * aspect)))
            box_h = int(round(math.sqrt(area / aspect)))
            if 0 < box_h < height and 0 < box_w < width:
                return rng.integers(height - box_h + 1), rng.integers(width - box_w + 1), box_h, box_w
        return None

    def __call__(self, image, rng):
        """Erase one box of the CHW float ``image`` in place with probability ``prob``."""
        if rng.random() >= self.prob:
            return image
        box = self.draw_box(*image.shape[1:], rng)
        if box is None:
            return image
        top, left, box_h, box_w = box
        channels = image.shape[0]
        if self.mode == "pixel":
            fill = rng.standard_normal((channels, box_h, box_w), dtype=np.float32)
        elif self.mode == "rand":
            fill = rng.standard_normal((channels, 1, 1), dtype=np.float32)
        else:
            fill = np.float32(self.value)
        image[:, top:top + box_h, left:left + box_w] = fill
        return image


class Cutout:
    """Cutout (DeVries & Taylor 2017): a square of side ``length`` around a uniformly drawn centre, clipped at
    the border, set to 0 (the data set's mean on the normalised image)."""

    def __init__(self, length):
        self.length = length

    def __call__(self, image, rng):
        height, width = image.shape[1:]
        centre_y, centre_x = rng.integers(height), rng.integers(width)
        half = self.length // 2
        top, bottom = max(0, centre_y - half), min(height, centre_y - half + self.length)
        left, right = max(0, centre_x - half), min(width, centre_x - half + self.length)
        image[:, top:bottom, left:right] = 0.0
        return image
