"""The layer factory MobileNetV1 builds its blocks with: MindSpore's cells, or this package's C++ kernels.

The kernels replace cells one for one and keep their parameter names and shapes, so checkpoints
move freely between the two. A new kernel is a cell module and a .cc file in this package, an
entry in ``KERNELS`` and a branch in ``LayerFactory``, and its ``*_impl`` config key.
"""
from mindspore import nn
from mindspore.common.initializer import XavierUniform

from src.cpu_kernels.batchnorm import BatchNormActivationCPU
from src.cpu_kernels.build import composed_library_usable, resolve_implementation
from src.cpu_kernels.conv_batchnorm import ConvBatchNormActivationCPU
from src.cpu_kernels.depthwise import DepthwiseConv3x3CPU
from src.cpu_kernels.pointwise import PointwiseConvCPU
from src.cpu_kernels.stem import StemConv3x3CPU

# kernel -> the config key that turns it on (auto|mindspore|cpp)
KERNELS = {"depthwise": "depthwise_impl", "batchnorm": "batchnorm_impl", "pointwise": "pointwise_impl",
           "stem": "stem_impl"}
CONV_PADDINGS = ("same", "symmetric")
ACTIVATIONS = ("relu6", "relu")


class LayerFactory:
    """Conv -> BatchNorm -> activation blocks in one padding and activation, with the ``kernels`` named.

    ``conv_padding``: "same" (TF-style, official: the extra pixel bottom/right at stride 2) or
    "symmetric" (PyTorch/timm, mindcv). ``kernels``: names from ``KERNELS`` run by the C++ kernels.
    """

    def __init__(self, conv_padding="same", activation="relu6", kernels=()):
        if conv_padding not in CONV_PADDINGS:
            raise ValueError(f"conv_padding must be one of {CONV_PADDINGS}, got {conv_padding!r}")
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
        unknown = set(kernels) - set(KERNELS)
        if unknown:
            raise ValueError(f"unknown kernels {sorted(unknown)}; known: {sorted(KERNELS)}")
        self.conv_padding = conv_padding
        self.activation = activation
        self.kernels = frozenset(kernels)

    def conv(self, in_channel, out_channel, kernel_size, stride, depthwise):
        """Conv2d without bias (depthwise when asked)."""
        if depthwise and "depthwise" in self.kernels:
            return DepthwiseConv3x3CPU(in_channel, stride, self.conv_padding)
        if kernel_size == 1 and stride == 1 and not depthwise and "pointwise" in self.kernels:
            return PointwiseConvCPU(in_channel, out_channel)
        if kernel_size == 3 and not depthwise and "stem" in self.kernels:
            return StemConv3x3CPU(in_channel, out_channel, stride, self.conv_padding)
        padding = ({"pad_mode": "same"} if self.conv_padding == "same"
                   else {"pad_mode": "pad", "padding": kernel_size // 2})
        return nn.Conv2d(in_channel, out_channel, kernel_size, stride, group=in_channel if depthwise else 1,
                         weight_init=XavierUniform(), **padding)

    def conv_bn_act(self, in_channel, out_channel, kernel_size, stride, depthwise=False):
        """The block as cells 0 (conv), 1 (BatchNorm), 2 (activation): parameter names ``{i}.1.gamma`` etc.

        The BatchNorm kernel does BatchNorm and activation in cell 1; cell 2 is then an identity. With a
        convolution kernel as well, the block trains as one op each way (ConvBatchNormActivationCPU)."""
        conv = self.conv(in_channel, out_channel, kernel_size, stride, depthwise)
        if "batchnorm" in self.kernels:
            batchnorm = BatchNormActivationCPU(out_channel, self.activation)
            if hasattr(conv, "fused_name") and composed_library_usable("conv_batchnorm", "batchnorm_impl"):
                return ConvBatchNormActivationCPU(conv, batchnorm)
            return nn.SequentialCell([conv, batchnorm, nn.Identity()])
        return nn.SequentialCell([conv, nn.BatchNorm2d(out_channel), nn.get_activation(self.activation)])

    def describe(self):
        """The log's words, e.g. 'depthwise cpp, batchnorm cpp, pointwise mindspore'."""
        return ", ".join(f"{name} {'cpp' if name in self.kernels else 'mindspore'}" for name in KERNELS)


def kernels_from_config(config, exportable=False):
    """The kernels a run uses: each ``*_impl`` key resolved ('auto': cpp for float32 CPU runs when a C++
    compiler exists). None for ``exportable`` networks: MINDIR/ONNX/AIR files cannot hold custom ops."""
    if exportable:
        return ()
    return tuple(name for name, key in KERNELS.items()
                 if resolve_implementation(getattr(config, key), config.device_target, config.amp_level, key) == "cpp")
