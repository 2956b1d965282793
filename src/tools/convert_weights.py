"""Weights from timm or mindcv -> a checkpoint with this project's (the official) parameter names.

    python -m src.tools.convert_weights --source timm --input model.safetensors --output mobilenetv1_timm.ckpt
    python -m src.tools.convert_weights --source mindcv --input mobilenet_v1_100.ckpt --output mobilenetv1_mindcv.ckpt

timm's ``mobilenetv1_100`` / ``mobilenetv1_125`` state dicts (``.safetensors``, or ``.pth``/``.bin``/``.pth.tar``
written by ``torch.save``; read without PyTorch, tensors only, nothing in the file is executed) and mindcv's
``mobilenet_v1_025..100`` checkpoints map one to one onto ``network.{i}.{0,1}.*`` and ``fc.*``. The converted
network needs ``--conv_padding symmetric`` (both pad one pixel on every side), plus ``--activation relu`` for
mindcv, and ``--class_num`` of the source (timm 1000, mindcv 1001).
"""
import argparse
import json
import os
import pickle
import re
import struct
import sys
import zipfile

import numpy as np

from src.model_utils.errors import UserInputError
from src.mobilenet_v1 import SEPARABLE_LAYERS, STEM_CHANNELS

SOURCES = ("timm", "mindcv")
# the network options each source's weights were trained with
SOURCE_TRAINING = {"stem_stride": 2, "dataset": "imagenet2012", "image_size": 224}  # both trained on ImageNet at 224
SOURCE_NETWORK_OPTIONS = {"timm": {"conv_padding": "symmetric", "activation": "relu6"},
                          "mindcv": {"conv_padding": "symmetric", "activation": "relu"}}
BN_NAMES = {"timm": {"weight": "gamma", "bias": "beta", "running_mean": "moving_mean",
                     "running_var": "moving_variance"},
            "mindcv": {name: name for name in ("gamma", "beta", "moving_mean", "moving_variance")}}
SAFETENSORS_DTYPES = {"F64": np.float64, "F32": np.float32, "F16": np.float16, "I64": np.int64, "I32": np.int32,
                      "I16": np.int16, "I8": np.int8, "U8": np.uint8, "BOOL": np.bool_}
TORCH_STORAGE_DTYPES = {"DoubleStorage": np.float64, "FloatStorage": np.float32, "HalfStorage": np.float16,
                        "LongStorage": np.int64, "IntStorage": np.int32, "ShortStorage": np.int16,
                        "CharStorage": np.int8, "ByteStorage": np.uint8, "BoolStorage": np.bool_}
# training state and bookkeeping a source file may carry besides the network's tensors
NOT_WEIGHTS = re.compile(r"(num_batches_tracked|^moments\.|^momentum|^learning_rate|^global_step|^scale_sense|"
                         r"^current_iterator_step|^epoch_num|^step_num|^adam_|^ema\.)")


class WeightConversionError(UserInputError):
    """An input file that cannot be read, or whose tensors are not a MobileNetV1 of that source."""


def read_safetensors(path):
    """{name: array} of a .safetensors file (8-byte header length, JSON header, raw little-endian data)."""
    with open(path, "rb") as f:
        raw = f.read()
    try:
        (header_len,) = struct.unpack("<Q", raw[:8])
        header = json.loads(raw[8:8 + header_len])
    except (struct.error, ValueError) as err:
        raise WeightConversionError(f"{path} is not a safetensors file: {err}") from err
    data = memoryview(raw)[8 + header_len:]
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] not in SAFETENSORS_DTYPES:
            raise WeightConversionError(f"{path}: tensor {name} has unsupported dtype {info['dtype']}")
        begin, end = info["data_offsets"]
        if end > len(data):
            raise WeightConversionError(f"{path} is truncated: tensor {name} ends at byte {end} of {len(data)}")
        dtype = np.dtype(SAFETENSORS_DTYPES[info["dtype"]]).newbyteorder("<")
        tensors[name] = np.frombuffer(data[begin:end], dtype=dtype).reshape(info["shape"]).copy()
    return tensors


class _TorchStorage:
    """Where a saved tensor's bytes are: the zip member and its element type."""

    def __init__(self, archive, prefix, key, dtype):
        self.array = np.frombuffer(archive.read(f"{prefix}data/{key}"), dtype=np.dtype(dtype).newbyteorder("<"))


def _rebuild_tensor(storage, offset, size, stride, *_unused):
    itemsize = storage.array.itemsize
    view = np.lib.stride_tricks.as_strided(storage.array[offset:], shape=tuple(size),
                                           strides=tuple(s * itemsize for s in stride))
    return view.copy()


class _TensorOnlyUnpickler(pickle.Unpickler):
    """Unpickles torch.save archives of tensors and plain containers; refuses any other object."""

    def __init__(self, file, archive, prefix, path):
        super().__init__(file)
        self.archive, self.prefix, self.path = archive, prefix, path

    def find_class(self, module, name):
        if (module, name) in (("torch._utils", "_rebuild_tensor_v2"), ("torch._utils", "_rebuild_tensor")):
            return _rebuild_tensor
        if (module, name) == ("torch._utils", "_rebuild_parameter"):
            return lambda tensor, *_unused: tensor
        if (module, name) == ("collections", "OrderedDict"):
            return dict
        if module == "torch" and name in TORCH_STORAGE_DTYPES:
            return TORCH_STORAGE_DTYPES[name]
        raise WeightConversionError(f"{self.path} holds a {module}.{name} object; only tensors can be read "
                                    "(save the model's state_dict, or use .safetensors)")

    def persistent_load(self, pid):
        kind, dtype, key = pid[0], pid[1], pid[2]
        if kind != "storage":
            raise WeightConversionError(f"{self.path}: unknown storage record {kind!r}")
        return _TorchStorage(self.archive, self.prefix, key, dtype)


def read_torch_archive(path):
    """The object a zip-format ``torch.save`` file holds, with tensors as arrays (no PyTorch needed)."""
    try:
        archive = zipfile.ZipFile(path)
        pickle_name = next(n for n in archive.namelist() if n.endswith("data.pkl"))
    except (zipfile.BadZipFile, StopIteration) as err:
        raise WeightConversionError(f"{path} is not a torch.save zip archive (nor .safetensors): {err}") from err
    prefix = pickle_name[:-len("data.pkl")]
    with archive, archive.open(pickle_name) as f:
        try:
            return _TensorOnlyUnpickler(f, archive, prefix, path).load()
        except (pickle.UnpicklingError, KeyError, EOFError, ValueError) as err:
            raise WeightConversionError(f"cannot read {path}: {err}") from err


def _state_dict_of(obj, path):
    """The tensor dict inside a training checkpoint ({'state_dict': ...}, {'model': ...}) or the dict itself."""
    for key in ("state_dict_ema", "state_dict", "model"):
        if isinstance(obj, dict) and isinstance(obj.get(key), dict):
            obj = obj[key]
            break
    if not isinstance(obj, dict) or not obj:
        raise WeightConversionError(f"{path} holds no state dict")
    return {re.sub(r"^module\.", "", name): value for name, value in obj.items() if isinstance(value, np.ndarray)}


def read_source_weights(path, source):
    """{name: array} of the source file, in the source's own parameter names."""
    if not os.path.isfile(path):
        raise WeightConversionError(f"weights file {path} does not exist")
    if source == "mindcv":
        from src.checkpoint import read_checkpoint
        return {name: param.asnumpy() for name, param in read_checkpoint(path).items()}
    if path.endswith(".safetensors"):
        return read_safetensors(path)
    return _state_dict_of(read_torch_archive(path), path)


def _layer_prefixes(source):
    """[(source prefix of conv i, source prefix of BN i)] for the 27 conv blocks, in network order."""
    if source == "timm":
        layers = [("conv_stem", "bn1")]
        stage, index = -1, 0
        for position, (_, stride) in enumerate(SEPARABLE_LAYERS):
            if position == 0 or stride == 2:  # timm starts a stage at the first block and at every stride 2
                stage, index = stage + 1, 0
            block = f"blocks.{stage}.{index}"
            layers += [(f"{block}.conv_dw", f"{block}.bn1"), (f"{block}.conv_pw", f"{block}.bn2")]
            index += 1
        return layers
    layers = [("features.0", "features.1")]
    for position in range(len(SEPARABLE_LAYERS)):
        block = f"features.{3 + position}"
        layers += [(f"{block}.0", f"{block}.1"), (f"{block}.3", f"{block}.4")]
    return layers


def name_map(source):
    """{source parameter name: this project's name} for every tensor the network needs."""
    mapping = {}
    for i, (conv, bn) in enumerate(_layer_prefixes(source)):
        mapping[f"{conv}.weight"] = f"network.{i}.0.weight"
        for theirs, ours in BN_NAMES[source].items():
            mapping[f"{bn}.{theirs}"] = f"network.{i}.1.{ours}"
    mapping["classifier.weight"], mapping["classifier.bias"] = "fc.weight", "fc.bias"
    return mapping


def convert(weights, source, path="weights"):
    """{our name: float32 array}; fails naming the tensors that are missing or left over."""
    mapping = name_map(source)
    missing = sorted(set(mapping) - set(weights))
    if missing:
        raise WeightConversionError(f"{path} is not a {source} MobileNetV1: {len(missing)} tensors missing, "
                                    f"e.g. {', '.join(missing[:3])}")
    extra = sorted(n for n in weights if n not in mapping and not NOT_WEIGHTS.search(n))
    if extra:
        raise WeightConversionError(f"{path} has tensors a MobileNetV1 of {source} does not: "
                                    f"{', '.join(extra[:3])} (a variant with a head conv, e.g. mobilenetv1_100h?)")
    return {ours: np.ascontiguousarray(weights[theirs], dtype=np.float32) for theirs, ours in mapping.items()}


def infer_network_options(converted):
    """width multiplier and class count implied by the converted tensors."""
    stem_channels = converted["network.0.0.weight"].shape[0]
    return {"width_multiplier": stem_channels / STEM_CHANNELS, "class_num": converted["fc.weight"].shape[0]}


def save(converted, output, settings):
    """Write the converted tensors as a MindSpore checkpoint, atomically, recording the network ``settings``
    (src/model_settings.py) that eval.py, export.py and predict.py then take from it."""
    import mindspore as ms
    from src.checkpoint import save_checkpoint_atomically
    from src.model_settings import settings_entry
    params = [{"name": name, "data": ms.Tensor(value)} for name, value in converted.items()]
    save_checkpoint_atomically(params, output, settings_entry(settings))


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Convert timm or mindcv MobileNetV1 weights to this project's checkpoint")
    parser.add_argument("--source", choices=SOURCES, required=True)
    parser.add_argument("--input", required=True, help="timm: .safetensors or torch.save file; mindcv: .ckpt")
    parser.add_argument("--output", required=True, help="checkpoint to write (.ckpt)")
    args = parser.parse_args(argv)
    try:
        converted = convert(read_source_weights(args.input, args.source), args.source, args.input)
        options = {**infer_network_options(converted), **SOURCE_NETWORK_OPTIONS[args.source]}
        save(converted, args.output, {**options, **SOURCE_TRAINING})
    except UserInputError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    flags = " ".join(f"--{key} {value}" for key, value in options.items())
    print(f"converted {len(converted)} tensors from {args.input} -> {args.output}")
    print(f"use it with: {flags}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
