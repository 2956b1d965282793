"""MobileNetV1 (Howard et al. 2017) with the model zoo's layer layout and parameter names.

27 conv -> BN -> ReLU6 blocks with TF-style 'same' padding and no conv bias, global average
pooling, one Dense layer. Parameter names (``network.{i}.0.weight``, ``network.{i}.1.gamma``,
``fc.weight`` ...) equal the official repository's, so its checkpoints load unchanged.
``width_multiplier`` is the paper's alpha; any input resolution works. ``stem_stride=1`` keeps
small inputs (32x32) at full resolution in the first layers instead of reducing them to 1x1.
``conv_padding="symmetric"`` pads one pixel on every side, as PyTorch/timm and mindcv do (TF-style
'same' pads only bottom/right at stride 2), and ``activation="relu"`` is mindcv's: together they
run weights converted from those projects (src/tools/convert_weights.py) exactly.
``kernels`` names the blocks run by this repository's C++ CPU kernels (src/cpu_kernels: "depthwise",
"batchnorm", "pointwise"); they keep the parameters of the cells they replace.
"""
from mindspore import nn, ops
from mindspore.common.initializer import TruncatedNormal

from src.cpu_kernels import LayerFactory, kernels_from_config

# (output channels, stride) of each depthwise-separable pair after the stem, as in Table 1 of the paper.
SEPARABLE_LAYERS = (
    (64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2),
    (512, 1), (512, 1), (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1),
)
STEM_CHANNELS = 32


def scaled_channels(channels, width_multiplier):
    """Channels of a layer under width multiplier alpha (at least 1)."""
    return max(1, int(channels * width_multiplier))


class MobileNetV1(nn.Cell):
    """MobileNetV1 classifier, or a backbone returning all 27 block outputs when ``features_only``."""

    def __init__(self, class_num=1001, features_only=False, width_multiplier=1.0, stem_stride=2,
                 conv_padding="same", activation="relu6", kernels=()):
        super().__init__()
        self.features_only = features_only
        self.layers = LayerFactory(conv_padding, activation, kernels)
        channels = scaled_channels(STEM_CHANNELS, width_multiplier)
        cnn = [self.layers.conv_bn_act(3, channels, 3, stem_stride)]
        # (kind, stride) of each block: what src/cpu_kernels/inference.py rebuilds them as
        self.block_kinds = (("stem", stem_stride),)
        for out_channels, stride in SEPARABLE_LAYERS:
            out_channels = scaled_channels(out_channels, width_multiplier)
            cnn.append(self.layers.conv_bn_act(channels, channels, 3, stride, depthwise=True))
            cnn.append(self.layers.conv_bn_act(channels, out_channels, 1, 1))
            self.block_kinds += (("depthwise", stride), ("pointwise", 1))
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


def mobilenet_v1(class_num=1001, **kwargs):
    """Factory with the official name (keyword arguments as MobileNetV1's)."""
    return MobileNetV1(class_num=class_num, **kwargs)


def create_network(config, exportable=False):
    """The network a config describes (class count, width, stem stride, padding, activation, CPU kernels).

    ``exportable`` builds every layer from MindSpore's cells whatever the ``*_impl`` keys say:
    MINDIR/ONNX/AIR files cannot hold the repository's custom CPU kernels.
    """
    kernels = kernels_from_config(config, exportable)
    return MobileNetV1(class_num=config.class_num, width_multiplier=config.width_multiplier,
                       stem_stride=config.stem_stride, conv_padding=config.conv_padding, activation=config.activation,
                       kernels=kernels)
