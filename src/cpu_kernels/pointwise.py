"""Pointwise (1x1) convolution for CPU training, run by this repository's C++ kernel.

After the depthwise and BatchNorm kernels, MindSpore's CPU 1x1 ``Conv2d`` is the largest cost of a
MobileNetV1 training step at 32x32: it multiplies image by image, and on the 4x4 and 2x2 planes of
the last layers those products are too thin to run fast. ``src/cpu_kernels/pointwise_conv.cc`` makes
the whole batch one product there (oneDNN's sgemm from MindSpore's own libdnnl). The cell keeps
``nn.Conv2d``'s parameter (``weight``, shape (Co, Ci, 1, 1)), so checkpoints move freely between the
two implementations; export always uses ``nn.Conv2d``. build.py builds the library.
"""
from mindspore import nn
from mindspore.common.initializer import XavierUniform, initializer
from mindspore.common.parameter import Parameter

from src.cpu_kernels.build import kernel_library, weight_op


class PointwiseConvCPU(nn.Cell):
    """1x1 convolution without bias, stride 1 (float32, CPU)."""

    def __init__(self, in_channels, out_channels):
        super().__init__()
        self.weight = Parameter(initializer(XavierUniform(), (out_channels, in_channels, 1, 1)), name="weight")
        library = kernel_library("pointwise_conv", "pointwise_impl")

        self.pointwise = weight_op(library, "PointwiseForward", "PointwiseBackward", self.output_shape)
        self.fused_name = "Pointwise"  # what conv_batchnorm.py fuses it with a BatchNorm by

    @staticmethod
    def output_shape(x_shape, w_shape):
        """The output shape [N, Co, H, W] from the shapes of x and w."""
        return (x_shape[0], w_shape[0], x_shape[2], x_shape[3])

    def construct(self, x):
        return self.pointwise(x, self.weight)
