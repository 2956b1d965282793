"""oneDNN's instruction-set cap: AVX2 while oneDNN runs 3x3 convolutions, lifted when none is left to it.

Importing ``src`` sets ONEDNN_MAX_CPU_ISA=AVX2 because on AVX-512 CPUs MindSpore's bundled oneDNN
runs dense and depthwise 3x3 convolutions with its reference kernel. The cap also holds every
oneDNN sgemm at AVX2, and those products are most of this package's kernels (1x1, stem, inference):
on a 2-core Xeon VM with AVX-512 the folded inference of a 32x32 batch of 256 took 44 ms capped and
30 ms uncapped. With the depthwise and stem kernels on, no convolution is left to oneDNN, so the
cap goes. oneDNN reads the variable when it first dispatches an operation, so the entry point
decides it once, in ``init_context`` (src/model_utils/context.py), before anything runs; a value
the user set is never changed, and on CPUs other than x86 there is no cap to set or lift.
"""
import os

import src

# the kernels that take every 3x3 convolution away from oneDNN
CONVOLUTION_KERNELS = frozenset({"depthwise", "stem"})


def onednn_isa(kernels):
    """The ONEDNN_MAX_CPU_ISA a process whose network uses ``kernels`` should run with (None: leave it unset)."""
    if src.USER_ONEDNN_ISA is not None:
        return src.USER_ONEDNN_ISA
    if not src.X86:
        return None
    return "ALL" if CONVOLUTION_KERNELS <= set(kernels) else "AVX2"


def configure_onednn(kernels):
    """Set ONEDNN_MAX_CPU_ISA for a network that uses ``kernels`` (before this process's first operation)."""
    isa = onednn_isa(kernels)
    if isa is not None:
        os.environ["ONEDNN_MAX_CPU_ISA"] = isa
