"""Training augmentations (issue 25) on real pipelines: auto-augment policies, random erasing, mixup / CutMix."""
import itertools
import os
from types import SimpleNamespace

import mindspore.dataset as ds
import mindspore.dataset.vision as V
import numpy as np
import pytest

from src.augment import (_OPERATIONS, CIFAR10_POLICY, SVHN_POLICY, MixBatch, RandAugment, randaugment_space,
                         wide_space)
from src.dataset import Augmentation, DatasetError, create_dataset1, create_dataset2, create_dataset_from_config
from src.model_utils.config import get_config

SEED = 1
POLICIES = ["randaug-m9", "randaug-m7-n3-mstd0.5", "trivialaugwide", "autoaug", "autoaug-cifar10", "autoaug-svhn"]


@pytest.fixture(autouse=True)
def restore_seed():
    """Each test seeds MindSpore itself (before every build, see _batches); the previous seed comes back."""
    previous = ds.config.get_seed()
    yield
    ds.config.set_seed(previous)


def _cifar(cifar_dirs, augment="crop_flip", num_samples=16, **options):
    return lambda: create_dataset1(cifar_dirs[0], True, batch_size=8, image_size=32, num_samples=num_samples,
                                   num_parallel_workers=1, augment=augment, augmentation=Augmentation(**options))


def _imagenet(imagenet_root, num_samples=16, **options):
    return lambda: create_dataset2(os.path.join(imagenet_root, "train"), True, batch_size=8, image_size=64,
                                   num_samples=num_samples, num_parallel_workers=1,
                                   augmentation=Augmentation(**options))


PIPELINES = {"cifar": lambda fixtures: (_cifar, fixtures.getfixturevalue("cifar_dirs")),
             "imagenet": lambda fixtures: (_imagenet, fixtures.getfixturevalue("imagenet_root"))}


@pytest.fixture(params=sorted(PIPELINES))
def pipeline(request):
    """Builder of a seeded training pipeline (batch 8, one worker) of either layout, given Augmentation keys."""
    make, data = PIPELINES[request.param](request)
    return lambda **options: make(data, **options)


def _batches(make, epochs=1):
    """All batches of a pipeline built and iterated right after seeding, so two builds draw alike."""
    ds.config.set_seed(SEED)
    iterator = make().create_tuple_iterator(output_numpy=True, num_epochs=epochs)
    return [batch for _ in range(epochs) for batch in iterator]


def _soft(labels, classes=10, eps=0.0):
    rows = np.full((len(labels), classes), eps / (classes - 1))
    rows[np.arange(len(labels)), labels] = 1 - eps
    return rows


def _lam(mixed, labels, classes=10, eps=0.0):
    """The batch's mixing weight, read off the soft label of an image whose mirror has another class."""
    off = eps / (classes - 1)
    i = np.flatnonzero(labels != labels[::-1])[0]
    return (mixed[i, labels[i]] - off) / (1 - eps - off)


# --- auto_augment ---

@pytest.mark.parametrize("policy", POLICIES)
def test_every_policy_changes_training_images_of_both_pipelines(pipeline, policy):
    plain, augmented = _batches(pipeline()), _batches(pipeline(auto_augment=policy))
    for (images, labels), (base, base_labels) in zip(augmented, plain):
        assert images.shape == base.shape and images.dtype == np.float32
        np.testing.assert_array_equal(labels, base_labels)
    assert any(not np.array_equal(a[0], b[0]) for a, b in zip(augmented, plain))


@pytest.mark.parametrize("policy", ["randaug", "randaug-m31", "randaug-m9-n0", "randaug-m9-mstd", "RandAug-m9",
                                    "autoaugment", "autoaug-imagenet", 5])
def test_unknown_policy_is_a_dataset_error_before_any_data_is_read(policy):
    with pytest.raises(DatasetError, match=r"auto_augment: unknown policy .*; use randaug-m<M>\[-n<N>\]"):
        create_dataset1("/no/such/folder", True, augmentation=Augmentation(auto_augment=policy))


def test_mstd_draws_the_magnitude_per_image_from_a_rounded_clipped_normal():
    noisy = RandAugment(2, 7, std=0.5, seed=0)
    draws = np.array([noisy.draw_magnitude() for _ in range(20000)])
    assert abs(draws.mean() - 7) < 0.02 and set(np.unique(draws)) <= set(range(4, 11))
    assert 0.5 < draws.std() < 0.65  # N(7, 0.5) rounded: sqrt(0.25 + 1/12) = 0.58
    high = RandAugment(2, 29, std=3.0, seed=0)
    draws = np.array([high.draw_magnitude() for _ in range(20000)])
    assert draws.min() >= 0 and draws.max() == 30
    assert abs((draws == 30).mean() - 0.434) < 0.015  # P(N(29, 3) >= 29.5), clipped onto 30
    assert {RandAugment(2, 7).draw_magnitude() for _ in range(10)} == {7}


def _apply(image, space, name, level, sign):
    top, signed = space[name]
    return _OPERATIONS[name](sign * top * level if signed else top * level, *image.shape[:2])(image)


def _close(output, candidates):
    """MindSpore computes magnitudes in float32, so values may differ by a level, and AutoAugment's Solarize
    thresholds from 256, not 255, so the few pixels at a threshold may differ more."""
    return any(np.mean(np.abs(output.astype(int) - candidate) > 1) < 0.02 for candidate in candidates)


IMAGE = np.random.default_rng(0).integers(1, 255, (37, 45, 3), dtype=np.uint8)


@pytest.mark.parametrize("magnitude", [9, 30])
def test_randaugment_operations_are_mindspores_except_its_black_translations(magnitude):
    """Called eagerly under a set seed, MindSpore's RandAugment makes one fixed draw: the seed picks an
    operation. Each output is one of ours at that magnitude, or black: MindSpore's Translate passes pixels
    where its Affine takes fractions of the side (why src/augment.py draws the policies itself)."""
    space = randaugment_space(*IMAGE.shape[:2])
    ours = [_apply(IMAGE, space, name, magnitude / 30, sign) for name in space for sign in (1, -1)]
    outputs = []
    for seed in range(40):
        ds.config.set_seed(seed)
        outputs.append(V.RandAugment(1, magnitude, 31)(IMAGE))
    black = [not output.any() for output in outputs]
    assert any(black) and all(_close(out, ours) for out, dark in zip(outputs, black) if not dark)


def test_trivialaugwide_operations_are_mindspores():
    space = wide_space()
    ours = [_apply(IMAGE, space, name, level / 30, sign) for name in space for level in range(31) for sign in (1, -1)]
    for seed in range(30):
        ds.config.set_seed(seed)
        output = V.TrivialAugmentWide()(IMAGE)
        assert not output.any() or _close(output, ours)


@pytest.mark.parametrize("policy, table", [(V.AutoAugmentPolicy.CIFAR10, CIFAR10_POLICY),
                                           (V.AutoAugmentPolicy.SVHN, SVHN_POLICY)])
def test_autoaugment_tables_are_mindspores(policy, table):
    space = {**randaugment_space(*IMAGE.shape[:2]), "Invert": (0.0, False)}
    ours = []
    for sub_policy in table:
        for applied, signs in itertools.product(itertools.product((0, 1), repeat=2),
                                                itertools.product((1, -1), repeat=2)):
            image = IMAGE
            for (name, _, level), on, sign in zip(sub_policy, applied, signs):
                image = _apply(image, space, name, (level or 0) / 9, sign) if on else image
            ours.append(image)
    for seed in range(40):
        ds.config.set_seed(seed)
        output = V.AutoAugment(policy)(IMAGE)
        assert not output.any() or _close(output, ours)


@pytest.mark.parametrize("name, axis", [("TranslateX", 1), ("TranslateY", 0)])
@pytest.mark.parametrize("pixels", [6.9, -6.9, 44.0])
def test_translations_shift_whole_pixels_and_fill_with_black(name, axis, pixels):
    shifted = _OPERATIONS[name](pixels, *IMAGE.shape[:2])(IMAGE)
    side = IMAGE.shape[axis]
    step = max(-side, min(side, int(pixels)))
    expected = np.zeros_like(IMAGE)
    kept = [slice(None)] * 2
    target = list(kept)
    kept[axis] = slice(max(0, -step), side - max(0, step))
    target[axis] = slice(max(0, step), side - max(0, -step))
    expected[tuple(target)] = IMAGE[tuple(kept)]
    np.testing.assert_array_equal(shifted, expected)


# --- random erasing ---

ERASED = -7.5  # no normalised pixel of either data set takes this value


def test_random_erasing_writes_one_rectangle_within_scale_and_ratio(pipeline):
    scale, ratio = (0.1, 0.3), (0.5, 2.0)
    plain = _batches(pipeline())
    erased = _batches(pipeline(re_prob=1.0, re_scale=scale, re_ratio=ratio, re_value=ERASED))
    for (images, _), (base, _) in zip(erased, plain):
        for image, original in zip(images, base):
            mask = (image == ERASED).all(axis=0)
            rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
            height, width = len(rows), len(cols)
            assert height and mask.sum() == height * width == mask[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1].sum()
            np.testing.assert_array_equal(image[:, ~mask], original[:, ~mask])
            assert (original[:, mask] != ERASED).all()
            area, slack = image.shape[1] * image.shape[2], (height + width + 1) / mask.size
            assert scale[0] - slack <= mask.sum() / area <= scale[1] + slack
            assert ratio[0] / (1 + 0.5 * ratio[0] / width) <= width / height <= ratio[1] / (1 - 0.5 * ratio[1] / width)


def test_random_erasing_probability_zero_changes_nothing(pipeline):
    plain = _batches(pipeline())
    for (images, _), (base, _) in zip(_batches(pipeline(re_prob=0.0, re_value=ERASED)), plain):
        np.testing.assert_array_equal(images, base)


# --- mixup / CutMix ---

def _assert_mixup(mixed, images, labels, eps=0.0):
    lam = _lam(mixed[1], labels, eps=eps)
    np.testing.assert_allclose(mixed[1], lam * _soft(labels, eps=eps) + (1 - lam) * _soft(labels[::-1], eps=eps),
                               atol=1e-6)
    np.testing.assert_allclose(mixed[0], lam * images + (1 - lam) * images[::-1], atol=1e-5)
    return lam


def test_mixup_blends_each_image_and_label_with_its_mirror(pipeline):
    eps = 0.1
    plain = _batches(pipeline())
    mixed = _batches(pipeline(mixup=0.4, class_num=10, label_smoothing=eps))
    lams = []
    for batch, (images, labels) in zip(mixed, plain):
        assert batch[1].dtype == np.float32 and batch[1].shape == (8, 10)
        np.testing.assert_allclose(batch[1].sum(axis=1), 1, atol=1e-6)
        assert batch[1].min() >= eps / 9 - 1e-7  # a mix of two smoothed rows never goes below eps / (C - 1)
        lams.append(_assert_mixup(batch, images, labels, eps))
    assert all(0 < lam < 1 for lam in lams) and lams[0] != lams[1]


def _cutmix_share(mixed, images):
    """The box's share of the image, after checking that every pixel is the image's or its mirror's."""
    from_mirror = (mixed == images[::-1]).all(axis=1) & (mixed != images).any(axis=1)
    np.testing.assert_array_equal(np.where(from_mirror[:, None], images[::-1], images), mixed)
    box = from_mirror.any(axis=0)
    rows, cols = np.flatnonzero(box.any(axis=1)), np.flatnonzero(box.any(axis=0))
    assert box.sum() == len(rows) * len(cols)  # one rectangle, the same in every image
    return box.mean()


def test_cutmix_pastes_a_box_of_the_mirror_and_mixes_labels_by_its_area(pipeline):
    plain = _batches(pipeline())
    mixed = _batches(pipeline(cutmix=1.0, class_num=10))
    shares = []
    for batch, (images, labels) in zip(mixed, plain):
        shares.append(_cutmix_share(batch[0], images))
        lam = _lam(batch[1], labels)
        assert abs(shares[-1] - (1 - lam)) < 1e-6
        np.testing.assert_allclose(batch[1], lam * _soft(labels) + (1 - lam) * _soft(labels[::-1]), atol=1e-6)
    assert any(0 < share < 1 for share in shares)


def test_cutmix_probability_chooses_between_cutmix_and_mixup(cifar_dirs):
    plain = _batches(_cifar(cifar_dirs, augment="none", num_samples=32))
    only_mixup = _batches(_cifar(cifar_dirs, augment="none", num_samples=32, mixup=0.4, cutmix=1.0,
                                 cutmix_prob=0.0, class_num=10))
    for batch, (images, labels) in zip(only_mixup, plain):
        assert 0 < _assert_mixup(batch, images, labels) < 1
    only_cutmix = _batches(_cifar(cifar_dirs, augment="none", num_samples=32, mixup=0.4, cutmix=1.0,
                                  cutmix_prob=1.0, class_num=10))
    for batch, (images, _) in zip(only_cutmix, plain):
        _cutmix_share(batch[0], images)


def test_mixing_stops_from_mixup_off_epoch(cifar_dirs):
    """mixup_off_epoch 2: the first epoch is mixed, the second keeps the images and soft one-hot labels."""
    plain = _batches(_cifar(cifar_dirs, augment="none"), epochs=2)
    mixed = _batches(_cifar(cifar_dirs, augment="none", mixup=1.0, class_num=10, label_smoothing=0.1,
                            mixup_off_epoch=2), epochs=2)
    assert len(mixed) == 4
    for batch, (images, _) in zip(mixed[:2], plain[:2]):
        assert not np.array_equal(batch[0], images)
    for batch, (images, labels) in zip(mixed[2:], plain[2:]):
        np.testing.assert_array_equal(batch[0], images)
        np.testing.assert_allclose(batch[1], _soft(labels, eps=0.1), atol=1e-7)
        assert batch[1].dtype == np.float32


def test_mixing_draws_depend_only_on_the_batch_position(cifar_dirs):
    """Rebuilt pipelines (two map workers here) mix alike, and a run resumed with set_init_step and fast
    recovery off (the trainer's exact resume) replays the same mixed batches."""
    def build():
        return create_dataset1(cifar_dirs[0], True, batch_size=8, image_size=32, num_samples=32, augment="none",
                               augmentation=Augmentation(mixup=0.5, cutmix=1.0, cutmix_prob=0.5, class_num=10))
    first, again = _batches(build, epochs=2), _batches(build, epochs=2)
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a[0], b[0])
        np.testing.assert_array_equal(a[1], b[1])
    fast_recovery = ds.config.get_fast_recovery()
    ds.config.set_fast_recovery(False)
    try:
        ds.config.set_seed(SEED)
        dataset = build()
        dataset.set_init_step(5)
        resumed = list(dataset.create_tuple_iterator(output_numpy=True, num_epochs=2))
    finally:
        ds.config.set_fast_recovery(fast_recovery)
    assert len(resumed) == 3
    for a, b in zip(first[5:], resumed):
        np.testing.assert_array_equal(a[0], b[0])
        np.testing.assert_array_equal(a[1], b[1])


def test_mix_batch_needs_only_epoch_and_batch_number():
    images = [np.full((3, 4, 4), i, np.float32) for i in range(4)]
    labels = [np.int32(i) for i in range(4)]
    mix = MixBatch(4, mixup=1.0, cutmix=1.0, cutmix_prob=0.5, seed=3)

    def at(epoch, batch):
        return mix(images, labels, SimpleNamespace(get_epoch_num=lambda: epoch, get_batch_num=lambda: batch))
    first = at(1, 2)
    at(0, 0)
    at(4, 7)
    for a, b in zip(first, at(1, 2)):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[1], at(1, 3)[1])
    with pytest.raises(ValueError, match="label 4 >= class_num 4"):
        mix(images, labels[:3] + [np.int32(4)], SimpleNamespace(get_epoch_num=lambda: 0, get_batch_num=lambda: 0))


# --- defaults, config and errors ---

def test_defaults_leave_the_pipelines_as_they_were(cifar_dirs, imagenet_root):
    builds = [(lambda: create_dataset1(cifar_dirs[0], True, batch_size=8, image_size=32, num_samples=16,
                                       num_parallel_workers=1), _cifar(cifar_dirs)),
              (lambda: create_dataset2(os.path.join(imagenet_root, "train"), True, batch_size=8, image_size=64,
                                       num_samples=16, num_parallel_workers=1), _imagenet(imagenet_root))]
    for old, new in builds:
        for (images, labels), (base, base_labels) in zip(_batches(new), _batches(old)):
            np.testing.assert_array_equal(images, base)
            np.testing.assert_array_equal(labels, base_labels)
            assert labels.dtype == np.int32 and labels.shape == (8,)


def _config(*argv):
    return get_config(["--device_target", "CPU", "--image_size", "32", "--batch_size", "8", "--num_samples", "16",
                       "--num_parallel_workers", "1", *argv])


def test_config_keys_reach_the_training_pipeline_only(cifar_dirs):
    config = _config("--dataset_path", cifar_dirs[0], "--mixup", "0.2", "--use_label_smooth", "true",
                     "--label_smooth_factor", "0.2", "--auto_augment", "randaug-m9-mstd0.5", "--re_prob", "0.5")
    options = Augmentation.from_config(config)
    assert (options.mixup, options.class_num, options.label_smoothing) == (0.2, 10, 0.2)
    assert options.auto_augment == "randaug-m9-mstd0.5" and options.re_prob == 0.5
    ds.config.set_seed(SEED)
    images, labels = next(create_dataset_from_config(config, True).create_tuple_iterator(output_numpy=True,
                                                                                         num_epochs=1))
    assert images.shape == (8, 3, 32, 32) and labels.dtype == np.float32 and labels.shape == (8, 10)
    assert labels.min() >= 0.2 / 9 - 1e-7
    evaluation = create_dataset_from_config(config, False, dataset_path=cifar_dirs[1])
    _, labels = next(evaluation.create_tuple_iterator(output_numpy=True, num_epochs=1))
    assert labels.dtype == np.int32 and labels.shape == (8,)
    plain = Augmentation.from_config(_config("--dataset_path", cifar_dirs[0]))
    assert plain.policy_ops() == plain.erasing_ops() == [] and plain.batch_map() is None


def test_a_bad_option_in_the_config_stops_the_run_before_any_data_is_read():
    config = _config("--dataset_path", "/no/such/folder", "--auto_augment", "randaug-x")
    with pytest.raises(DatasetError, match="auto_augment: unknown policy 'randaug-x'"):
        create_dataset_from_config(config, True)
