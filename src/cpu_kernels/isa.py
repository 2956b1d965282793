"""oneDNN's instruction-set cap: AVX2 while oneDNN runs 3x3 convolutions, lifted when none is left to it.

Importing ``src`` sets ONEDNN_MAX_CPU_ISA=AVX2 because on AVX-512 CPUs MindSpore's bundled oneDNN
runs dense and depthwise 3x3 convolutions with its reference kernel. The cap also holds every
oneDNN sgemm at AVX2, and those products are most of this package's kernels (1x1, stem, inference):
on a 2-core Xeon VM with AVX-512 the folded inference of a 32x32 batch of 256 took 44 ms capped and
30 ms uncapped. With the depthwise and stem kernels on, no convolution is left to oneDNN, so the
cap goes. oneDNN reads the variable when it first dispatches an operation, so ``create_network``
(every entry point builds its network before running anything) is where this is decided; a value
the user set is never changed.
"""
import os

import src

# the kernels that take every 3x3 convolution away from oneDNN
CONVOLUTION_KERNELS = frozenset({"depthwise", "stem"})


def onednn_isa(kernels):
    """The ONEDNN_MAX_CPU_ISA a process whose network uses ``kernels`` should run with."""
    if src.USER_ONEDNN_ISA is not None:
        return src.USER_ONEDNN_ISA
    return "ALL" if CONVOLUTION_KERNELS <= set(kernels) else "AVX2"


def configure_onednn(kernels):
    """Set ONEDNN_MAX_CPU_ISA for a network that uses ``kernels`` (before this process's first operation)."""
    os.environ["ONEDNN_MAX_CPU_ISA"] = onednn_isa(kernels)
