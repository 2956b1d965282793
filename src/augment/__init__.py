"""Training augmentations, all in this package: the config keys (``Augmentation``) and where each runs.

* crop and flip (``train_augment``, ``crop_padding``) and the ImageNet random-resized crop: MindSpore's
  own random operations in the per-image map (``geometry_ops``);
* the auto-augment policy (``auto_augment``, policies.py), Cutout (``cutout_length``) and random erasing
  (``re_*``, erasing.py), mixup / CutMix (``mixup``, ``cutmix``, ``cutmix_prob``, ``mixup_off_epoch``,
  mixing.py): drawn in Python, per batch (batch.py), with mindcv 0.3.0's meaning of each key.

A pipeline without any of the second group normalises in the per-image map, as the official one.
"""
from dataclasses import dataclass, fields
from typing import Optional, Sequence

import mindspore.dataset as ds
import mindspore.dataset.vision as V

from src.augment.batch import TrainingBatch
from src.augment.erasing import ASPECT_DRAWS, ERASE_MODES, Cutout, RandomErasing
from src.augment.mixing import BatchMixer
from src.augment.policies import POLICY_FORMS, PolicyError, build_policy
from src.model_utils.errors import DatasetError

__all__ = ["ASPECT_DRAWS", "Augmentation", "ERASE_MODES", "POLICY_FORMS"]

TRAIN_AUGMENTS = ("crop_flip", "flip", "none")
IMAGENET_CROP_SCALE, IMAGENET_CROP_RATIO = (0.08, 1.0), (0.75, 1.333)


@dataclass
class Augmentation:
    """Training augmentations, named as their config keys; the defaults are the official pipeline's.

    ``class_num`` and ``label_smoothing`` (eps) shape the soft labels of mixup / CutMix. The numbers
    are checked by the config loader against config_schema.yaml; the policy string here, on creation,
    so that a bad one stops a run before any data is read.
    """

    train_augment: str = "crop_flip"
    crop_padding: int = 4
    cutout_length: int = 0
    auto_augment: str = ""
    re_prob: float = 0.0
    re_scale: Sequence[float] = (0.02, 0.33)
    re_ratio: Sequence[float] = (0.3, 3.3)
    re_value: float = 0.0
    re_max_attempts: int = 10
    re_mode: str = "const"
    re_aspect: str = "uniform"
    mixup: float = 0.0
    cutmix: float = 0.0
    cutmix_prob: float = 1.0
    mixup_off_epoch: int = 0
    class_num: Optional[int] = None
    label_smoothing: float = 0.0

    def __post_init__(self):
        if not isinstance(self.auto_augment, str):
            raise DatasetError(f"auto_augment: {self.auto_augment!r} is not a string")
        self.policy()  # a bad string stops the run here

    @classmethod
    def from_config(cls, config):
        """The config's keys of the same names; eps = label_smooth_factor when use_label_smooth, else 0."""
        keys = [f.name for f in fields(cls) if f.name != "label_smoothing" and hasattr(config, f.name)]
        return cls(**{key: getattr(config, key) for key in keys},
                   label_smoothing=config.label_smooth_factor if config.use_label_smooth else 0.0)

    @property
    def mixes(self):
        return bool(self.mixup or self.cutmix) and self.cutmix_prob > 0

    @property
    def draws_per_batch(self):
        """True when some augmentation runs in the batch map."""
        return bool(self.auto_augment or self.re_prob or self.cutout_length or self.mixes)

    def policy(self):
        if not self.auto_augment:
            return None
        try:
            return build_policy(self.auto_augment)
        except PolicyError as err:
            raise DatasetError(f"auto_augment: {err}; use {POLICY_FORMS}, or \"\" for none") from err

    def cifar_geometry(self, side):
        """Crop and flip of a stored ``side`` x ``side`` uint8 image of the CIFAR-10 layout."""
        ops = []
        if self.train_augment == "crop_flip":
            ops.append(V.RandomCrop((side, side), (self.crop_padding,) * 4))
        if self.train_augment in ("crop_flip", "flip"):
            ops.append(V.RandomHorizontalFlip(prob=0.5))
        return ops

    @staticmethod
    def imagenet_geometry(image_size):
        """The official random-resized crop + flip of an image read by src/image_files.py."""
        return [V.RandomResizedCrop(image_size, scale=IMAGENET_CROP_SCALE, ratio=IMAGENET_CROP_RATIO),
                V.RandomHorizontalFlip(prob=0.5)]

    def box_ops(self):
        ops = [Cutout(self.cutout_length)] if self.cutout_length else []
        if self.re_prob:
            ops.append(RandomErasing(self.re_prob, self.re_scale, self.re_ratio, self.re_value, self.re_max_attempts,
                                     self.re_mode, self.re_aspect))
        return ops

    def batch_map(self, rescale, mean, std, rank=0):
        """The per_batch_map that draws this configuration's Python augmentations, normalising as MindSpore's
        Rescale(``rescale``) and Normalize(``mean``, ``std``); None when nothing is drawn per batch."""
        if not self.draws_per_batch:
            return None
        mixer = BatchMixer(self.mixup, self.cutmix, self.cutmix_prob) if self.mixes else None
        return TrainingBatch(rescale, mean, std, policy=self.policy(),
                             box_ops=self.box_ops(), mixer=mixer, class_num=self.class_num,
                             smoothing=self.label_smoothing, off_epoch=self.mixup_off_epoch,
                             seed=ds.config.get_seed(), rank=rank)
