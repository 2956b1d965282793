"""Training augmentations that MindSpore 2.10 lacks or gets wrong; src/dataset.py wires them in.

* RandAugment (with timm's per-image magnitude noise ``mstd``), TrivialAugmentWide and the CIFAR-10 and
  SVHN AutoAugment policies: drawn with numpy, applied with MindSpore's deterministic image operations.
  MindSpore's own versions hand their Translate offsets in pixels to an Affine that takes fractions of
  the image side, so every image they translate comes out black (measured: 25% of the images for
  RandAugment n=2, 12-14% for the others); and a random operation called eagerly under a set seed
  repeats one draw, so vision.RandAugment cannot be given a per-image magnitude either. MindSpore's
  ImageNet AutoAugment policy has no Translate and is used as it is.
* RandomErasing with a float value, for the normalised image.
* Per-batch mixup / CutMix with smoothed soft labels, drawn from the batch's position alone.
"""
import functools
import math
import re

import mindspore.dataset as ds
import mindspore.dataset.vision as V
import numpy as np

MAX_MAGNITUDE = 30  # RandAugment and TrivialAugmentWide magnitudes: 31 levels, 0..30
AUTOAUGMENT_LEVELS = 9  # AutoAugment magnitudes: 10 levels, 0..9
AUTO_AUGMENT_FORMS = ("randaug-m<M>[-n<N>][-mstd<S>] (M 0-30, N >= 1 ops, default 2, S >= 0), "
                      "trivialaugwide, autoaug, autoaug-cifar10, autoaug-svhn")
_RANDAUG = re.compile(r"randaug-m(\d+)(?:-n(\d+))?(?:-mstd(\d+(?:\.\d+)?))?")


def _shift(pixels, side):
    """vision.Affine's translation (a fraction of the side) for a whole number of pixels, as torchvision."""
    return min(1.0, max(-1.0, int(pixels) / side))


# name -> MindSpore operation for a signed magnitude ``v`` on an image of height h and width w
# (shears in radians, translations in pixels, Posterize: bits dropped, Solarize: threshold below 255).
_OPERATIONS = {
    "Identity": lambda v, h, w: (lambda image: image),
    "ShearX": lambda v, h, w: V.Affine(0.0, [0.0, 0.0], 1.0, [math.degrees(v), 0.0]),
    "ShearY": lambda v, h, w: V.Affine(0.0, [0.0, 0.0], 1.0, [0.0, math.degrees(v)]),
    "TranslateX": lambda v, h, w: V.Affine(0.0, [_shift(v, w), 0.0], 1.0, [0.0, 0.0]),
    "TranslateY": lambda v, h, w: V.Affine(0.0, [0.0, _shift(v, h)], 1.0, [0.0, 0.0]),
    "Rotate": lambda v, h, w: V.Rotate(v),
    "Brightness": lambda v, h, w: V.AdjustBrightness(1 + v),
    "Color": lambda v, h, w: V.AdjustSaturation(1 + v),
    "Contrast": lambda v, h, w: V.AdjustContrast(1 + v),
    "Sharpness": lambda v, h, w: V.AdjustSharpness(1 + v),
    "Posterize": lambda v, h, w: V.Posterize(8 - round(v)),
    "Solarize": lambda v, h, w: V.Solarize(255.0 - v),
    "AutoContrast": lambda v, h, w: V.AutoContrast(),
    "Equalize": lambda v, h, w: V.Equalize(),
    "Invert": lambda v, h, w: V.Invert(),
}


def _space(shear, translate_x, translate_y, rotate, enhance, posterize):
    """name -> (magnitude at the top level, signed): the operation spaces of torchvision and MindSpore."""
    signed = {"ShearX": shear, "ShearY": shear, "TranslateX": translate_x, "TranslateY": translate_y,
              "Rotate": rotate, **dict.fromkeys(("Brightness", "Color", "Contrast", "Sharpness"), enhance)}
    return {**{name: (top, True) for name, top in signed.items()}, "Posterize": (posterize, False),
            "Solarize": (255.0, False), **dict.fromkeys(("Identity", "AutoContrast", "Equalize"), (0.0, False))}


def randaugment_space(height, width):
    """RandAugment's (and AutoAugment's) space; translations up to 150/331 of the side."""
    return _space(0.3, 150 / 331 * width, 150 / 331 * height, 30.0, 0.9, 4.0)


def wide_space():
    """TrivialAugmentWide's wider space; translations up to 32 pixels."""
    return _space(0.99, 32.0, 32.0, 135.0, 0.99, 6.0)


class _Policy:
    """Draws a policy's steps from a numpy Generator seeded from MindSpore's dataset seed."""

    def __init__(self, seed=None):
        self._rng = np.random.default_rng(ds.config.get_seed() if seed is None else seed)

    def _step(self, image, space, name, level):
        """``name`` at ``level`` (0..1) of its top magnitude, negated half the time when signed."""
        top, signed = space[name]
        value = -top * level if signed and self._rng.random() < 0.5 else top * level
        return _OPERATIONS[name](value, *image.shape[:2])(image)


class RandAugment(_Policy):
    """RandAugment (Cubuk et al. 2019): ``num_ops`` operations drawn uniformly, at one magnitude of 30.

    ``std`` > 0 draws the magnitude per image from N(magnitude, std), rounded and clipped to 0..30.
    """

    def __init__(self, num_ops, magnitude, std=0.0, seed=None):
        super().__init__(seed)
        self.num_ops, self.magnitude, self.std = num_ops, magnitude, std

    def draw_magnitude(self):
        if not self.std:
            return self.magnitude
        return int(np.clip(np.rint(self._rng.normal(self.magnitude, self.std)), 0, MAX_MAGNITUDE))

    def __call__(self, image):
        space = randaugment_space(*image.shape[:2])
        level = self.draw_magnitude() / MAX_MAGNITUDE
        for name in self._rng.choice(list(space), self.num_ops):
            image = self._step(image, space, name, level)
        return image


class TrivialAugmentWide(_Policy):
    """TrivialAugment (Muller & Hutter 2021): one operation at a uniformly drawn magnitude, wide space."""

    def __call__(self, image):
        space = wide_space()
        name = self._rng.choice(list(space))
        return self._step(image, space, name, self._rng.integers(MAX_MAGNITUDE + 1) / MAX_MAGNITUDE)


class AutoAugment(_Policy):
    """AutoAugment (Cubuk et al. 2018): one sub-policy drawn uniformly, each of its steps applied with its
    probability; a step is (name, probability, magnitude level 0..9 or None)."""

    def __init__(self, policy, seed=None):
        super().__init__(seed)
        self.policy = policy

    def __call__(self, image):
        space = {**randaugment_space(*image.shape[:2]), "Invert": (0.0, False)}
        for name, probability, level in self.policy[self._rng.integers(len(self.policy))]:
            if self._rng.random() < probability:
                image = self._step(image, space, name, (level or 0) / AUTOAUGMENT_LEVELS)
        return image


# The learned policies of the AutoAugment paper, as torchvision and MindSpore list them.
CIFAR10_POLICY = (
    (("Invert", 0.1, None), ("Contrast", 0.2, 6)), (("Rotate", 0.7, 2), ("TranslateX", 0.3, 9)),
    (("Sharpness", 0.8, 1), ("Sharpness", 0.9, 3)), (("ShearY", 0.5, 8), ("TranslateY", 0.7, 9)),
    (("AutoContrast", 0.5, None), ("Equalize", 0.9, None)), (("ShearY", 0.2, 7), ("Posterize", 0.3, 7)),
    (("Color", 0.4, 3), ("Brightness", 0.6, 7)), (("Sharpness", 0.3, 9), ("Brightness", 0.7, 9)),
    (("Equalize", 0.6, None), ("Equalize", 0.5, None)), (("Contrast", 0.6, 7), ("Sharpness", 0.6, 5)),
    (("Color", 0.7, 7), ("TranslateX", 0.5, 8)), (("Equalize", 0.3, None), ("AutoContrast", 0.4, None)),
    (("TranslateY", 0.4, 3), ("Sharpness", 0.2, 6)), (("Brightness", 0.9, 6), ("Color", 0.2, 8)),
    (("Solarize", 0.5, 2), ("Invert", 0.0, None)), (("Equalize", 0.2, None), ("AutoContrast", 0.6, None)),
    (("Equalize", 0.2, None), ("Equalize", 0.6, None)), (("Color", 0.9, 9), ("Equalize", 0.6, None)),
    (("AutoContrast", 0.8, None), ("Solarize", 0.2, 8)), (("Brightness", 0.1, 3), ("Color", 0.7, 0)),
    (("Solarize", 0.4, 5), ("AutoContrast", 0.9, None)), (("TranslateY", 0.9, 9), ("TranslateY", 0.7, 9)),
    (("AutoContrast", 0.9, None), ("Solarize", 0.8, 3)), (("Equalize", 0.8, None), ("Invert", 0.1, None)),
    (("TranslateY", 0.7, 9), ("AutoContrast", 0.9, None)),
)
SVHN_POLICY = (
    (("ShearX", 0.9, 4), ("Invert", 0.2, None)), (("ShearY", 0.9, 8), ("Invert", 0.7, None)),
    (("Equalize", 0.6, None), ("Solarize", 0.6, 6)), (("Invert", 0.9, None), ("Equalize", 0.6, None)),
    (("Equalize", 0.6, None), ("Rotate", 0.9, 3)), (("ShearX", 0.9, 4), ("AutoContrast", 0.8, None)),
    (("ShearY", 0.9, 8), ("Invert", 0.4, None)), (("ShearY", 0.9, 5), ("Solarize", 0.2, 6)),
    (("Invert", 0.9, None), ("AutoContrast", 0.8, None)), (("Equalize", 0.6, None), ("Rotate", 0.9, 3)),
    (("ShearX", 0.9, 4), ("Solarize", 0.3, 3)), (("ShearY", 0.8, 8), ("Invert", 0.7, None)),
    (("Equalize", 0.9, None), ("TranslateY", 0.6, 6)), (("Invert", 0.9, None), ("Equalize", 0.6, None)),
    (("Contrast", 0.3, 3), ("Rotate", 0.8, 4)), (("Invert", 0.8, None), ("TranslateY", 0.0, 2)),
    (("ShearY", 0.7, 6), ("Solarize", 0.4, 8)), (("Invert", 0.6, None), ("Rotate", 0.8, 4)),
    (("ShearY", 0.3, 7), ("TranslateX", 0.9, 3)), (("ShearX", 0.1, 6), ("Invert", 0.6, None)),
    (("Solarize", 0.7, 2), ("TranslateY", 0.6, 7)), (("ShearY", 0.8, 4), ("Invert", 0.8, None)),
    (("ShearX", 0.7, 9), ("TranslateY", 0.8, 3)), (("ShearY", 0.8, 5), ("AutoContrast", 0.7, None)),
    (("ShearX", 0.7, 2), ("Invert", 0.1, None)),
)


def auto_augment_factory(policy):
    """A no-argument builder of the operation an auto_augment string names; None if it names none.

    The operation is built when the pipeline is, so that it takes the seed set by then.
    """
    named = {"trivialaugwide": TrivialAugmentWide,
             "autoaug": lambda: V.AutoAugment(V.AutoAugmentPolicy.IMAGENET),
             "autoaug-cifar10": lambda: AutoAugment(CIFAR10_POLICY),
             "autoaug-svhn": lambda: AutoAugment(SVHN_POLICY)}
    if policy in named:
        return named[policy]
    match = _RANDAUG.fullmatch(policy)
    if not match or int(match[1]) > MAX_MAGNITUDE or int(match[2] or 2) < 1:
        return None
    return functools.partial(RandAugment, int(match[2] or 2), int(match[1]), float(match[3] or 0))


def random_erasing(prob, scale, ratio, value, max_attempts):
    """MindSpore's RandomErasing, writing ``value`` (any float) into the normalised CHW image.

    Its argument check takes only 0-255 integers (uint8 pixels) although the operation writes any
    number, so the value is set after the check.
    """
    erasing = V.RandomErasing(prob, tuple(scale), tuple(ratio), 0, inplace=False, max_attempts=max_attempts)
    erasing.value = float(value)
    return erasing


def _blend(array, lam):
    """Each row weighted lam, plus its mirror in the batch (row B-1-i, timm's "flip" mode) weighted 1-lam."""
    lam = np.float32(lam)
    return lam * array + (1 - lam) * array[::-1]


def mixup(images, labels, lam):
    """Mixup (Zhang et al. 2018) of NCHW images and soft labels with their mirrors in the batch."""
    return _blend(images, lam), _blend(labels, lam)


def cutmix(images, labels, lam, rng):
    """CutMix (Yun et al. 2019): a box of about 1-lam of the area pasted from the mirror image, in place;
    the labels mix by the box's area after clipping at the border (timm's rand_bbox)."""
    height, width = images.shape[2:]
    cut = math.sqrt(1 - lam)
    centre_y, centre_x = rng.integers(height), rng.integers(width)
    top, bottom = np.clip([centre_y - int(height * cut) // 2, centre_y + int(height * cut) // 2], 0, height)
    left, right = np.clip([centre_x - int(width * cut) // 2, centre_x + int(width * cut) // 2], 0, width)
    images[:, :, top:bottom, left:right] = images[::-1, :, top:bottom, left:right].copy()
    return images, _blend(labels, 1 - (bottom - top) * (right - left) / (height * width))


class MixBatch:
    """``per_batch_map`` of a training batch: int labels to smoothed one-hot rows, then CutMix or mixup.

    With ``cutmix`` > 0 a batch gets CutMix with probability ``cutmix_prob``, else mixup when ``mixup``
    > 0, else stays as it is. From epoch ``off_epoch`` (1-based; 0 = never) no batch is mixed, and the
    labels keep the same type. Each draw depends only on (seed, epoch, batch number): a pipeline replayed
    to resume a run (set_init_step) mixes every batch as the first run did.
    """

    def __init__(self, class_num, smoothing=0.0, mixup=0.0, cutmix=0.0, cutmix_prob=1.0, off_epoch=0, seed=None):
        self.class_num, self.smoothing = class_num, smoothing
        self.mixup, self.cutmix, self.cutmix_prob, self.off_epoch = mixup, cutmix, cutmix_prob, off_epoch
        self.seed = ds.config.get_seed() if seed is None else seed

    def soft_labels(self, labels):
        """The model zoo's label smoothing: 1 - eps on the true class, eps / (C - 1) on the others."""
        if labels.max() >= self.class_num:
            raise ValueError(f"label {labels.max()} >= class_num {self.class_num}: set class_num to the "
                             "classifier's number of classes")
        rows = np.full((len(labels), self.class_num), self.smoothing / (self.class_num - 1), np.float32)
        rows[np.arange(len(labels)), labels] = 1 - self.smoothing
        return rows

    def __call__(self, images, labels, batch_info):
        images, labels = np.stack(images), self.soft_labels(np.asarray(labels))
        epoch = batch_info.get_epoch_num()
        if self.off_epoch and epoch + 1 >= self.off_epoch:
            return images, labels
        rng = np.random.default_rng([self.seed, epoch, batch_info.get_batch_num()])
        if self.cutmix and rng.random() < self.cutmix_prob:
            return cutmix(images, labels, rng.beta(self.cutmix, self.cutmix), rng)
        if self.mixup:
            return mixup(images, labels, rng.beta(self.mixup, self.mixup))
        return images, labels
