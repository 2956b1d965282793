"""This repository's C++ CPU kernels for training MobileNetV1, and the layer factory that uses them.

``LayerFactory`` (layers.py) is the one entry point: the network asks it for its blocks.
build.py compiles the .cc files on first use; depthwise.py, batchnorm.py and pointwise.py are the
cells around them. docs/cpu_kernels.md describes the design and the measurements.
"""
from src.cpu_kernels.layers import KERNELS, LayerFactory, kernels_from_config

__all__ = ["KERNELS", "LayerFactory", "kernels_from_config"]
