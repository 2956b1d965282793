"""Data pipelines: CIFAR-10 binary files and ImageNet-style class folders.

The augmentations are the official ones. Unlike the official pipeline, evaluation keeps
every image (no ``drop_remainder``, no shuffle), the image size is a parameter, worker
counts are clamped to the machine, and a wrong path or a damaged file is reported with
its name before MindSpore starts reading.
"""
import os

import mindspore as ms
import mindspore.dataset as ds
import mindspore.dataset.transforms as C2
import mindspore.dataset.vision as C

from src.model_utils.errors import UserInputError

CIFAR_RECORD_BYTES = 1 + 3 * 32 * 32
CIFAR_RECORDS_PER_FILE = 10000
# Per-channel (mean, std) of the data sets stored in the CIFAR-10 binary layout, on [0, 1] pixels.
CIFAR_FORMAT_STATS = {
    "cifar10": ([0.4914, 0.4822, 0.4465], [0.2023, 0.1994, 0.2010]),
    "fashion_mnist": ([0.2860] * 3, [0.3530] * 3),  # grey images repeated over 3 channels
}
IMAGENET_MEAN = [0.485 * 255, 0.456 * 255, 0.406 * 255]
IMAGENET_STD = [0.229 * 255, 0.224 * 255, 0.225 * 255]
IMAGE_EXTENSIONS = (".jpeg", ".jpg", ".png", ".bmp", ".tif", ".tiff")


class DatasetError(UserInputError):
    """A dataset folder or file that cannot be used; the message names it."""


def clamp_workers(requested):
    """MindSpore rejects more workers than CPUs instead of clamping."""
    return max(1, min(int(requested), os.cpu_count() or 1))


def training_shard(device_num):
    """(num_shards, shard_id) of this process in a data-parallel job; None otherwise."""
    from mindspore.communication.management import GlobalComm, get_group_size, get_rank
    if device_num <= 1 or not GlobalComm.INITED or get_group_size() <= 1:
        return None
    return get_group_size(), get_rank()


def _shard_for(do_train, device_num, shard):
    """An explicit shard, else this process's part of a data-parallel job when training.

    Evaluation is never sharded: every rank scores the whole evaluation set.
    """
    return shard or (training_shard(device_num) if do_train else None) or (None, None)


def cifar10_files(dataset_path):
    """The CIFAR-10 .bin files Cifar10Dataset will read, after checking each one's size."""
    if not os.path.isdir(dataset_path):
        raise DatasetError(f"CIFAR-10 dataset folder not found: {dataset_path}")
    files = sorted(f for f in os.listdir(dataset_path)
                   if f.endswith(".bin") and (f.startswith("data_batch_") or f == "test_batch.bin"))
    if not files:
        raise DatasetError(f"no CIFAR-10 binary files (data_batch_*.bin, test_batch.bin) in {dataset_path}; "
                           "pass the folder that holds them, e.g. cifar-10-batches-bin/")
    expected = CIFAR_RECORD_BYTES * CIFAR_RECORDS_PER_FILE
    for name in files:
        size = os.path.getsize(os.path.join(dataset_path, name))
        if size != expected:
            raise DatasetError(
                f"{os.path.join(dataset_path, name)}: {size} bytes ({size / CIFAR_RECORD_BYTES:.1f} records of "
                f"{CIFAR_RECORD_BYTES} bytes); a CIFAR-10 binary file holds exactly {CIFAR_RECORDS_PER_FILE} records "
                f"({expected} bytes). The file is truncated or not in the CIFAR-10 binary format.")
    return files


def imagenet_folder(dataset_path):
    """Check an ImageNet-style folder (one sub-folder of images per class); return its class names."""
    if not os.path.isdir(dataset_path):
        raise DatasetError(f"image folder not found: {dataset_path} (expected ImageNet layout "
                           "<root>/train/<class>/*.JPEG and <root>/validation_preprocess/<class>/*.JPEG)")
    classes = sorted(d for d in os.listdir(dataset_path) if os.path.isdir(os.path.join(dataset_path, d)))
    if not classes:
        raise DatasetError(f"no class folders in {dataset_path}: put each class's images in a sub-folder")
    for name in classes:
        folder = os.path.join(dataset_path, name)
        if any(f.lower().endswith(IMAGE_EXTENSIONS) for f in os.listdir(folder)):
            return classes
    raise DatasetError(f"no images ({', '.join(IMAGE_EXTENSIONS)}) in the class folders of {dataset_path}")


def _finish(data_set, do_train, batch_size, workers):
    data_set = data_set.map(operations=C2.TypeCast(ms.int32), input_columns="label", num_parallel_workers=workers)
    return data_set.batch(batch_size, drop_remainder=do_train)


def create_dataset1(dataset_path, do_train, device_num=1, batch_size=32, *, image_size=224,
                    num_parallel_workers=8, num_samples=None, stats="cifar10", shard=None, augment="crop_flip",
                    crop_padding=4, cutout_length=0):
    """CIFAR-10 binary pipeline; images are resized to ``image_size`` (official: 224).

    ``stats`` names the normalisation of the data set stored in this layout (CIFAR_FORMAT_STATS).
    ``shard`` = (num_shards, shard_id) reads one part of the data; by default a training pipeline
    in a data-parallel job reads its rank's part. ``augment``: "crop_flip" (random 32x32 crop after
    ``crop_padding`` pixels of zero padding, official 4; horizontal flip), "flip" or "none".
    ``cutout_length`` > 0 also blanks one random square of that side per training image (Cutout,
    DeVries & Taylor 2017: the centre may lie near or past the border, which clips the square),
    after normalisation, so the square holds the data set's mean.
    """
    mean, std = CIFAR_FORMAT_STATS[stats]
    if crop_padding < 0:
        raise DatasetError(f"crop_padding must be 0 or more pixels, got {crop_padding}")
    if not 0 <= cutout_length <= image_size:
        raise DatasetError(f"cutout_length must be 0 (off) to image_size ({image_size}) pixels, got {cutout_length}")
    cifar10_files(dataset_path)
    workers = clamp_workers(num_parallel_workers)
    num_shards, shard_id = _shard_for(do_train, device_num, shard)
    data_set = ds.Cifar10Dataset(dataset_path, usage="all", num_samples=num_samples or None,
                                 num_parallel_workers=workers, shuffle=do_train,
                                 num_shards=num_shards, shard_id=shard_id)
    trans = []
    if do_train and augment == "crop_flip":
        trans.append(C.RandomCrop((32, 32), (crop_padding,) * 4))
    if do_train and augment in ("crop_flip", "flip"):
        trans.append(C.RandomHorizontalFlip(prob=0.5))
    if image_size != 32:
        trans.append(C.Resize((image_size, image_size)))
    trans += [C.Rescale(1.0 / 255.0, 0.0), C.Normalize(mean, std), C.HWC2CHW()]
    if do_train and cutout_length:
        trans.append(C.CutOut(cutout_length, num_patches=1, is_hwc=False))
    data_set = data_set.map(operations=trans, input_columns="image", num_parallel_workers=workers)
    return _finish(data_set, do_train, batch_size, workers)


def create_dataset2(dataset_path, do_train, device_num=1, batch_size=32, *, image_size=224,
                    num_parallel_workers=8, num_samples=None, shard=None):
    """ImageNet class-folder pipeline (decode, random-resized crop / resize + center crop, normalise)."""
    imagenet_folder(dataset_path)
    workers = clamp_workers(num_parallel_workers)
    num_shards, shard_id = _shard_for(do_train, device_num, shard)
    data_set = ds.ImageFolderDataset(dataset_path, num_samples=num_samples or None,
                                     num_parallel_workers=workers, shuffle=do_train,
                                     num_shards=num_shards, shard_id=shard_id)
    if do_train:
        trans = [C.RandomCropDecodeResize(image_size, scale=(0.08, 1.0), ratio=(0.75, 1.333)),
                 C.RandomHorizontalFlip(prob=0.5)]
    else:
        trans = [C.Decode(), C.Resize(int(image_size * 256 / 224)), C.CenterCrop(image_size)]
    trans += [C.Normalize(mean=IMAGENET_MEAN, std=IMAGENET_STD), C.HWC2CHW()]
    data_set = data_set.map(operations=trans, input_columns="image", num_parallel_workers=workers)
    return _finish(data_set, do_train, batch_size, workers)


def dataset_folder(config, do_train, dataset_path=None):
    """The folder a run reads: ImageNet roots get the official train/ or validation_preprocess/ suffix."""
    dataset_path = dataset_path or config.dataset_path
    if config.dataset == "imagenet2012":
        return os.path.join(dataset_path, "train" if do_train else "validation_preprocess")
    return dataset_path


def create_dataset_from_config(config, do_train, dataset_path=None):
    """The pipeline the config asks for (dataset, path, batch, image size, workers, sample cap).

    ``dataset_path`` replaces ``config.dataset_path`` (validation while training reads another set).
    """
    kwargs = {"image_size": config.image_size, "num_parallel_workers": config.num_parallel_workers,
              "num_samples": config.num_samples}
    if config.dataset == "imagenet2012":
        create = create_dataset2
    else:
        create = create_dataset1
        kwargs.update(stats=config.dataset, augment=config.train_augment, crop_padding=config.crop_padding,
                      cutout_length=config.cutout_length)
    return create(dataset_folder(config, do_train, dataset_path), do_train, device_num=config.device_num,
                  batch_size=config.batch_size, **kwargs)
