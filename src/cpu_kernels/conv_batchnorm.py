"""A convolution kernel, the BatchNorm kernel and the activation trained as one op forward and one backward.

Separately, the convolution and BatchNorm kernels make four ops per layer and training step, and at
32x32 the framework's cost of launching an op is about that of a layer's arithmetic.
``src/cpu_kernels/conv_batchnorm.cc`` runs the same two kernels inside one op each way. The block
keeps LayerFactory's layout, cells 0 (the convolution), 1 (the BatchNorm) and 2 (an identity), so
parameter names and checkpoints do not change; in inference mode it runs its cells one after the
other (the BatchNorm cell then uses MindSpore's BatchNorm on the moving statistics).
"""
from mindspore import nn, ops

from src.cpu_kernels.build import kernel_library


class ConvBatchNormActivationCPU(nn.SequentialCell):
    """``conv`` (a kernel cell with ``fused_name`` and ``output_shape``) -> ``batchnorm`` (BatchNormActivationCPU)."""

    def __init__(self, conv, batchnorm):
        super().__init__([conv, batchnorm, nn.Identity()])
        library = kernel_library("conv_batchnorm", "batchnorm_impl")
        name = f"{library}:{conv.fused_name}BatchNorm{batchnorm.kernel_activation}"
        output_shape = conv.output_shape
        backward = ops.Custom(f"{name}Backward", out_shape=lambda x, w, g, z, m, v, y, dy: (x, w, g, g, z),
                              out_dtype=lambda x, w, g, z, m, v, y, dy: (x, w, g, g, z), func_type="aot")
        zeros_like = ops.ZerosLike()

        def bprop(x, w, gamma, _beta, moving_mean, moving_variance, out, dout):
            dx, dw, dgamma, dbeta, _ = backward(x, w, gamma, out[1], out[2], out[3], out[0], dout[0])
            return dx, dw, dgamma, dbeta, zeros_like(moving_mean), zeros_like(moving_variance)

        def forward_shapes(x, w, g, _b, _m, _v):
            y = output_shape(x, w)
            return y, y, g, g

        self.train_forward = ops.Custom(f"{name}Forward", out_shape=forward_shapes,
                                        out_dtype=lambda x, w, g, b, m, v: (x, x, g, g), func_type="aot", bprop=bprop)

    def construct(self, x):
        if self.training:
            bn = self[1]
            return self.train_forward(x, self[0].weight, bn.gamma, bn.beta, bn.moving_mean, bn.moving_variance)[0]
        return self[1](self[0](x))
