"""Auto-augment policies with the meaning of mindcv 0.3.0's ``auto_augment`` strings (timm's syntax).

* ``randaug-m<M>[-n<N>][-mstd<S>][-mmax<X>][-inc1][-w0]``: RandAugment. N operations (default 2) drawn
  uniformly with replacement (weighted without replacement with ``w0``) from 14; each is applied with
  probability 0.5, at a magnitude drawn per operation from N(M, S) (S > 100: uniform on [0, M]; mindcv's
  default S is 0.5), clipped to [0, X] (default 10). M counts on mindcv's and timm's 0-10 scale.
* ``trivialaugwide[-m<M>]``: TrivialAugmentWide, one operation always applied at a magnitude uniform on
  [0, M] of the wider ranges' 0-31 scale (default and top 31; mindcv scales by M instead, so that its M
  changes nothing); as in mindcv its translations (up to 0.15 of the side) are not negated, so they
  always move the image right or down.
* ``autoaug[-mstd<S>]`` / ``autoaugr``: the ImageNet AutoAugment policy (magnitude noise S, default 0.5).
* ``autoaug-cifar10`` / ``autoaug-svhn`` (this repository's): torchvision's learned CIFAR-10 and SVHN
  policies, their magnitude bins 0..9 spread over the 0-10 scale.

An operation's argument at a magnitude follows mindcv's level functions, with two deliberate
exceptions where mindcv hands the argument to MindSpore in a unit its own ranges do not mean: shears
are shear factors (0.3 at M 10, about 17 degrees, as in timm), where mindcv's RandomAffine takes
them as degrees; and every operation fills with the data set's mean and interpolates bilinearly, as
mindcv's transforms factory sets up. The draws come from a numpy Generator handed to each call (the
training batch map seeds it per batch), so a run and its resumed copy augment alike.
"""
import math
import re

import mindspore.dataset.vision as V
import numpy as np

LEVEL_MAX = 10  # mindcv's and timm's magnitude scale (_LEVEL_DENOM)
WIDE_LEVEL_MAX = 31  # TrivialAugmentWide's default top magnitude
UNIFORM_STD = 100  # an mstd above this draws the magnitude uniformly on [0, M]
DEFAULT_MSTD = 0.5  # mindcv's default magnitude noise for randaug and autoaug
POLICY_FORMS = ("randaug-m<M>[-n<N>][-mstd<S>][-mmax<X>][-inc1][-w0] (M on the 0-10 scale), "
                "trivialaugwide[-m<M>], autoaug[-mstd<S>], autoaugr, autoaug-cifar10, autoaug-svhn")

RANDAUG_OPS = ("AutoContrast", "Equalize", "Invert", "Rotate", "Posterize", "Solarize", "Color", "Contrast",
               "Brightness", "Sharpness", "ShearX", "ShearY", "TranslateX", "TranslateY")
INCREASING = {"Posterize": "PosterizeIncreasing", "Solarize": "SolarizeIncreasing", "Color": "ColorIncreasing",
              "Contrast": "ContrastIncreasing", "Brightness": "BrightnessIncreasing",
              "Sharpness": "SharpnessIncreasing"}
# timm's and mindcv's choice weights "w0" (Invert never drawn)
CHOICE_WEIGHTS = {"Rotate": 0.3, "ShearX": 0.2, "ShearY": 0.2, "TranslateX": 0.1, "TranslateY": 0.1, "Color": 0.025,
                  "Sharpness": 0.025, "AutoContrast": 0.025, "Solarize": 0.005, "Contrast": 0.005,
                  "Brightness": 0.005, "Equalize": 0.005, "Posterize": 0.005, "Invert": 0.0}


def _signed(value, rng):
    return -value if rng.random() < 0.5 else value


def _by_range(f, wide, narrow_top, wide_top, rng):
    return _signed((wide_top if wide else narrow_top) * f, rng)


# name -> argument at ``f`` = magnitude / scale top (mindcv's level functions); ``wide``: TrivialAugmentWide.
# Rotate: degrees; Shear: shear factor; Translate: fraction of the side; enhancements: blend factor;
# Posterize: the level argument b, the image keeps max(8 - b, 1) bits; Solarize: threshold (pixels >= it invert).
LEVEL_ARGUMENT = {
    "Rotate": lambda f, wide, rng: _by_range(f, wide, 30.0, 135.0, rng),
    "ShearX": lambda f, wide, rng: _by_range(f, wide, 0.3, 0.99, rng),
    "ShearY": lambda f, wide, rng: _by_range(f, wide, 0.3, 0.99, rng),
    "TranslateX": lambda f, wide, rng: 0.15 * f if wide else _signed(0.45 * f, rng),
    "TranslateY": lambda f, wide, rng: 0.15 * f if wide else _signed(0.45 * f, rng),
    "Posterize": lambda f, wide, rng: int(f * 6) + 2 if wide else int(f * 4),
    "PosterizeIncreasing": lambda f, wide, rng: 4 - int(f * 4),
    "PosterizeOriginal": lambda f, wide, rng: int(f * 6) + 2 if wide else int(f * 4) + 4,
    "Solarize": lambda f, wide, rng: int(f * 255),
    "SolarizeIncreasing": lambda f, wide, rng: 255 - int(f * 255),
    **{name: (lambda f, wide, rng: f * 1.99 + 0.01 if wide else f * 1.8 + 0.1)
       for name in ("Color", "Contrast", "Brightness", "Sharpness")},
    **{f"{name}Increasing": (lambda f, wide, rng: max(0.1, 1.0 + _signed(0.9 * f, rng)))
       for name in ("Color", "Contrast", "Brightness", "Sharpness")},
}


def _affine(translate=(0.0, 0.0), shear=(0.0, 0.0)):
    return lambda fill: V.Affine(0.0, list(translate), 1.0, list(shear), V.Inter.BILINEAR, fill)


def _shear_degrees(factor):
    return math.degrees(math.atan(factor))


# name -> (argument -> (fill -> MindSpore operation on a uint8 HWC image))
_APPLY = {
    "Rotate": lambda a: lambda fill: V.Rotate(a, V.Inter.BILINEAR, fill_value=fill),
    "ShearX": lambda a: _affine(shear=(_shear_degrees(a), 0.0)),
    "ShearY": lambda a: _affine(shear=(0.0, _shear_degrees(a))),
    "TranslateX": lambda a: _affine(translate=(a, 0.0)),
    "TranslateY": lambda a: _affine(translate=(0.0, a)),
    **{name: (lambda a: lambda fill: V.Posterize(max(8 - a, 1)))
       for name in ("Posterize", "PosterizeIncreasing", "PosterizeOriginal")},
    **{name: (lambda a: lambda fill: V.Solarize(float(a))) for name in ("Solarize", "SolarizeIncreasing")},
    **{name: (lambda a, op=op: lambda fill: op(a))
       for base, op in (("Color", V.AdjustSaturation), ("Contrast", V.AdjustContrast),
                        ("Brightness", V.AdjustBrightness), ("Sharpness", V.AdjustSharpness))
       for name in (base, f"{base}Increasing")},
    "AutoContrast": lambda a: lambda fill: V.AutoContrast(),
    "Equalize": lambda a: lambda fill: V.Equalize(),
    "Invert": lambda a: lambda fill: V.Invert(),
}


class AugmentOp:
    """One operation of a policy: applied with probability ``prob`` at magnitude ``magnitude``.

    With ``std`` > 0 each call draws the magnitude from N(magnitude, std) (``std`` inf: uniform on
    [0, magnitude]) and clips it to [0, ``level_max``]; the argument is the level function at
    magnitude / ``scale`` (10, or 31 for TrivialAugmentWide's wider ranges).
    """

    def __init__(self, name, prob, magnitude, std=0.0, level_max=LEVEL_MAX, wide=False):
        self.name, self.prob, self.magnitude, self.std = name, prob, magnitude, std
        self.level_max, self.wide = level_max, wide
        self.scale = WIDE_LEVEL_MAX if wide else LEVEL_MAX

    def draw_magnitude(self, rng):
        magnitude = self.magnitude
        if self.std == math.inf:
            magnitude = rng.uniform(0.0, magnitude)
        elif self.std > 0:
            magnitude = rng.normal(magnitude, self.std)
        return min(max(0.0, magnitude), self.level_max)

    def argument(self, rng):
        """The operation's argument for one call (None for the operations without one)."""
        level = LEVEL_ARGUMENT.get(self.name)
        magnitude = self.draw_magnitude(rng)
        return None if level is None else level(magnitude / self.scale, self.wide, rng)

    def __call__(self, image, rng, fill):
        if self.prob < 1.0 and rng.random() >= self.prob:
            return image
        return _APPLY[self.name](self.argument(rng))(fill)(image)


class RandAugment:
    """``num_ops`` operations per image, drawn uniformly with replacement, or by ``weights`` without."""

    def __init__(self, ops, num_ops=2, weights=None):
        self.ops, self.num_ops, self.weights = ops, num_ops, weights

    def __call__(self, image, rng, fill):
        chosen = rng.choice(len(self.ops), self.num_ops, replace=self.weights is None, p=self.weights)
        for index in chosen:
            image = self.ops[index](image, rng, fill)
        return image


class TrivialAugmentWide:
    """One operation per image, drawn uniformly."""

    def __init__(self, ops):
        self.ops = ops

    def __call__(self, image, rng, fill):
        return self.ops[rng.integers(len(self.ops))](image, rng, fill)


class AutoAugment:
    """One sub-policy per image, drawn uniformly; each of its operations applies with its own probability."""

    def __init__(self, sub_policies):
        self.sub_policies = sub_policies

    def __call__(self, image, rng, fill):
        for op in self.sub_policies[rng.integers(len(self.sub_policies))]:
            image = op(image, rng, fill)
        return image


# The ImageNet policy of the AutoAugment paper as (name, probability, magnitude on the 0-10 scale); "autoaugr"
# swaps PosterizeOriginal for PosterizeIncreasing.
IMAGENET_POLICY = (
    (("PosterizeOriginal", 0.4, 8), ("Rotate", 0.6, 9)), (("Solarize", 0.6, 5), ("AutoContrast", 0.6, 5)),
    (("Equalize", 0.8, 8), ("Equalize", 0.6, 3)), (("PosterizeOriginal", 0.6, 7), ("PosterizeOriginal", 0.6, 6)),
    (("Equalize", 0.4, 7), ("Solarize", 0.2, 4)), (("Equalize", 0.4, 4), ("Rotate", 0.8, 8)),
    (("Solarize", 0.6, 3), ("Equalize", 0.6, 7)), (("PosterizeOriginal", 0.8, 5), ("Equalize", 1.0, 2)),
    (("Rotate", 0.2, 3), ("Solarize", 0.6, 8)), (("Equalize", 0.6, 8), ("PosterizeOriginal", 0.4, 6)),
    (("Rotate", 0.8, 8), ("Color", 0.4, 0)), (("Rotate", 0.4, 9), ("Equalize", 0.6, 2)),
    (("Equalize", 0.0, 7), ("Equalize", 0.8, 8)), (("Invert", 0.6, 4), ("Equalize", 1.0, 8)),
    (("Color", 0.6, 4), ("Contrast", 1.0, 8)), (("Rotate", 0.8, 8), ("Color", 1.0, 2)),
    (("Color", 0.8, 8), ("Solarize", 0.8, 7)), (("Sharpness", 0.4, 7), ("Invert", 0.6, 8)),
    (("ShearX", 0.6, 5), ("Equalize", 1.0, 9)), (("Color", 0.4, 0), ("Equalize", 0.6, 3)),
    (("Equalize", 0.4, 7), ("Solarize", 0.2, 4)), (("Solarize", 0.6, 5), ("AutoContrast", 0.6, 5)),
    (("Invert", 0.6, 4), ("Equalize", 1.0, 8)), (("Color", 0.6, 4), ("Contrast", 1.0, 8)),
    (("Equalize", 0.8, 8), ("Equalize", 0.6, 3)),
)
# torchvision's learned CIFAR-10 and SVHN policies as (name, probability, magnitude bin 0..9 or None).
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
TORCHVISION_BINS = 9  # torchvision's magnitude bins run 0..9


class PolicyError(ValueError):
    """An auto_augment string this module cannot read."""


def _sections(policy, head):
    """{key: value} of the dash-separated ``key<number>`` sections after ``head``."""
    sections = {}
    for part in policy.split("-")[1:]:
        match = re.fullmatch(r"([a-z]+)(\d+(?:\.\d+)?)", part)
        if not match:
            raise PolicyError(f"{policy!r}: section {part!r} is not <key><number>")
        sections[match[1]] = match[2]
    return sections


def _only(policy, sections, allowed):
    unknown = sorted(set(sections) - set(allowed))
    if unknown:
        raise PolicyError(f"{policy!r}: unknown section {unknown[0]!r} (known: {', '.join(allowed)})")


def _std(value):
    std = float(value)
    return math.inf if std > UNIFORM_STD else std


def rand_augment(policy):
    sections = _sections(policy, "randaug")
    _only(policy, sections, ("m", "n", "mstd", "mmax", "inc", "w"))
    magnitude = int(float(sections.get("m", LEVEL_MAX)))
    level_max = int(float(sections.get("mmax", LEVEL_MAX)))
    if magnitude > level_max:
        raise PolicyError(f"{policy!r}: M {magnitude} is above the top magnitude {level_max} (-mmax, default "
                          f"{LEVEL_MAX}); M counts on mindcv's 0-{LEVEL_MAX} scale")
    num_ops = int(float(sections.get("n", 2)))
    if num_ops < 1:
        raise PolicyError(f"{policy!r}: n must be at least 1")
    if sections.get("w", "0") not in ("0",):
        raise PolicyError(f"{policy!r}: only the weights w0 exist")
    increasing = float(sections.get("inc", 0)) > 0
    names = [INCREASING.get(name, name) if increasing else name for name in RANDAUG_OPS]
    std = _std(sections.get("mstd", DEFAULT_MSTD))
    ops = [AugmentOp(name, 0.5, magnitude, std, level_max) for name in names]
    weights = None
    if "w" in sections:
        weights = np.array([CHOICE_WEIGHTS[name] for name in RANDAUG_OPS])
        weights = weights / weights.sum()
    if weights is not None and num_ops > np.count_nonzero(weights):
        raise PolicyError(f"{policy!r}: with w0 the {num_ops} operations are drawn without replacement from the "
                          f"{np.count_nonzero(weights)} of non-zero weight; use n of at most that")
    return RandAugment(ops, num_ops, weights)


def trivial_augment_wide(policy):
    sections = _sections(policy, "trivialaugwide")
    _only(policy, sections, ("m",))
    top = int(float(sections.get("m", WIDE_LEVEL_MAX)))
    if not 1 <= top <= WIDE_LEVEL_MAX:
        raise PolicyError(f"{policy!r}: m must be 1 to {WIDE_LEVEL_MAX} (the top of the wide ranges' scale)")
    return TrivialAugmentWide([AugmentOp(name, 1.0, top, math.inf, top, wide=True) for name in RANDAUG_OPS])


def _auto_augment(table, std, rename=None, bins=None):
    def magnitude(level):
        if level is None:
            return 0
        return level * LEVEL_MAX / bins if bins else level

    def name_of(name):
        return (rename or {}).get(name, name)
    return AutoAugment([[AugmentOp(name_of(name), prob, magnitude(level), std) for name, prob, level in sub]
                        for sub in table])


# torchvision's operation ranges on this module's operations: enhancements 1 -/+ 0.9 M/10, Solarize's threshold
# falling and Posterize's bits falling with the magnitude.
_TORCHVISION_NAMES = {**{name: f"{name}Increasing" for name in ("Color", "Contrast", "Brightness", "Sharpness")},
                      "Solarize": "SolarizeIncreasing"}


def _operations(built):
    if isinstance(built, AutoAugment):
        return [op for sub in built.sub_policies for op in sub]
    return built.ops


def try_policy(policy, built):
    """Every operation of ``built`` at the lowest and the highest magnitude it can draw, on a small image, and
    the whole policy on it a few times: a string whose policy would fail at some batch fails here, naming it."""
    image = np.arange(16 * 16 * 3, dtype=np.uint8).reshape(16, 16, 3)
    fill = (128, 128, 128)
    for op in _operations(built):
        highest = op.level_max if op.std > 0 else min(op.magnitude, op.level_max)
        level = LEVEL_ARGUMENT.get(op.name)
        for magnitude in (0.0, highest):
            for seed in (0, 1):  # some level functions negate at random
                argument = None if level is None else level(magnitude / op.scale, op.wide, np.random.default_rng(seed))
                try:
                    _APPLY[op.name](argument)(fill)(image)
                except (RuntimeError, ValueError, TypeError) as err:
                    raise PolicyError(f"{policy!r}: {op.name} at magnitude {magnitude:g} fails "
                                      f"({str(err).splitlines()[0]}); lower M (or -mmax)") from err
    rng = np.random.default_rng(0)
    for _ in range(4):
        built(image, rng, fill)


def build_policy(policy):
    """The policy an ``auto_augment`` string names (a callable ``(uint8 HWC image, rng, fill) -> image``),
    tried on an image (``try_policy``); PolicyError if the string names none or its policy fails."""
    built = _build(policy)
    try_policy(policy, built)
    return built


def _build(policy):
    head = policy.split("-")[0]
    if head == "randaug":
        return rand_augment(policy)
    if head == "trivialaugwide":
        return trivial_augment_wide(policy)
    if policy == "autoaug-cifar10":
        return _auto_augment(CIFAR10_POLICY, 0.0, _TORCHVISION_NAMES, TORCHVISION_BINS)
    if policy == "autoaug-svhn":
        return _auto_augment(SVHN_POLICY, 0.0, _TORCHVISION_NAMES, TORCHVISION_BINS)
    if head in ("autoaug", "autoaugr"):
        sections = _sections(policy, head)
        _only(policy, sections, ("mstd",))
        rename = {"PosterizeOriginal": "PosterizeIncreasing"} if head == "autoaugr" else None
        return _auto_augment(IMAGENET_POLICY, _std(sections.get("mstd", DEFAULT_MSTD)), rename)
    raise PolicyError(f"unknown policy {policy!r}")
