"""Training augmentations on real pipelines, and their meaning checked against mindcv 0.3.0's own code:
auto-augment policies, Cutout, random erasing, mixup / CutMix (src/augment/)."""
import os
import random
from types import SimpleNamespace

import mindspore.dataset as ds
import mindspore.dataset.vision as V
import numpy as np
import pytest
from mindcv.data import auto_augment as mindcv_aa
from mindcv.data.mixup import Mixup as MindcvMixup, cutmix_bbox_and_lam

from src.augment import Augmentation
from src.augment import policies
from src.augment.batch import TrainingBatch
from src.augment.erasing import RandomErasing
from src.augment.mixing import BatchMixer, cutmix, mixup, partners
from src.dataset import DatasetError, create_dataset1, create_dataset2, create_dataset_from_config
from src.model_utils.config import get_config

SEED = 1
POLICIES = ["randaug-m9", "randaug-m7-n3-mstd0.5", "randaug-m9-mstd0.5-inc1", "randaug-m9-w0", "trivialaugwide",
            "autoaug", "autoaugr", "autoaug-cifar10", "autoaug-svhn"]


@pytest.fixture(autouse=True)
def restore_seed():
    """Each test seeds MindSpore itself (before every build, see _batches); the previous seed comes back."""
    previous = ds.config.get_seed()
    yield
    ds.config.set_seed(previous)


def _cifar(cifar_dirs, num_samples=16, **options):
    options.setdefault("train_augment", "crop_flip")
    return lambda: create_dataset1(cifar_dirs[0], True, batch_size=8, image_size=32, num_samples=num_samples,
                                   num_parallel_workers=1, augmentation=Augmentation(**options))


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


# --- auto_augment: the policies ---

@pytest.mark.parametrize("policy", POLICIES)
def test_every_policy_changes_training_images_of_both_pipelines(pipeline, policy):
    plain, augmented = _batches(pipeline()), _batches(pipeline(auto_augment=policy))
    for (images, labels), (base, base_labels) in zip(augmented, plain):
        assert images.shape == base.shape and images.dtype == np.float32
        np.testing.assert_array_equal(labels, base_labels)
    assert any(not np.array_equal(a[0], b[0]) for a, b in zip(augmented, plain))


@pytest.mark.parametrize("policy, message", [
    ("randaug-m11", r"M 11 is above the top magnitude 10 \(-mmax, default 10\); M counts on mindcv.s 0-10 scale"),
    ("randaug-m30", "M 30 is above the top magnitude 10"), ("randaug-m9-n0", "n must be at least 1"),
    ("randaug-m9-mstd", "section 'mstd' is not <key><number>"), ("randaug-m9-x3", "unknown section 'x'"),
    ("randaug-m9-w1", "only the weights w0 exist"), ("RandAug-m9", "unknown policy"),
    ("autoaugment", "unknown policy"), ("autoaug-imagenet", "section 'imagenet' is not"),
    ("trivialaugwide-m0", "m must be 1 to 31"), ("trivialaugwide-m50", "m must be 1 to 31"),
    ("randaug-m9-n14-w0", "drawn without replacement from the 13 of non-zero weight"),
    ("randaug-m20-mmax20", "Solarize at magnitude 20 fails"), ("randaug-m15", "M 15 is above the top magnitude 10"),
    (5, "is not a string")])
def test_unreadable_policy_is_a_dataset_error_before_any_data_is_read(policy, message):
    with pytest.raises(DatasetError, match=r"auto_augment: .*" + message):
        create_dataset1("/no/such/folder", True, augmentation=Augmentation(auto_augment=policy))


def test_mmax_below_10_caps_the_drawn_magnitudes():
    policy = policies.build_policy("randaug-m6-mmax6-mstd1")
    assert {op.level_max for op in policy.ops} == {6}
    assert max(policy.ops[0].draw_magnitude(np.random.default_rng(i)) for i in range(200)) == 6


def test_trivialaugwide_m_is_the_top_of_the_uniform_magnitude():
    """m5 draws magnitudes on [0, 5] of the 0-31 scale: rotations up to 135 * 5 / 31 degrees (mindcv's m does
    nothing: it scales by m)."""
    rotate = next(op for op in policies.build_policy("trivialaugwide-m5").ops if op.name == "Rotate")
    angles = [abs(rotate.argument(np.random.default_rng(i))) for i in range(500)]
    assert max(angles) <= 135 * 5 / 31 + 1e-9 and max(angles) > 0.9 * 135 * 5 / 31


def _mindcv_argument(name, magnitude, hparams):
    random.seed(0)
    return mindcv_aa.LEVEL_TO_ARG[name](magnitude, hparams)[0]


def _our_argument(name, magnitude, wide=False, top=policies.LEVEL_MAX):
    op = policies.AugmentOp(name, 1.0, magnitude, 0.0, top, wide)
    return op.argument(np.random.default_rng(0))


ARGUMENT_OPS = [name for name in policies.LEVEL_ARGUMENT]
ENHANCE_INCREASING = ("ColorIncreasing", "ContrastIncreasing", "BrightnessIncreasing", "SharpnessIncreasing")


def _unsigned(name, argument):
    """The drawn sign removed: 1 -/+ x for the increasing enhancements, -/+ x for the other signed ones."""
    return abs(argument - 1) if name in ENHANCE_INCREASING else abs(argument)


@pytest.mark.parametrize("name", ARGUMENT_OPS)
@pytest.mark.parametrize("magnitude", [0, 5, 9, 10])
def test_randaugment_arguments_are_mindcvs_on_the_0_to_10_scale(name, magnitude):
    """Each operation's argument at the scale's ends and between is mindcv's level function's (its sign is drawn)."""
    ours, theirs = _our_argument(name, magnitude), _mindcv_argument(name, magnitude, {})
    assert _unsigned(name, ours) == pytest.approx(_unsigned(name, theirs), abs=1e-9), (name, ours, theirs)


@pytest.mark.parametrize("name", policies.RANDAUG_OPS)
@pytest.mark.parametrize("magnitude", [0, 15.5, 31])
def test_trivialaugwide_arguments_are_mindcvs_on_the_0_to_31_scale(name, magnitude):
    if name not in policies.LEVEL_ARGUMENT:
        return
    hparams = {"trivialaugwide": True, "magnitude_max": 31, "translate_pct": 0.15}
    ours = _our_argument(name, magnitude, wide=True, top=31)
    assert abs(ours) == pytest.approx(abs(_mindcv_argument(name, magnitude, hparams)), abs=1e-9)


class _Recorder:
    """Replaces the image operations by records of (name, argument): what a policy drew, not what it drew on."""

    def __init__(self, monkeypatch):
        self.calls = []
        for name in policies._APPLY:
            monkeypatch.setitem(policies._APPLY, name, self._record(name))

    def _record(self, name):
        def build(argument):
            self.calls.append((name, argument))
            return lambda fill: (lambda image: image)
        return build


def _mindcv_records(transform, images):
    """(name, argument) per applied operation of a mindcv transform, for ``images`` calls."""
    calls = []
    ops = transform.ops if hasattr(transform, "ops") else [op for sub in transform.policy for op in sub]
    for op in ops:
        op.aug_fn = (lambda name: lambda img, *args, **kwargs: calls.append((name, args[0] if args else None)))(
            op.name)
    random.seed(1)
    np.random.seed(1)
    for _ in range(images):
        transform(None)
    return calls


def _ours_records(policy, images, monkeypatch):
    """(name, argument) per applied operation of one of our policy strings, for ``images`` calls."""
    built, recorder, rng = policies.build_policy(policy), _Recorder(monkeypatch), np.random.default_rng(1)
    for _ in range(images):
        built(None, rng, (0, 0, 0))
    return recorder.calls


def _statistics(calls, images):
    names = [name for name, _ in calls]
    rotations = [abs(a) for name, a in calls if name == "Rotate"]
    return {"ops per image": len(calls) / images,
            "Rotate share": names.count("Rotate") / max(1, len(names)),
            "Invert share": names.count("Invert") / max(1, len(names)),
            "mean |Rotate|": float(np.mean(rotations)) if rotations else 0.0}


@pytest.mark.parametrize("policy, mindcv_policy, tolerance", [
    ("randaug-m9-mstd0.5", lambda: mindcv_aa.rand_augment_transform("randaug-m9-mstd0.5", {}),
     {"ops per image": 0.03, "Rotate share": 0.01, "Invert share": 0.01, "mean |Rotate|": 0.3}),
    ("randaug-m5", lambda: mindcv_aa.rand_augment_transform("randaug-m5", {}),
     {"ops per image": 0.03, "Rotate share": 0.01, "Invert share": 0.01, "mean |Rotate|": 0.3}),
    ("trivialaugwide", lambda: mindcv_aa.trivial_augment_wide_transform("trivialaugwide", {}),
     {"ops per image": 1e-9, "Rotate share": 0.01, "Invert share": 0.01, "mean |Rotate|": 2.5}),
    ("autoaug", lambda: mindcv_aa.auto_augment_transform("autoaug", {}),
     {"ops per image": 0.03, "Rotate share": 0.01, "Invert share": 0.01, "mean |Rotate|": 0.3}),
])
def test_policy_draws_match_mindcvs(policy, mindcv_policy, tolerance, monkeypatch):
    """Over 12,000 images: operations applied per image (RandAugment: 2 x 0.5), which ones, and the mean
    strength of one (Rotate) are mindcv's within the stated tolerances (their random streams differ)."""
    images = 12000
    ours = _statistics(_ours_records(policy, images, monkeypatch), images)
    theirs = _statistics(_mindcv_records(mindcv_policy(), images), images)
    for key, allowed in tolerance.items():
        assert abs(ours[key] - theirs[key]) <= allowed, (key, ours, theirs)


def test_randaugment_applies_each_of_n_ops_with_probability_half_at_a_noisy_magnitude(monkeypatch):
    policy = policies.build_policy("randaug-m7-n3-mstd2")
    assert len(policy.ops) == 14 and "Invert" in [op.name for op in policy.ops] and policy.num_ops == 3
    assert {op.prob for op in policy.ops} == {0.5} and {op.std for op in policy.ops} == {2.0}
    rng = np.random.default_rng(0)
    draws = np.array([policy.ops[0].draw_magnitude(rng) for _ in range(20000)])
    assert draws.min() >= 0.0 and draws.max() == 10.0
    assert abs(np.mean(draws) - 7) < 0.2 and 1.5 < draws.std() < 2.0  # N(7, 2) clipped to [0, 10], per call
    recorded = _ours_records("randaug-m7-n3-mstd2", 10000, monkeypatch)
    assert abs(len(recorded) / 10000 - 1.5) < 0.04  # 3 ops, each applied with probability 0.5
    uniform = policies.build_policy("randaug-m8-mstd101").ops[0]
    spread = np.array([uniform.draw_magnitude(rng) for _ in range(20000)])
    assert spread.min() >= 0 and spread.max() <= 8 and abs(spread.mean() - 4) < 0.1
    assert {policies.build_policy("randaug-m7").ops[0].std} == {policies.DEFAULT_MSTD}


def test_trivialaugwide_applies_one_op_at_a_uniform_magnitude(monkeypatch):
    calls = _ours_records("trivialaugwide", 5000, monkeypatch)
    assert len(calls) == 5000
    rotations = np.array([abs(a) for name, a in calls if name == "Rotate"])
    assert rotations.max() <= 135 and abs(rotations.mean() - 67.5) < 6


def test_autoaugment_draws_one_sub_policy_with_its_probabilities(monkeypatch):
    calls = _ours_records("autoaug-cifar10", 20000, monkeypatch)
    expected = sum(p for sub in policies.CIFAR10_POLICY for _, p, _ in sub) / len(policies.CIFAR10_POLICY)
    assert abs(len(calls) / 20000 - expected) < 0.03
    rotations = {abs(a) for name, a in calls if name == "Rotate"}
    # the policy's one Rotate step: bin 2 of 9 of torchvision's 30 degrees
    assert max(rotations) == pytest.approx(min(rotations)) == pytest.approx(30 * 2 / 9)


@pytest.mark.parametrize("name, argument, check", [
    ("Rotate", 90.0, lambda image, out: np.array_equal(out[1:-1, 1:-1], np.rot90(image)[1:-1, 1:-1])),
    ("Solarize", 128, lambda image, out: np.array_equal(out, np.where(image >= 128, 255 - image, image))),
    ("Posterize", 4, lambda image, out: np.array_equal(out, image & 0xF0)),
    ("Invert", None, lambda image, out: np.array_equal(out, 255 - image)),
])
def test_operations_do_what_their_argument_says(name, argument, check):
    image = np.random.default_rng(0).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    out = policies._APPLY[name](argument)((0, 0, 0))(image)
    assert check(image, out)


def test_translation_moves_by_the_fraction_of_the_side_and_fills_with_the_mean():
    image = np.random.default_rng(0).integers(0, 256, (20, 40, 3), dtype=np.uint8)
    out = policies._APPLY["TranslateX"](0.25)((9, 9, 9))(image)
    np.testing.assert_array_equal(out[:, 10:], image[:, :30])
    assert (out[:, :10] == 9).all()


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


def _mindspore_boxes(scale, ratio, count):
    """Boxes of MindSpore's RandomErasing, which mindcv uses: (area share, width / height) per image."""
    ds.config.set_seed(SEED)
    random.seed(SEED)
    erase = V.RandomErasing(1.0, scale, ratio, 1)
    boxes = []
    for _ in range(count):
        mask = erase(np.zeros((3, 40, 40), np.float32))[0] == 1
        rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
        boxes.append((mask.mean(), len(cols) / len(rows)))
    return np.array(boxes)


def _our_boxes(scale, ratio, count, aspect="uniform"):
    erasing, rng = RandomErasing(1.0, scale, ratio, aspect=aspect), np.random.default_rng(SEED)
    boxes = [erasing.draw_box(40, 40, rng) for _ in range(count)]
    return np.array([(h * w / 1600, w / h) for _, _, h, w in boxes])


def test_random_erasing_boxes_match_mindcvs():
    """mindcv erases with MindSpore's RandomErasing: the same mean area and share of boxes wider than tall
    (uniform aspect on [0.3, 3.3]: about 3 in 4) over 3,000 draws; timm's log-uniform draw: about 1 in 2."""
    scale, ratio = (0.02, 0.33), (0.3, 3.3)
    ours, theirs = _our_boxes(scale, ratio, 3000), _mindspore_boxes(scale, ratio, 3000)
    assert abs(ours[:, 0].mean() - theirs[:, 0].mean()) < 0.01
    assert abs((ours[:, 1] > 1).mean() - (theirs[:, 1] > 1).mean()) < 0.04 and (ours[:, 1] > 1).mean() > 0.7
    log = _our_boxes(scale, ratio, 3000, "log_uniform")
    assert abs((log[:, 1] > 1).mean() - 0.5) < 0.04 and abs(np.log(log[:, 1]).mean()) < 0.06


@pytest.mark.parametrize("mode", ["pixel", "rand"])
def test_random_erasing_noise_modes(mode):
    image = np.zeros((3, 32, 32), np.float32)
    RandomErasing(1.0, (0.2, 0.2), (1.0, 1.0), mode=mode)(image, np.random.default_rng(0))
    box = image[:, image.any(axis=0).any(axis=1)][:, :, image.any(axis=0).any(axis=0)]
    assert box.size > 0 and abs(box.std() - 1) < 0.5
    per_channel = len(np.unique(box[0]))
    assert per_channel > 20 if mode == "pixel" else per_channel == 1


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


def test_cutmix_prob_is_the_probability_of_mixing_with_an_even_switch_as_mindcv():
    """20,000 batches: share mixed, share of CutMix among them, mean weight, against mindcv's Mixup in batch mode
    (prob = cutmix_prob, switch_prob 0.5), the way mindcv's loader builds it."""
    count = 20000
    for prob, mixup_alpha, cutmix_alpha in [(1.0, 0.2, 1.0), (0.5, 0.8, 1.0), (0.6, 0.0, 1.0), (0.3, 0.2, 0.0)]:
        mixer, rng = BatchMixer(mixup_alpha, cutmix_alpha, prob), np.random.default_rng(SEED)
        ours = [mixer.draw(rng) for _ in range(count)]
        theirs_mixer = MindcvMixup(mixup_alpha=mixup_alpha, cutmix_alpha=cutmix_alpha, prob=prob, switch_prob=0.5)
        np.random.seed(SEED)
        theirs = [theirs_mixer._params_per_batch() for _ in range(count)]
        ours_mixed = [(kind == "cutmix", lam) for kind, lam in ours if kind]
        theirs_mixed = [(use_cutmix, lam) for lam, use_cutmix in theirs if lam != 1.0]
        assert abs(len(ours_mixed) / count - len(theirs_mixed) / count) < 0.015
        assert abs(len(ours_mixed) / count - prob) < 0.015
        share = np.mean([c for c, _ in ours_mixed])
        assert abs(share - np.mean([c for c, _ in theirs_mixed])) < 0.02
        # Beta draws spread by up to 0.46: 0.03 is about four standard errors of the difference
        assert abs(np.mean([lam for _, lam in ours_mixed]) - np.mean([lam for _, lam in theirs_mixed])) < 0.03


def test_cutmix_box_and_weight_match_mindcvs():
    """For a drawn weight, the box's clipped area (the corrected weight) has mindcv's mean and spread."""
    rng = np.random.default_rng(SEED)
    np.random.seed(SEED)
    images, labels = np.zeros((2, 1, 32, 32), np.float32), np.eye(2, dtype=np.float32)
    for lam in (0.3, 0.7, 0.95):
        ours = [float(cutmix(images.copy(), labels, lam, rng)[1][0, 0]) for _ in range(4000)]
        theirs = [cutmix_bbox_and_lam((1, 32, 32), lam)[1] for _ in range(4000)]
        assert abs(np.mean(ours) - np.mean(theirs)) < 0.01 and abs(np.std(ours) - np.std(theirs)) < 0.01


def test_odd_batches_mix_every_image_with_another_one():
    for size in (2, 5, 7, 8):
        order = partners(size)
        assert (order != np.arange(size)).all() and sorted(order) == list(range(size))
    images = np.arange(5, dtype=np.float32).reshape(5, 1, 1, 1)
    mixed, _ = mixup(images.copy(), np.eye(5, dtype=np.float32), 0.5)
    assert len(set(mixed.ravel())) == 5 and (mixed.ravel() != images.ravel()).all()


def test_mixing_stops_after_mixup_off_epoch_epochs_as_timm(cifar_dirs):
    """mixup_off_epoch 1 (timm: off when the 0-based epoch >= 1): the first epoch is mixed, the second keeps the
    images and soft one-hot labels."""
    plain = _batches(_cifar(cifar_dirs, train_augment="none"), epochs=2)
    mixed = _batches(_cifar(cifar_dirs, train_augment="none", mixup=1.0, class_num=10, label_smoothing=0.1,
                            mixup_off_epoch=1), epochs=2)
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
        return create_dataset1(cifar_dirs[0], True, batch_size=8, image_size=32, num_samples=32,
                               augmentation=Augmentation(train_augment="none", mixup=0.5, cutmix=1.0, cutmix_prob=0.5,
                                                         class_num=10))
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


def _batch_info(epoch, batch):
    return SimpleNamespace(get_epoch_num=lambda: epoch, get_batch_num=lambda: batch)


def test_batch_draws_depend_only_on_seed_rank_epoch_and_batch_number():
    images = [np.full((4, 4, 3), 40 * i, np.uint8) for i in range(4)]
    labels = [np.int32(i) for i in range(4)]

    def build(rank=0):
        return TrainingBatch(1.0, [0.0] * 3, [1.0] * 3, policy=policies.build_policy("randaug-m9"),
                             box_ops=[RandomErasing(0.5, (0.1, 0.3), (0.5, 2))], mixer=BatchMixer(1.0, 1.0, 0.5),
                             class_num=4, seed=3, rank=rank)
    mix = build()

    def at(epoch, batch, batch_map=mix):
        return batch_map(images, labels, _batch_info(epoch, batch))
    first = at(1, 2)
    at(0, 0)
    at(4, 7)
    for a, b in zip(first, at(1, 2)):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[1], at(1, 3)[1])
    assert not np.array_equal(first[1], at(1, 2, build(rank=1))[1])  # each data-parallel rank draws its own
    with pytest.raises(ValueError, match="label 4 >= class_num 4"):
        mix(images, labels[:3] + [np.int32(4)], _batch_info(0, 0))


# --- defaults, config and errors ---

def test_defaults_leave_the_pipelines_as_they_were(cifar_dirs, imagenet_root):
    builds = [(lambda: create_dataset1(cifar_dirs[0], True, batch_size=8, image_size=32, num_samples=16,
                                       num_parallel_workers=1), _cifar(cifar_dirs)),
              (lambda: create_dataset1(cifar_dirs[0], True, batch_size=8, image_size=32, num_samples=16,
                                       num_parallel_workers=1),
               # a batch map that draws nothing normalises exactly as the per-image map
               _cifar(cifar_dirs, re_prob=1.0, re_max_attempts=1, re_scale=(1.0, 1.0))),
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
    assert plain.policy() is None and plain.box_ops() == [] and plain.batch_map(1.0, [0] * 3, [1] * 3) is None


def test_a_bad_option_in_the_config_stops_the_run_when_the_config_is_read(capsys):
    with pytest.raises(SystemExit) as stopped:
        _config("--dataset_path", "/no/such/folder", "--auto_augment", "randaug-x")
    assert stopped.value.code == 2
    assert "key 'auto_augment': 'randaug-x': section 'x' is not <key><number>" in capsys.readouterr().err
