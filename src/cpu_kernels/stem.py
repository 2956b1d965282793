"""The stem (the dense 3x3 convolution of the image) for CPU training, run by this repository's C++ kernel.

On AVX-512 CPUs MindSpore's bundled oneDNN runs dense 3x3 convolutions with its reference kernel, so
importing ``src`` caps oneDNN at AVX2; the cap also slows the sgemm under the 1x1 kernel.
``src/cpu_kernels/stem_conv.cc`` computes the stem as matrix products on the unrolled image, so a
run whose 3x3 convolutions are all this package's kernels leaves no convolution to oneDNN and can
lift the cap (``isa.py``). The cell keeps ``nn.Conv2d``'s parameter (``weight``, shape
(Co, Ci, 3, 3)), so checkpoints move freely between the two implementations; export always uses
``nn.Conv2d``. build.py builds the library.
"""
from mindspore import nn
from mindspore.common.initializer import XavierUniform, initializer
from mindspore.common.parameter import Parameter

from src.cpu_kernels.build import kernel_library
from src.cpu_kernels.window import variant, windowed_output_shape, windowed_weight_op


class StemConv3x3CPU(nn.Cell):
    """Dense 3x3 convolution without bias, stride 1 or 2, 'same' or symmetric padding (float32, CPU)."""

    def __init__(self, in_channels, out_channels, stride, conv_padding="same"):
        super().__init__()
        self.stem = windowed_weight_op(kernel_library("stem_conv", "stem_impl"), "Stem", stride, conv_padding)
        # what conv_batchnorm.py fuses it with a BatchNorm by
        self.fused_name = f"Stem{variant(stride, conv_padding == 'same')}"
        self.output_shape = windowed_output_shape(stride, conv_padding)
        self.weight = Parameter(initializer(XavierUniform(), (out_channels, in_channels, 3, 3)), name="weight")

    def construct(self, x):
        return self.stem(x, self.weight)
