"""Build and load this repository's C++ CPU kernels (src/cpu_kernels/*.cc) for MindSpore AOT custom ops.

A library is compiled once per source version and CPU type with the system C++ compiler
(``g++ -O3 -march=native -fopenmp``, linked against the MindSpore libraries it calls) into
the cache folder (src/cache.py), written under a temporary name
and renamed, so concurrent workers of a data-parallel job never load a half-written file.
``resolve_implementation`` turns the ``depthwise_impl`` / ``batchnorm_impl`` / ``pointwise_impl`` /
``stem_impl`` / ``inference_impl`` / ``optimizer_impl`` config keys (auto|mindspore|cpp) into what a run
uses; ``weight_op`` turns a kernel's forward and backward entry points for a layer of (x, w) into one differentiable
MindSpore op.
"""
import ctypes
import functools
import hashlib
import importlib.util
import logging
import os
import platform
import shutil
import subprocess
import tempfile

from src.cache import cache_dir
from src.model_utils.errors import UserInputError

logger = logging.getLogger(__name__)
KERNEL_DIR = os.path.dirname(os.path.abspath(__file__))
# config key -> the kernel source (src/cpu_kernels/<name>.cc) it turns on
SOURCES = {"depthwise_impl": "depthwise_conv3x3", "batchnorm_impl": "batchnorm_activation",
           "pointwise_impl": "pointwise_conv", "stem_impl": "stem_conv", "inference_impl": "inference",
           "optimizer_impl": "momentum_update"}
_warned = set()
COMPILE_FLAGS = ("-std=c++17", "-O3", "-march=native", "-fopenmp", "-shared", "-fPIC")
IMPLEMENTATIONS = ("auto", "mindspore", "cpp")
# Kernels whose library also holds other kernels' sources, whose entry points it calls.
COMPOSED_OF = {"conv_batchnorm": ("depthwise_conv3x3", "pointwise_conv", "stem_conv", "batchnorm_activation")}
# Libraries of MindSpore's own lib/ folder a kernel links against (oneDNN's sgemm for the matrix products).
MINDSPORE_LIBRARIES = {kernel: ("libdnnl.so.3",) for kernel in ("pointwise_conv", "stem_conv", "inference",
                                                                  "conv_batchnorm")}


def _cache_dir():
    folder = cache_dir()
    if folder is None:
        raise UserInputError("no writable folder for the built C++ kernels: set MOBILENETV1_CACHE to one")
    return folder


def compiler():
    """The C++ compiler used for the kernels (CXX, else g++), or None when there is none."""
    return shutil.which(os.environ.get("CXX", "g++"))


def _cpu_features():
    """The CPU's instruction-set flags: -march=native code is only reused on a CPU that has the same."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            return next((line for line in cpuinfo if line.startswith(("flags", "Features"))), platform.machine())
    except OSError:
        return platform.machine()


def _link_flags(kernel, config_key):
    """Linker flags for the MindSpore libraries ``kernel`` calls (found in this MindSpore's lib/ folder)."""
    needed = MINDSPORE_LIBRARIES.get(kernel, ())
    if not needed:
        return []
    lib_dir = os.path.join(os.path.dirname(importlib.util.find_spec("mindspore").origin), "lib")
    missing = [name for name in needed if not os.path.exists(os.path.join(lib_dir, name))]
    if missing:
        raise UserInputError(f"{config_key} 'cpp' needs {', '.join(missing)} from MindSpore, not found in {lib_dir}; "
                             f"use --{config_key} mindspore")
    return [f"-L{lib_dir}", *(f"-l:{name}" for name in needed), f"-Wl,-rpath,{lib_dir}"]


def _sources(kernel):
    """The .cc files of ``kernel``'s library: its own, then those it is composed of."""
    return [f"{name}.cc" for name in (kernel, *COMPOSED_OF.get(kernel, ()))]


@functools.lru_cache(maxsize=None)
def _library_name(kernel, link_flags=()):
    """File name of the library for this source, the shared headers (*.h), these flags, the
    libraries it links and this CPU (hashed once per process: every layer asks for its library)."""
    sources = _sources(kernel) + sorted(name for name in os.listdir(KERNEL_DIR) if name.endswith(".h"))
    key = b""
    for name in sources:
        with open(os.path.join(KERNEL_DIR, name), "rb") as handle:
            key += handle.read()
    key += " ".join(COMPILE_FLAGS + link_flags).encode() + _cpu_features().encode()
    return f"{kernel}-{hashlib.sha256(key).hexdigest()[:16]}.so"


def kernel_library(kernel, config_key):
    """Path of the compiled library of src/cpu_kernels/<kernel>.cc, compiling it first when this source
    version has none; errors name ``config_key``, the option that turns the kernel off."""
    link_flags = _link_flags(kernel, config_key)
    library = os.path.join(_cache_dir(), _library_name(kernel, tuple(link_flags)))
    if os.path.exists(library):
        return library
    cxx = compiler()
    if cxx is None:
        raise UserInputError(f"{config_key} 'cpp' needs a C++ compiler (g++, or set CXX): "
                             f"apt-get install g++, or use --{config_key} mindspore")
    sources = [os.path.join(KERNEL_DIR, name) for name in _sources(kernel)]
    os.makedirs(_cache_dir(), exist_ok=True)
    fd, partial = tempfile.mkstemp(suffix=".so.partial", dir=_cache_dir())
    os.close(fd)
    try:
        result = subprocess.run([cxx, *COMPILE_FLAGS, "-o", partial, *sources, *link_flags], capture_output=True,
                                text=True)
        if result.returncode != 0:
            lines = result.stderr.strip().splitlines() or [f"{cxx} exited with {result.returncode}"]
            first = next((line for line in lines if "error" in line), lines[0])
            raise UserInputError(f"compiling {sources[0]} failed ({first.strip()}); use --{config_key} mindspore to "
                                 "run without it")
        os.replace(partial, library)
    finally:
        if os.path.exists(partial):
            os.remove(partial)
    return library


def _unusable_because(config_key, kernel=None):
    """None when the C++ kernel of ``config_key`` (or ``kernel``, a library the key's kernel is part of) builds
    (or is built) and loads here; else why, in one line."""
    kernel = kernel or SOURCES[config_key]
    try:
        ctypes.CDLL(kernel_library(kernel, config_key))
    except UserInputError as err:
        return str(err)
    except OSError as err:  # the library or one it needs (libgomp, MindSpore's libdnnl) does not load
        return f"the built {kernel} kernel does not load ({err})"
    return None


@functools.lru_cache(maxsize=None)
def composed_library_usable(kernel, config_key):
    """Whether the library ``kernel`` (of COMPOSED_OF) builds and loads here; when not, one warning line says
    why and the kernels it is composed of run as separate ops."""
    reason = _unusable_because(config_key, kernel)
    if reason is not None:
        logger.warning("%s: the %s kernels run as separate ops: %s", config_key, kernel, reason)
    return reason is None


def resolve_implementation(name, device_target, amp_level="O0", config_key="depthwise_impl"):
    """'auto' -> 'cpp' for float32 on CPU when the kernel builds and loads here, else 'mindspore'.

    The kernels are float32-only and CPU-only: amp levels other than O0 ('auto' is O0 on CPU) and
    other devices make 'cpp' an error. Under 'auto' a kernel that cannot be built or loaded (no
    compiler, no OpenMP, a MindSpore library missing, no writable cache) falls back to MindSpore's
    cells with one warning line; under 'cpp' it is an error.
    """
    if name not in IMPLEMENTATIONS:
        raise UserInputError(f"{config_key} must be one of {IMPLEMENTATIONS}, got {name!r}")
    usable = device_target == "CPU" and amp_level in ("auto", "O0")
    if name == "mindspore" or name == "auto" and not usable:
        return "mindspore"
    if not usable:
        raise UserInputError(f"{config_key} 'cpp' runs float32 on CPU only (device_target {device_target}, "
                             f"amp_level {amp_level}); use --{config_key} mindspore or auto")
    reason = _unusable_because(config_key)
    if reason is None:
        return "cpp"
    if name == "cpp":
        raise UserInputError(reason)
    if config_key not in _warned:
        _warned.add(config_key)
        logger.warning("%s auto: MindSpore's cells instead of the C++ kernel, which cannot be used here: %s. "
                       "The kernels need g++ with OpenMP (apt-get install g++) and a writable cache folder "
                       "(MOBILENETV1_CACHE)", config_key, reason)
    return "mindspore"


def weight_op(library, forward, backward, out_shape):
    """A MindSpore AOT custom op ``forward`` of (x, w) from ``library``, float32 output of ``out_shape``,
    whose gradient is the library's ``backward``: (x, w, dy) -> (dx, dw), shaped as x and w."""
    from mindspore import ops
    gradient = ops.Custom(f"{library}:{backward}", out_shape=lambda x, w, dy: (x, w),
                          out_dtype=lambda x, w, dy: (x, w), func_type="aot")

    def bprop(x, w, _out, dout):
        return gradient(x, w, dout)

    return ops.Custom(f"{library}:{forward}", out_shape=out_shape, out_dtype=lambda x, w: x, func_type="aot",
                      bprop=bprop)
