"""Mixup and CutMix of a batch with mindcv's meaning of ``mixup``, ``cutmix`` and ``cutmix_prob``.

A batch is mixed with probability ``cutmix_prob``; a mixed batch gets CutMix when only ``cutmix`` > 0,
mixup when only ``mixup`` > 0, and with both one of the two at even odds (mindcv's fixed switch_prob
0.5). Each image is mixed with its partner in the batch, the image at the mirrored position (timm's
"batch" mode); in a batch of odd size, where the middle image would be its own mirror, with the next
image instead (cyclically). Labels are the model zoo's smoothed one-hot rows, mixed with the same weight.
"""
import math

import numpy as np


def partners(batch_size):
    """Index of each image's mixing partner."""
    if batch_size % 2 == 0:
        return np.arange(batch_size)[::-1]
    return np.roll(np.arange(batch_size), -1)


def smoothed_one_hot(labels, class_num, smoothing):
    """1 - eps on the true class, eps / (C - 1) on the others (the model zoo's CrossEntropySmooth)."""
    if labels.max() >= class_num:
        raise ValueError(f"label {labels.max()} >= class_num {class_num}: set class_num to the classifier's "
                         "number of classes")
    rows = np.full((len(labels), class_num), smoothing / (class_num - 1), np.float32)
    rows[np.arange(len(labels)), labels] = 1 - smoothing
    return rows


def mixup(images, labels, lam):
    """Mixup (Zhang et al. 2018): each image and label weighted lam, its partner's 1 - lam."""
    order, lam = partners(len(images)), np.float32(lam)
    return lam * images + (1 - lam) * images[order], lam * labels + (1 - lam) * labels[order]


def cutmix(images, labels, lam, rng):
    """CutMix (Yun et al. 2019): a box of about 1 - lam of the area pasted from the partner image; the labels
    mix by the box's area after clipping at the border (timm's rand_bbox with correct_lam)."""
    height, width = images.shape[2:]
    cut = math.sqrt(1 - lam)
    cut_h, cut_w = int(height * cut), int(width * cut)
    centre_y, centre_x = rng.integers(height), rng.integers(width)
    top, bottom = np.clip([centre_y - cut_h // 2, centre_y + cut_h // 2], 0, height)
    left, right = np.clip([centre_x - cut_w // 2, centre_x + cut_w // 2], 0, width)
    order = partners(len(images))
    images[:, :, top:bottom, left:right] = images[order, :, top:bottom, left:right]
    kept = np.float32(1 - (bottom - top) * (right - left) / (height * width))
    return images, kept * labels + (1 - kept) * labels[order]


class BatchMixer:
    """Mixes a batch as mindcv's Mixup in "batch" mode does, from a Generator handed to each call."""

    SWITCH_PROB = 0.5

    def __init__(self, mixup_alpha, cutmix_alpha, prob):
        self.mixup_alpha, self.cutmix_alpha, self.prob = mixup_alpha, cutmix_alpha, prob

    def draw(self, rng):
        """("cutmix" | "mixup" | None, lam) for one batch."""
        if rng.random() >= self.prob:
            return None, 1.0
        if self.mixup_alpha > 0 and self.cutmix_alpha > 0:
            use_cutmix = rng.random() < self.SWITCH_PROB
        else:
            use_cutmix = self.cutmix_alpha > 0
        alpha = self.cutmix_alpha if use_cutmix else self.mixup_alpha
        return ("cutmix" if use_cutmix else "mixup"), rng.beta(alpha, alpha)

    def __call__(self, images, soft_labels, rng):
        kind, lam = self.draw(rng)
        if kind == "cutmix":
            return cutmix(images, soft_labels, lam, rng)
        if kind == "mixup":
            return mixup(images, soft_labels, lam)
        return images, soft_labels
