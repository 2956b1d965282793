"""Depthwise 3x3 convolution for CPU training, run by this repository's C++ kernel.

MindSpore's CPU ``Conv2d(group=channels)`` takes about 60 % of a MobileNetV1 training step at
32x32 (oneDNN's plain-NCHW depthwise path); ``src/cpu_kernels/depthwise_conv3x3.cc`` computes the same
forward and backward as two MindSpore AOT custom ops (the full Fashion-MNIST recipe's training
steps: 2.0x faster, docs/cpu_kernels.md). The cell keeps ``nn.Conv2d``'s parameter (``weight``,
shape (C, 1, 3, 3)), so checkpoints move freely between the two implementations; export always
uses ``nn.Conv2d`` (custom ops do not export). build.py builds the library.
"""
from mindspore import nn
from mindspore.common.initializer import XavierUniform, initializer
from mindspore.common.parameter import Parameter

from src.cpu_kernels.build import kernel_library
from src.cpu_kernels.window import variant, windowed_output_shape, windowed_weight_op


class DepthwiseConv3x3CPU(nn.Cell):
    """Depthwise 3x3 convolution without bias, stride 1 or 2, 'same' or symmetric padding (float32, CPU)."""

    def __init__(self, channels, stride, conv_padding="same"):
        super().__init__()
        self.depthwise = windowed_weight_op(kernel_library("depthwise_conv3x3", "depthwise_impl"), "Depthwise", stride,
                                            conv_padding)
        # what conv_batchnorm.py fuses it with a BatchNorm by
        self.fused_name = f"Depthwise{variant(stride, conv_padding == 'same')}"
        self.output_shape = windowed_output_shape(stride, conv_padding)
        self.weight = Parameter(initializer(XavierUniform(), (channels, 1, 3, 3)), name="weight")

    def construct(self, x):
        return self.depthwise(x, self.weight)
