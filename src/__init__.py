"""MobileNetV1 model-zoo sources.

Importing this package caps oneDNN at AVX2 before MindSpore loads on x86 CPUs (the cap names an
x86 instruction set; other CPUs, such as the Kunpeng aarch64 of Ascend servers, are left alone),
unless the user set ONEDNN_MAX_CPU_ISA: on AVX-512 CPUs MindSpore's bundled oneDNN otherwise runs every 3x3
convolution (dense and depthwise) with its reference kernel, several times slower. A run whose
3x3 convolutions are all this repository's C++ kernels lifts the cap again before its first
operation (src/cpu_kernels/isa.py). The cap only affects oneDNN, i.e. CPU kernels; GPU and Ascend
runs are unchanged.
OMP_WAIT_POLICY=PASSIVE: the OpenMP threads of the C++ depthwise kernel (src/cpu_kernels)
sleep between calls instead of spinning on cores MindSpore's own threads need (measured: 275 vs
198 img/s, MobileNetV1 width 0.5 training at 32x32 on 2 cores).
"""
import os
import platform

X86 = platform.machine().lower() in ("x86_64", "amd64", "i386", "i686")
USER_ONEDNN_ISA = os.environ.get("ONEDNN_MAX_CPU_ISA")  # the user's choice, which isa.py never overrides
if X86:
    os.environ.setdefault("ONEDNN_MAX_CPU_ISA", "AVX2")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
