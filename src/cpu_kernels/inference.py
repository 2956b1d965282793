"""MobileNetV1's inference forward on CPU, BatchNorm folded into each convolution, run by the C++ kernel.

In eval mode a conv -> BatchNorm -> activation block is a convolution with a bias followed by the
activation: BatchNorm with its moving statistics, gamma * (z - mean) / sqrt(var + eps) + beta, scales
each output channel of the convolution and shifts it. ``inference.cc`` runs every block as one op
(convolution + bias + activation) on channels-last activations, so the 1x1 convolutions of a whole
batch are single matrix products and the 3x3 ones vectorise over channels even on 1x1 planes;
MindSpore's cells take three ops per block, on NCHW planes.
``FoldedMobileNetV1`` is that network; ``fold(source)`` recomputes its weights from a MobileNetV1's
current parameters (validation while training calls it before every evaluation, after swapping in
the EMA weights when there are any). The folded weights live only in memory: checkpoints and exports
are the source network's.
"""
import numpy as np
from mindspore import Tensor, nn, ops
from mindspore.common.initializer import initializer
from mindspore.common.parameter import Parameter

from src.cpu_kernels.build import kernel_library, resolve_implementation
from src.cpu_kernels.window import output_length, variant

KERNEL_ACTIVATIONS = {"relu6": "ReLU6", "relu": "ReLU"}
DEFAULT_EPSILON = 1e-5  # nn.BatchNorm2d's and the BatchNorm kernel's


class FoldedBlock(nn.Cell):
    """One block, convolution + bias + activation, channel-major output; ``kind``: stem|depthwise|pointwise."""

    def __init__(self, kind, in_channels, out_channels, stride, conv_padding, activation, library):
        super().__init__()
        same = conv_padding == "same"
        self.kind = kind
        weight_shape = {"stem": (3, 3, in_channels, out_channels), "depthwise": (3, 3, out_channels, 1),
                        "pointwise": (out_channels, in_channels, 1, 1)}[kind]
        self.weight = Parameter(initializer("zeros", weight_shape), name="weight", requires_grad=False)
        self.bias = Parameter(initializer("zeros", (out_channels,)), name="bias", requires_grad=False)
        suffix = "" if kind == "pointwise" else variant(stride, same)
        name = f"Infer{kind.capitalize()}{suffix}{KERNEL_ACTIVATIONS[activation]}"

        def output_shape(x_shape, _w_shape, _b_shape):
            # stem: x is NCHW; the others: x is channels-last [N, H, W, C]; the output is channels-last
            height, width = x_shape[2:] if kind == "stem" else x_shape[1:3]
            return (x_shape[0], output_length(height, stride, same), output_length(width, stride, same),
                    out_channels)

        self.op = ops.Custom(f"{library}:{name}", out_shape=output_shape, out_dtype=lambda x, w, b: x,
                             func_type="aot")

    def set_folded(self, weight, bias):
        """Set the block from a folded (Co, Ci or 1, kh, kw) convolution weight and its bias (float64)."""
        if self.kind != "pointwise":  # the kernel's layout of 3x3 filters: [3, 3, Ci, Co] and [3, 3, C, 1]
            weight = weight.transpose(2, 3, 1, 0) if self.kind == "stem" else weight.transpose(2, 3, 0, 1)
        self.weight.set_data(Tensor(np.ascontiguousarray(weight, dtype=np.float32)))
        self.bias.set_data(Tensor(bias.astype(np.float32)))

    def construct(self, x):
        return self.op(x, self.weight, self.bias)


class FoldedMobileNetV1(nn.Cell):
    """The inference forward of the MobileNetV1 classifier ``source`` (float32 logits, CPU)."""

    def __init__(self, source):
        super().__init__()
        if source.features_only:
            raise ValueError("FoldedMobileNetV1 runs classifiers, not features_only backbones")
        library = kernel_library("inference", "inference_impl")
        layers = source.layers
        folded = []
        for (kind, stride), block in zip(source.block_kinds, source.network):
            out_channels, in_channels = block[0].weight.shape[:2]
            folded.append(FoldedBlock(kind, in_channels, out_channels, stride, layers.conv_padding, layers.activation,
                                      library))
        self.network = nn.SequentialCell(folded)
        self.fc = nn.Dense(source.fc.in_channels, source.fc.out_channels)
        for parameter in self.fc.get_parameters():
            parameter.requires_grad = False  # set by fold(), never trained
        self.reduce_mean = ops.ReduceMean()
        self.fold(source)
        self.set_train(False)

    def fold(self, source):
        """Set the folded weights from ``source``'s parameters as they are now (in float64, then float32)."""
        for block, (conv, norm, _) in zip(self.network, source.network):
            gamma, beta, mean, variance = (p.asnumpy().astype(np.float64) for p in
                                           (norm.gamma, norm.beta, norm.moving_mean, norm.moving_variance))
            scale = gamma / np.sqrt(variance + getattr(norm, "eps", DEFAULT_EPSILON))
            block.set_folded(conv.weight.asnumpy().astype(np.float64) * scale.reshape(-1, 1, 1, 1),
                             beta - mean * scale)
        self.fc.weight.set_data(Tensor(source.fc.weight.asnumpy()))
        self.fc.bias.set_data(Tensor(source.fc.bias.asnumpy()))

    def construct(self, x):
        return self.fc(self.reduce_mean(self.network(x), (1, 2)))  # [N, H, W, C] pooled


def uses_inference_kernel(config):
    """Whether ``config.inference_impl`` resolves to the C++ kernel (auto: float32 CPU runs with g++)."""
    return resolve_implementation(config.inference_impl, config.device_target, config.amp_level,
                                  "inference_impl") == "cpp"


def inference_network(net, config):
    """``net``, a loaded MobileNetV1 classifier, in the form that evaluation and prediction run: folded onto
    the C++ kernel when ``config`` says so (``uses_inference_kernel``), else the network itself in eval mode."""
    if uses_inference_kernel(config):
        return FoldedMobileNetV1(net)
    net.set_train(False)
    return net
