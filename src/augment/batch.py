"""The training batch map: every augmentation drawn in Python runs here, per batch, from one Generator.

The Generator is seeded from (dataset seed, rank, epoch, batch number) alone, so the draws do not
depend on which worker thread runs a batch, each data-parallel rank draws its own, and a run resumed
by replaying its pipeline (set_init_step) draws what the uninterrupted run drew.
"""
import numpy as np

from src.augment.mixing import smoothed_one_hot


class TrainingBatch:
    """``per_batch_map`` of training: the policy on each uint8 HWC image, normalisation to float32 NCHW
    ((pixel * rescale - mean) / std in float32, as MindSpore's Rescale and Normalize compute it),
    the box operations (Cutout, random erasing) on each image, then the labels: int32 as they come
    without a ``mixer``; smoothed one-hot rows, mixed by the ``mixer`` until 0-based epoch ``off_epoch``
    (timm's mixup_off_epoch; 0 = never off), with one.
    """

    def __init__(self, rescale, mean, std, *, policy=None, box_ops=(), mixer=None, class_num=None, smoothing=0.0,
                 off_epoch=0, seed=0, rank=0):
        self.rescale, self.mean, self.std = np.float32(rescale), np.float32(mean), np.float32(std)
        self.fill = tuple(int(round(m / rescale)) for m in mean)  # the policies' fill: the mean pixel
        self.policy, self.box_ops, self.mixer = policy, list(box_ops), mixer
        self.class_num, self.smoothing, self.off_epoch = class_num, smoothing, off_epoch
        self.seed, self.rank = seed, rank

    def generator(self, epoch, batch):
        return np.random.default_rng([self.seed, self.rank, epoch, batch])

    def __call__(self, images, labels, batch_info):
        epoch = batch_info.get_epoch_num()
        rng = self.generator(epoch, batch_info.get_batch_num())
        if self.policy is not None:
            images = [self.policy(image, rng, self.fill) for image in images]
        pixels = np.stack(images).astype(np.float32) * self.rescale
        batch = np.ascontiguousarray(((pixels - self.mean) / self.std).transpose(0, 3, 1, 2))
        for image in batch:
            for op in self.box_ops:
                op(image, rng)
        labels = np.asarray(labels, np.int32)
        if self.mixer is None:
            return batch, labels
        soft = smoothed_one_hot(labels, self.class_num, self.smoothing)
        if self.off_epoch and epoch >= self.off_epoch:
            return batch, soft
        return self.mixer(batch, soft, rng)
