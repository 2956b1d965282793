"""BatchNorm2d + ReLU6/ReLU for CPU training, fused in this repository's C++ kernel.

MindSpore's CPU BatchNorm (oneDNN's plain-NCHW path) and the activation after it took about a third
of a MobileNetV1 training step at 32x32; ``src/cpu_kernels/batchnorm_activation.cc`` computes batch
statistics, normalisation and activation in one op, and the whole backward in another. The cell
holds ``nn.BatchNorm2d``'s parameters under its names (``gamma``, ``beta``, ``moving_mean``,
``moving_variance``) and updates the moving statistics the same way (momentum 0.9, epsilon 1e-5),
so checkpoints move freely between the two implementations. The forward op updates them in place,
in the Parameters' own buffers: no assignment op follows it. In inference mode it runs MindSpore's
own BatchNorm with the moving statistics; export always uses nn.BatchNorm2d.
"""
from mindspore import nn, ops
from mindspore.common.initializer import initializer
from mindspore.common.parameter import Parameter

from src.cpu_kernels.build import kernel_library

KERNEL_ACTIVATIONS = {"relu6": "ReLU6", "relu": "ReLU"}
EPSILON = 1e-5  # as nn.BatchNorm2d's default; the kernel also uses its momentum, 0.9


class BatchNormActivationCPU(nn.Cell):
    """BatchNorm2d followed by ReLU6 or ReLU (float32, CPU); batch statistics while training."""

    def __init__(self, channels, activation="relu6"):
        super().__init__()
        if activation not in KERNEL_ACTIVATIONS:
            raise ValueError(f"activation must be one of {tuple(KERNEL_ACTIVATIONS)}, got {activation!r}")
        self.gamma = Parameter(initializer("ones", (channels,)), name="gamma")
        self.beta = Parameter(initializer("zeros", (channels,)), name="beta")
        self.moving_mean = Parameter(initializer("zeros", (channels,)), name="moving_mean", requires_grad=False)
        self.moving_variance = Parameter(initializer("ones", (channels,)), name="moving_variance",
                                         requires_grad=False)
        library = kernel_library("batchnorm_activation", "batchnorm_impl")
        name = self.kernel_activation = KERNEL_ACTIVATIONS[activation]
        backward = ops.Custom(f"{library}:BatchNorm{name}Backward",
                              out_shape=lambda x, g, m, v, y, dy: (x, g, g),
                              out_dtype=lambda x, g, m, v, y, dy: (x, g, g), func_type="aot")
        zeros_like = ops.ZerosLike()

        def bprop(x, gamma, _beta, moving_mean, moving_variance, out, dout):
            y, mean, variance = out[0], out[1], out[2]
            dx, dgamma, dbeta = backward(x, gamma, mean, variance, y, dout[0])
            return dx, dgamma, dbeta, zeros_like(moving_mean), zeros_like(moving_variance)

        self.train_forward = ops.Custom(f"{library}:BatchNorm{name}Forward",
                                        out_shape=lambda x, g, b, m, v: (x, g, g),
                                        out_dtype=lambda x, g, b, m, v: (x, g, g), func_type="aot", bprop=bprop)
        self.infer_forward = ops.BatchNorm(is_training=False, epsilon=EPSILON)
        self.activation = nn.get_activation(activation)

    def construct(self, x):
        if self.training:
            return self.train_forward(x, self.gamma, self.beta, self.moving_mean, self.moving_variance)[0]
        return self.activation(self.infer_forward(x, self.gamma, self.beta, self.moving_mean,
                                                  self.moving_variance)[0])
