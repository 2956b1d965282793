"""MobileNetV1 model-zoo sources.

Importing this package caps oneDNN at AVX2 before MindSpore loads, unless the user set
ONEDNN_MAX_CPU_ISA: on AVX-512 CPUs MindSpore's bundled oneDNN otherwise runs every 3x3
convolution (dense and depthwise) with its reference kernel, several times slower.
The cap only affects oneDNN, i.e. CPU kernels; GPU and Ascend runs are unchanged.
"""
import os

os.environ.setdefault("ONEDNN_MAX_CPU_ISA", "AVX2")
