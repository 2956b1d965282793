"""MobileNetV1 (Howard et al. 2017) with the model zoo's layer layout and parameter names.

27 conv -> BN -> ReLU6 blocks with TF-style 'same' padding and no conv bias, global average
pooling, one Dense layer. Parameter names (``network.{i}.0.weight``, ``network.{i}.1.gamma``,
``fc.weight`` ...) equal the official repository's, so its checkpoints load unchanged.
``width_multiplier`` is the paper's alpha; any input resolution works. ``stem_stride=1`` keeps
small inputs (32x32) at full resolution in the first layers instead of reducing them to 1x1.
``conv_padding="symmetric"`` pads one pixel on every side, as PyTorch/timm and mindcv do (TF-style
'same' pads only bottom/right at stride 2), and ``activation="relu"`` is mindcv's: together they
run weights converted from those projects (src/convert_weights.py) exactly.
``depthwise_impl="cpp"`` runs the 3x3 depthwise convolutions with this repository's CPU kernel
(src/depthwise_cpu.py), ``batchnorm_impl="cpp"`` every BatchNorm + activation pair with another
(src/batchnorm_cpu.py), ``pointwise_impl="cpp"`` the 1x1 convolutions with a third
(src/pointwise_cpu.py); all keep the parameters of the nn.Conv2d / nn.BatchNorm2d they replace.
"""
from mindspore import nn, ops
from mindspore.common.initializer import TruncatedNormal, XavierUniform

from src.batchnorm_cpu import BatchNormActivationCPU
from src.cpu_kernels import resolve_implementation
from src.depthwise_cpu import DepthwiseConv3x3CPU
from src.pointwise_cpu import PointwiseConvCPU

CONV_PADDINGS = ("same", "symmetric")
ACTIVATIONS = ("relu6", "relu")

# (output channels, stride) of each depthwise-separable pair after the stem, as in Table 1 of the paper.
SEPARABLE_LAYERS = (
    (64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2),
    (512, 1), (512, 1), (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1),
)
STEM_CHANNELS = 32


def conv_bn_relu(in_channel, out_channel, kernel_size, stride, depthwise, activation="relu6", conv_padding="same",
                 depthwise_impl="mindspore", batchnorm_impl="mindspore", pointwise_impl="mindspore"):
    """Conv2d (no bias; TF 'same' or symmetric padding; depthwise when asked) -> BatchNorm2d -> activation.

    With ``batchnorm_impl="cpp"`` the C++ cell at index 1 does BatchNorm and activation, and index 2
    is an identity, so parameter names stay ``{i}.1.gamma`` etc."""
    if conv_padding not in CONV_PADDINGS:
        raise ValueError(f"conv_padding must be one of {CONV_PADDINGS}, got {conv_padding!r}")
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
    if depthwise and depthwise_impl == "cpp":
        conv = DepthwiseConv3x3CPU(in_channel, stride, conv_padding)
    elif kernel_size == 1 and stride == 1 and not depthwise and pointwise_impl == "cpp":
        conv = PointwiseConvCPU(in_channel, out_channel)
    else:
        padding = {"pad_mode": "same"} if conv_padding == "same" else {"pad_mode": "pad", "padding": kernel_size // 2}
        conv = nn.Conv2d(in_channel, out_channel, kernel_size, stride, group=in_channel if depthwise else 1,
                         weight_init=XavierUniform(), **padding)
    if batchnorm_impl == "cpp":
        return nn.SequentialCell([conv, BatchNormActivationCPU(out_channel, activation), nn.Identity()])
    return nn.SequentialCell([conv, nn.BatchNorm2d(out_channel), nn.get_activation(activation)])


def scaled_channels(channels, width_multiplier):
    """Channels of a layer under width multiplier alpha (at least 1)."""
    return max(1, int(channels * width_multiplier))


class MobileNetV1(nn.Cell):
    """MobileNetV1 classifier, or a backbone returning all 27 block outputs when ``features_only``."""

    def __init__(self, class_num=1001, features_only=False, width_multiplier=1.0, stem_stride=2,
                 conv_padding="same", activation="relu6", depthwise_impl="mindspore", batchnorm_impl="mindspore",
                 pointwise_impl="mindspore"):
        super().__init__()
        self.features_only = features_only
        self.depthwise_impl = depthwise_impl
        self.batchnorm_impl = batchnorm_impl
        self.pointwise_impl = pointwise_impl
        style = {"conv_padding": conv_padding, "activation": activation, "batchnorm_impl": batchnorm_impl}
        channels = scaled_channels(STEM_CHANNELS, width_multiplier)
        cnn = [conv_bn_relu(3, channels, 3, stem_stride, False, **style)]
        for out_channels, stride in SEPARABLE_LAYERS:
            out_channels = scaled_channels(out_channels, width_multiplier)
            cnn.append(conv_bn_relu(channels, channels, 3, stride, True, depthwise_impl=depthwise_impl, **style))
            cnn.append(conv_bn_relu(channels, out_channels, 1, 1, False, pointwise_impl=pointwise_impl, **style))
            channels = out_channels
        self.out_channels = channels
        if features_only:
            self.network = nn.CellList(cnn)
        else:
            self.network = nn.SequentialCell(cnn)
            self.fc = nn.Dense(channels, class_num, weight_init=TruncatedNormal())
        self.reduce_mean = ops.ReduceMean()

    def construct(self, x):
        if self.features_only:
            outputs = ()
            for block in self.network:
                x = block(x)
                outputs = outputs + (x,)
            return outputs
        x = self.network(x)
        x = self.reduce_mean(x, (2, 3))
        return self.fc(x)


def mobilenet_v1(class_num=1001, features_only=False, width_multiplier=1.0, stem_stride=2,
                 conv_padding="same", activation="relu6", depthwise_impl="mindspore", batchnorm_impl="mindspore",
                 pointwise_impl="mindspore"):
    """Factory with the official name."""
    return MobileNetV1(class_num=class_num, features_only=features_only, width_multiplier=width_multiplier,
                       stem_stride=stem_stride, conv_padding=conv_padding, activation=activation,
                       depthwise_impl=depthwise_impl, batchnorm_impl=batchnorm_impl, pointwise_impl=pointwise_impl)


def create_network(config, exportable=False):
    """The network a config describes (class count, width, stem stride, padding, activation, CPU kernels).

    ``exportable`` builds every layer from MindSpore's cells whatever ``depthwise_impl``,
    ``batchnorm_impl`` and ``pointwise_impl`` say: MINDIR/ONNX/AIR files cannot hold the repository's
    custom CPU kernels.
    """
    def implementation(key):
        if exportable:
            return "mindspore"
        return resolve_implementation(getattr(config, key), config.device_target, config.amp_level, key)
    return mobilenet_v1(class_num=config.class_num, width_multiplier=config.width_multiplier,
                        stem_stride=config.stem_stride, conv_padding=config.conv_padding,
                        activation=config.activation, depthwise_impl=implementation("depthwise_impl"),
                        batchnorm_impl=implementation("batchnorm_impl"),
                        pointwise_impl=implementation("pointwise_impl"))
