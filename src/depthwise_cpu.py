"""Depthwise 3x3 convolution for CPU training, run by this repository's C++ kernel.

MindSpore's CPU ``Conv2d(group=channels)`` takes about 60 % of a MobileNetV1 training step at
32x32 (oneDNN's plain-NCHW depthwise path); ``src/kernels/depthwise_conv3x3.cc`` computes the same
forward and backward as two MindSpore AOT custom ops (the full Fashion-MNIST recipe's training
steps: 2.0x faster, README "C++ depthwise kernel"). The cell keeps ``nn.Conv2d``'s parameter (``weight``,
shape (C, 1, 3, 3)), so checkpoints move freely between the two implementations; export always
uses ``nn.Conv2d`` (custom ops do not export).

The library is compiled once per source version and CPU type with the system C++ compiler
(``g++ -O3 -march=native -fopenmp``) into ``$XDG_CACHE_HOME/mobilenetv1`` (default
``~/.cache/mobilenetv1``), written under a temporary name and renamed, so concurrent workers of a
data-parallel job never load a half-written file.
"""
import functools
import hashlib
import os
import platform
import shutil
import subprocess
import tempfile

from mindspore import nn, ops
from mindspore.common.initializer import XavierUniform, initializer
from mindspore.common.parameter import Parameter

from src.model_utils.errors import UserInputError

SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "kernels", "depthwise_conv3x3.cc")
COMPILE_FLAGS = ("-std=c++17", "-O3", "-march=native", "-fopenmp", "-shared", "-fPIC")
IMPLEMENTATIONS = ("auto", "mindspore", "cpp")


def _cache_dir():
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "mobilenetv1")


def compiler():
    """The C++ compiler used for the kernel (CXX, else g++), or None when there is none."""
    return shutil.which(os.environ.get("CXX", "g++"))


def _cpu_features():
    """The CPU's instruction-set flags: -march=native code is only reused on a CPU that has the same."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            return next((line for line in cpuinfo if line.startswith(("flags", "Features"))), platform.machine())
    except OSError:
        return platform.machine()


@functools.lru_cache(maxsize=None)
def _library_name():
    """File name of the library for this source, these flags and this CPU (read once per process:
    every depthwise layer of a network asks for the library)."""
    with open(SOURCE, "rb") as handle:
        key = handle.read() + " ".join(COMPILE_FLAGS).encode() + _cpu_features().encode()
    return f"depthwise_conv3x3-{hashlib.sha256(key).hexdigest()[:16]}.so"


def kernel_library():
    """Path of the compiled kernel library, compiling it first when this source version has none."""
    library = os.path.join(_cache_dir(), _library_name())
    if os.path.exists(library):
        return library
    cxx = compiler()
    if cxx is None:
        raise UserInputError("depthwise_impl 'cpp' needs a C++ compiler (g++, or set CXX): "
                             "apt-get install g++, or use --depthwise_impl mindspore")
    os.makedirs(_cache_dir(), exist_ok=True)
    fd, partial = tempfile.mkstemp(suffix=".so.partial", dir=_cache_dir())
    os.close(fd)
    try:
        result = subprocess.run([cxx, *COMPILE_FLAGS, "-o", partial, SOURCE], capture_output=True, text=True)
        if result.returncode != 0:
            raise UserInputError(f"compiling {SOURCE} failed:\n{result.stderr.strip()}\n"
                                 "use --depthwise_impl mindspore to train without it")
        os.replace(partial, library)
    finally:
        if os.path.exists(partial):
            os.remove(partial)
    return library


def resolve_implementation(name, device_target, amp_level="O0"):
    """'auto' -> 'cpp' for float32 on CPU when a C++ compiler exists, else 'mindspore'; others checked.

    The kernel is float32-only and CPU-only: amp levels other than O0 ('auto' is O0 on CPU) and
    other devices make 'cpp' an error.
    """
    if name not in IMPLEMENTATIONS:
        raise UserInputError(f"depthwise_impl must be one of {IMPLEMENTATIONS}, got {name!r}")
    usable = device_target == "CPU" and amp_level in ("auto", "O0")
    if name == "auto":
        return "cpp" if usable and compiler() is not None else "mindspore"
    if name == "cpp" and not usable:
        raise UserInputError(f"depthwise_impl 'cpp' runs float32 on CPU only (device_target {device_target}, "
                             f"amp_level {amp_level}); use --depthwise_impl mindspore or auto")
    return name


def _output_length(length, stride, same_padding):
    return -(-length // stride) if same_padding else (length - 1) // stride + 1


class DepthwiseConv3x3CPU(nn.Cell):
    """Depthwise 3x3 convolution without bias, stride 1 or 2, 'same' or symmetric padding (float32, CPU)."""

    def __init__(self, channels, stride, conv_padding="same"):
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f"stride must be 1 or 2, got {stride}")
        same = conv_padding == "same"
        self.weight = Parameter(initializer(XavierUniform(), (channels, 1, 3, 3)), name="weight")
        library = kernel_library()
        variant = "S1" if stride == 1 else ("S2Same" if same else "S2Symmetric")

        def output_shape(x_shape, _w_shape):
            return (x_shape[0], x_shape[1], _output_length(x_shape[2], stride, same),
                    _output_length(x_shape[3], stride, same))

        backward = ops.Custom(f"{library}:DepthwiseBackward{variant}", out_shape=lambda x, w, dy: (x, w),
                              out_dtype=lambda x, w, dy: (x, w), func_type="aot")

        def bprop(x, w, _out, dout):
            return backward(x, w, dout)

        self.depthwise = ops.Custom(f"{library}:DepthwiseForward{variant}", out_shape=output_shape,
                                    out_dtype=lambda x, w: x, func_type="aot", bprop=bprop)

    def construct(self, x):
        return self.depthwise(x, self.weight)
