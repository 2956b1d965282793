"""This repository's C++ CPU kernels for MobileNetV1, and the layer factory that uses them.

``LayerFactory`` (layers.py) is the one entry point: the network asks it for its blocks.
build.py compiles the .cc files on first use; depthwise.py, batchnorm.py, pointwise.py and stem.py
are the cells around them; isa.py lifts oneDNN's AVX2 cap when they leave it no convolution;
inference.py runs a trained network's eval-mode forward with every BatchNorm folded into its
convolution. docs/cpu_kernels.md describes the design and the measurements.
"""
from src.cpu_kernels.inference import FoldedMobileNetV1, inference_network, uses_inference_kernel
from src.cpu_kernels.isa import configure_onednn
from src.cpu_kernels.layers import KERNELS, LayerFactory, kernels_from_config

__all__ = ["KERNELS", "FoldedMobileNetV1", "LayerFactory", "configure_onednn", "inference_network",
           "kernels_from_config", "uses_inference_kernel"]
