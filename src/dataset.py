"""Data pipelines: CIFAR-10 binary files and ImageNet-style class folders.

The augmentations are the official ones. Unlike the official pipeline, training reads only the
training files of a CIFAR-10 folder and evaluation only its test file (the download keeps both in
one folder), evaluation keeps every image (no ``drop_remainder``, no shuffle), the image size is a
parameter, worker counts are clamped to the machine, and a wrong path, a damaged file or a folder
with more classes than the classifier is reported with its name before MindSpore starts reading.
Training pipelines can add the options of ``Augmentation`` (auto-augment policies, random erasing,
mixup / CutMix; see src/augment/).
"""
import logging
import os

import mindspore as ms
import numpy as np
import mindspore.dataset as ds
import mindspore.dataset.transforms as C2
import mindspore.dataset.vision as C

from src.augment import Augmentation
from src.dataset_specs import (CIFAR_FORMAT_STATS, CIFAR_RECORD_BYTES, CIFAR_RECORDS_PER_FILE, CIFAR_SIDE, CLASS_NAMES,
                               CIFAR_TEST_FILE, CIFAR_TRAIN_PREFIX, IMAGENET_EVAL_DIR, IMAGENET_MEAN, IMAGENET_STD,
                               IMAGENET_TRAIN_DIR, STORED_BORDER)
from src.image_check import check_folder, settle
from src.image_files import (IMAGE_EXTENSIONS, ImageReadError, class_folder_names, class_folders, printable,
                             read_image)
from src.model_utils.errors import DatasetError

logger = logging.getLogger(__name__)
RESCALE = 1.0 / 255.0  # CIFAR-layout pixels to [0, 1], where CIFAR_FORMAT_STATS are measured


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


def _cifar_split_files(folder, do_train):
    """The .bin files of ``folder`` that Cifar10Dataset reads for one split (its own name test:
    usage "train" takes every .bin file whose name holds data_batch, "test" those holding test_batch)."""
    mark = CIFAR_TRAIN_PREFIX.rstrip("_") if do_train else CIFAR_TEST_FILE[:-len(".bin")]
    try:
        return sorted(f for f in os.listdir(folder) if f.endswith(".bin") and mark in f)
    except OSError:
        return []


def _split_name(do_train):
    return f"{CIFAR_TRAIN_PREFIX}*.bin (the training set)" if do_train else f"{CIFAR_TEST_FILE} (the test set)"


def _file_range(files):
    return f"{files[0]} ... {files[-1]}" if len(files) > 2 else " and ".join(files)


def cifar10_files(dataset_path, do_train):
    """The CIFAR-10 .bin files a training (data_batch_*.bin) or evaluation (test_batch.bin) run reads,
    each checked for its size.

    Either layout works for both: the download's own folder (cifar-10-batches-bin/ with the training
    and test files together), or the official split, which moves test_batch.bin to cifar-10-verify-bin/.
    A run never reads the other split's files.
    """
    if not os.path.isdir(dataset_path):
        raise DatasetError(f"CIFAR-10 dataset folder not found: {dataset_path}")
    files = _cifar_split_files(dataset_path, do_train)
    if not files:
        other = _cifar_split_files(dataset_path, not do_train)
        holds = f"holds only {_file_range(other)}" if other else "holds no CIFAR-10 binary files"
        parent = os.path.dirname(os.path.abspath(dataset_path))
        siblings = sorted(os.path.join(parent, d) for d in os.listdir(parent))
        found = next((d for d in siblings if os.path.isdir(d) and _cifar_split_files(d, do_train)), None)
        hint = f", such as {found}" if found else ""
        raise DatasetError(f"{dataset_path} {holds}; {'training' if do_train else 'evaluation'} reads "
                           f"{_split_name(do_train)}: pass the folder that holds it{hint}")
    expected = CIFAR_RECORD_BYTES * CIFAR_RECORDS_PER_FILE
    for name in files:
        size = os.path.getsize(os.path.join(dataset_path, name))
        if size != expected:
            raise DatasetError(
                f"{os.path.join(dataset_path, name)}: {size} bytes ({size / CIFAR_RECORD_BYTES:.1f} records of "
                f"{CIFAR_RECORD_BYTES} bytes); a CIFAR-10 binary file holds exactly {CIFAR_RECORDS_PER_FILE} records "
                f"({expected} bytes). The file is truncated or not in the CIFAR-10 binary format.")
    return files


def check_cifar_labels(dataset_path, files, class_num):
    """Every label byte of the CIFAR-layout ``files`` below ``class_num``: a label the classifier lacks would
    one-hot to a zero row and train nothing, without a word."""
    for name in files:
        path = os.path.join(dataset_path, name)
        labels = np.memmap(path, np.uint8, mode="r")[::CIFAR_RECORD_BYTES]  # the first byte of each record
        highest = int(labels.max())
        if highest >= class_num:
            above = int((labels >= class_num).sum())
            raise DatasetError(f"{path} holds labels up to {highest} ({above} images with a label of "
                               f"{class_num} or more) but class_num is {class_num}: set --class_num "
                               f"{highest + 1} or more")


def imagenet_folder(dataset_path, class_num=None):
    """Check an ImageNet-style folder (one sub-folder of images per class): {class folder: [image names]}.

    Entries that are not image files (src/image_files.py) are left out. More class folders than ``class_num``
    would give labels the classifier does not have, so they are an error.
    """
    if not os.path.isdir(dataset_path):
        raise DatasetError(f"image folder not found: {dataset_path} (expected ImageNet layout "
                           f"<root>/{IMAGENET_TRAIN_DIR}/<class>/*.JPEG and <root>/{IMAGENET_EVAL_DIR}/<class>/*.JPEG)")
    groups = class_folders(dataset_path)
    if not groups:
        raise DatasetError(f"no class folders in {dataset_path}: put each class's images in a sub-folder")
    if not any(groups.values()):
        raise DatasetError(f"no images ({', '.join(IMAGE_EXTENSIONS)}) in the class folders of {dataset_path}")
    if class_num is not None and len(groups) > class_num:
        raise DatasetError(f"{dataset_path} has {len(groups)} class folders but class_num is {class_num}: "
                           f"set --class_num {len(groups)} or more, or remove the extra folders")
    return groups


def class_labels(dataset_path, groups, class_names):
    """{class folder: label}: its place in ``class_names`` (a checkpoint's classes), else in sorted order. A folder
    the model has no class for is an error; a class with no folder here is fine (its label is just unused)."""
    if not class_names:
        return {sub: label for label, sub in enumerate(groups)}
    unknown = [sub for sub in groups if sub not in class_names]
    if unknown:
        shown = ", ".join(class_names[:5]) + (" ..." if len(class_names) > 5 else "")
        raise DatasetError(f"{dataset_path}: class folder{'s' if len(unknown) > 1 else ''} "
                           f"{', '.join(printable(u) for u in unknown[:3])} {'are' if len(unknown) > 1 else 'is'} "
                           f"not among the {len(class_names)} classes the model was trained on ({shown}): remove "
                           "or rename it, or use a model trained with it")
    return {sub: class_names.index(sub) for sub in groups}


def _readable_images(dataset_path, groups, damaged_images, workers, labels):
    """[(relative path, label)] of the images a run reads, labelled by ``labels`` ({class folder: label}).

    Damaged images stop the run (``damaged_images`` "error") or are left out with a warning ("skip").
    """
    damaged = check_folder(dataset_path, groups, workers)
    settle(damaged, dataset_path, damaged_images)
    files = [(os.path.join(sub, name), labels[sub]) for sub, names in groups.items() for name in names]
    readable = [(path, label) for path, label in files if path not in damaged]
    if not readable:
        raise DatasetError(f"every image in the class folders of {dataset_path} is damaged ({len(damaged)}): "
                           f"python -m src.image_check {dataset_path} lists them")
    return readable


class LabelledImages:
    """Random-access source of (HWC uint8 RGB image, int32 label) for GeneratorDataset: the files the check
    approved, read by the same reader (src/image_files.py)."""

    def __init__(self, root, files):
        self.root, self.files = root, files

    def __len__(self):
        return len(self.files)

    def __getitem__(self, index):
        path, label = self.files[index]
        full = os.path.join(self.root, path)
        try:
            image = read_image(full)
        except ImageReadError as err:
            raise DatasetError(f"{printable(full)} passed the image check but cannot be read now ({err}): "
                               "was it changed during the run?") from err
        return image, np.array(label, np.int32)


def _finish(data_set, do_train, batch_size, workers, image_ops, normalise_ops, batch_map):
    """Per-image ``image_ops``, then batches: normalised per image (``normalise_ops``) without a ``batch_map``,
    by the ``batch_map`` (src/augment/batch.py) with one; mixing turns the labels into float32 [batch, class_num].
    """
    data_set = data_set.map(operations=C2.TypeCast(ms.int32), input_columns="label", num_parallel_workers=workers)
    if batch_map is None:
        data_set = data_set.map(operations=image_ops + normalise_ops, input_columns="image",
                                num_parallel_workers=workers)
        return data_set.batch(batch_size, drop_remainder=do_train)
    if image_ops:
        data_set = data_set.map(operations=image_ops, input_columns="image", num_parallel_workers=workers)
    return data_set.batch(batch_size, drop_remainder=True, per_batch_map=batch_map, input_columns=["image", "label"],
                          num_parallel_workers=workers)


def _imagenet_normalise():
    return [C.Normalize(mean=IMAGENET_MEAN, std=IMAGENET_STD), C.HWC2CHW()]


def _cifar_resize(image_size, stats):
    """Resize of a stored 32x32 image to ``image_size``; for the originals' side (28 for Fashion-MNIST), a centre
    crop of the stored zero border instead: the network then sees every original pixel and computes on 23 % fewer.
    """
    border = STORED_BORDER.get(stats, 0)
    if border and image_size == CIFAR_SIDE - 2 * border:
        return [C.CenterCrop(image_size)]
    return [C.Resize((image_size, image_size))] if image_size != CIFAR_SIDE else []


def _cifar_normalise(stats):
    return [C.Rescale(RESCALE, 0.0), C.Normalize(*CIFAR_FORMAT_STATS[stats]), C.HWC2CHW()]


def cifar_eval_ops(image_size, stats):
    """Evaluation ops on a stored 32x32 HWC uint8 image of the CIFAR-10 layout (predict.py runs them too)."""
    return _cifar_resize(image_size, stats) + _cifar_normalise(stats)


def imagenet_eval_ops(image_size):
    """Evaluation ops on an image read by src/image_files.py: resize the short side, centre crop, normalise."""
    return [C.Resize(int(image_size * 256 / 224)), C.CenterCrop(image_size), *_imagenet_normalise()]


def create_dataset1(dataset_path, do_train, device_num=1, batch_size=32, *, image_size=224,
                    num_parallel_workers=8, num_samples=None, stats="cifar10", shard=None, augmentation=None,
                    class_num=None):
    """CIFAR-10 binary pipeline; images are resized to ``image_size`` (official: 224).

    ``stats`` names the normalisation of the data set stored in this layout (CIFAR_FORMAT_STATS).
    ``shard`` = (num_shards, shard_id) reads one part of the data; by default a training pipeline
    in a data-parallel job reads its rank's part. ``augmentation`` (src.augment.Augmentation; default:
    the official random crop after 4 pixels of padding and flip) says how training images are augmented.
    With ``class_num``, a label of that or more in the files is an error before anything is read.
    """
    augmentation = augmentation or Augmentation()
    if augmentation.cutout_length > image_size:
        raise DatasetError(f"cutout_length must be at most image_size ({image_size}) pixels, "
                           f"got {augmentation.cutout_length}")
    files = cifar10_files(dataset_path, do_train)
    if class_num is not None:
        check_cifar_labels(dataset_path, files, class_num)
    workers = clamp_workers(num_parallel_workers)
    num_shards, shard_id = _shard_for(do_train, device_num, shard)
    data_set = ds.Cifar10Dataset(dataset_path, usage="train" if do_train else "test", num_samples=num_samples or None,
                                 num_parallel_workers=workers, shuffle=do_train,
                                 num_shards=num_shards, shard_id=shard_id)
    unread = _cifar_split_files(dataset_path, not do_train)
    logger.info("%s set: %d images from %s in %s%s", "training" if do_train else "evaluation",
                len(files) * CIFAR_RECORDS_PER_FILE, _file_range(files), dataset_path,
                f" ({_file_range(unread)} there not read)" if unread else "")
    resize = _cifar_resize(image_size, stats)
    if not do_train:
        return _finish(data_set, do_train, batch_size, workers, resize, _cifar_normalise(stats), None)
    return _finish(data_set, do_train, batch_size, workers, augmentation.cifar_geometry(CIFAR_SIDE) + resize,
                   _cifar_normalise(stats), augmentation.batch_map(RESCALE, *CIFAR_FORMAT_STATS[stats], shard_id or 0))


def create_dataset2(dataset_path, do_train, device_num=1, batch_size=32, *, image_size=224,
                    num_parallel_workers=8, num_samples=None, shard=None, augmentation=None, class_num=None,
                    damaged_images="error", class_names=None):
    """ImageNet class-folder pipeline (read, random-resized crop / resize + center crop, normalise).

    The files listed and read are those of src/image_files.py, the one reader. Every image is first read
    once by the check (src/image_check.py, cached): damaged ones stop the run before its first step, or
    are left out with ``damaged_images`` "skip". More class folders than ``class_num`` is an error.
    ``class_names`` (a checkpoint's, in label order) labels each folder by its name (``class_labels``).
    ``augmentation`` (src.augment.Augmentation) adds the training options, as in create_dataset1.
    """
    augmentation = augmentation or Augmentation()
    groups = imagenet_folder(dataset_path, class_num)
    workers = clamp_workers(num_parallel_workers)
    num_shards, shard_id = _shard_for(do_train, device_num, shard)
    files = _readable_images(dataset_path, groups, damaged_images, workers,
                             class_labels(dataset_path, groups, class_names))
    data_set = ds.GeneratorDataset(LabelledImages(dataset_path, files), ["image", "label"], shuffle=do_train,
                                   num_samples=num_samples or None, num_shards=num_shards, shard_id=shard_id,
                                   num_parallel_workers=workers, python_multiprocessing=False)
    logger.info("%s set: %d images in %d class folders of %s", "training" if do_train else "evaluation",
                len(files), len(groups), dataset_path)
    if not do_train:
        return _finish(data_set, do_train, batch_size, workers, imagenet_eval_ops(image_size), [], None)
    return _finish(data_set, do_train, batch_size, workers, augmentation.imagenet_geometry(image_size),
                   _imagenet_normalise(), augmentation.batch_map(1.0, IMAGENET_MEAN, IMAGENET_STD, shard_id or 0))


def training_class_names(config):
    """The classes a training run learns, in label order: its class folders (sorted), or the data set's names."""
    if config.dataset == "imagenet2012":
        folder = dataset_folder(config, True)
        return class_folder_names(folder) if os.path.isdir(folder) else None
    return list(CLASS_NAMES.get(config.dataset, [])) or None


def dataset_folder(config, do_train, dataset_path=None):
    """The folder a run reads: ImageNet roots get the official train/ or validation_preprocess/ suffix."""
    dataset_path = dataset_path or config.dataset_path
    if config.dataset == "imagenet2012":
        return os.path.join(dataset_path, IMAGENET_TRAIN_DIR if do_train else IMAGENET_EVAL_DIR)
    return dataset_path


def create_dataset_from_config(config, do_train, dataset_path=None):
    """The pipeline the config asks for (dataset, path, batch, image size, workers, sample cap).

    ``dataset_path`` replaces ``config.dataset_path`` (validation while training reads another set).
    Training also takes the Augmentation keys; with mixup or cutmix > 0 its label column holds float32
    soft targets [batch, class_num] (label-smoothed when use_label_smooth) instead of int32 [batch].
    """
    kwargs = {"image_size": config.image_size, "num_parallel_workers": config.num_parallel_workers,
              "num_samples": config.num_samples,
              "augmentation": Augmentation.from_config(config) if do_train else None}
    if config.dataset == "imagenet2012":
        create = create_dataset2
        kwargs.update(class_num=config.class_num, damaged_images=config.damaged_images,
                      class_names=getattr(config, "class_names", None))
    else:
        create = create_dataset1
        kwargs.update(stats=config.dataset, class_num=config.class_num)
    return create(dataset_folder(config, do_train, dataset_path), do_train, device_num=config.device_num,
                  batch_size=config.batch_size, **kwargs)
