"""The fused convolution + BatchNorm + activation blocks (src/cpu_kernels/conv_batchnorm.py): one op each way,
the same results as the kernels run as separate ops, and through the whole network as MindSpore's cells."""
import numpy as np
import pytest
import mindspore as ms
from mindspore import Tensor, nn

from src.cpu_kernels import KERNELS, LayerFactory
from src.cpu_kernels.batchnorm import BatchNormActivationCPU
from src.cpu_kernels.conv_batchnorm import ConvBatchNormActivationCPU
from tests.kernel_checks import assert_network_trains_as_cells

# (in channels, out channels, kernel size, stride, depthwise, input plane): every entry point's conv kind
BLOCKS = [(6, 6, 3, 1, True, 8), (6, 6, 3, 2, True, 7), (3, 8, 3, 1, False, 8), (3, 8, 3, 2, False, 9),
          (6, 10, 1, 1, False, 4), (6, 10, 1, 1, False, 17)]


pytestmark = pytest.mark.usefixtures("graph_mode")


def train_call(block, x, grad_out):
    """Output and the gradients by the input and every weight of one training call; then the moving statistics."""
    block.set_train(True)

    def weighted_sum(inputs):
        return (block(inputs) * grad_out).sum()
    dx, grads = ms.grad(weighted_sum, grad_position=0, weights=block.trainable_params())(x)
    stats = [p.asnumpy().copy() for p in block.get_parameters() if "moving" in p.name]
    return [dx.asnumpy()] + [g.asnumpy() for g in grads] + stats


@pytest.mark.parametrize("activation", ["relu6", "relu"])
@pytest.mark.parametrize("padding", ["same", "symmetric"])
@pytest.mark.parametrize("ci,co,kernel,stride,depthwise,size", BLOCKS)
def test_fused_block_equals_the_kernels_as_separate_ops(ci, co, kernel, stride, depthwise, size, padding, activation):
    """The fused block and the same kernel cells as separate ops, on the same weights: input and weight
    gradients and moving statistics within 1e-6 (the arithmetic is the same code), outputs in training and
    inference mode; the parameter names are LayerFactory's (0.weight, 1.gamma ...)."""
    factory = LayerFactory(padding, activation, tuple(KERNELS))
    fused = factory.conv_bn_act(ci, co, kernel, stride, depthwise)
    assert isinstance(fused, ConvBatchNormActivationCPU)
    separate = nn.SequentialCell([factory.conv(ci, co, kernel, stride, depthwise),
                                  BatchNormActivationCPU(co, activation), nn.Identity()])
    rng = np.random.default_rng(size)
    for (name, param), (other, twin) in zip(fused.parameters_and_names(), separate.parameters_and_names()):
        assert name == other
        value = rng.uniform(0.5, 1.5, param.shape) if "gamma" in name else rng.normal(0, 0.5, param.shape)
        param.set_data(Tensor(value.astype(np.float32)))
        twin.set_data(Tensor(value.astype(np.float32)))
    x = Tensor((rng.standard_normal((4, ci, size, size)) * 2).astype(np.float32))
    for block in (fused, separate):  # a cell's first call fixes its graph's mode (MindSpore's graph cache)
        block.set_train(True)
        out_shape = block(x).shape  # (and updates the moving statistics once)
    grad_out = Tensor(rng.standard_normal(out_shape).astype(np.float32))
    got, expected = train_call(fused, x, grad_out), train_call(separate, x, grad_out)
    assert len(got) == len(expected) == 6  # dx, dw, dgamma, dbeta, moving mean and variance
    for index, (a, b) in enumerate(zip(got, expected)):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6 * max(1.0, np.abs(b).max()), err_msg=str(index))
    assert np.abs(got[0]).max() > 0 and np.abs(got[1]).max() > 0
    for mode in (True, False):
        fused.set_train(mode)
        separate.set_train(mode)
        np.testing.assert_allclose(fused(x).asnumpy(), separate(x).asnumpy(), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("padding,stem_stride", [("same", 1), ("symmetric", 2)])
def test_network_of_fused_blocks_trains_as_mindspore_cells(padding, stem_stride):
    """The whole MobileNetV1 with every kernel (27 fused blocks) against MindSpore's cells on the same weights
    (tests/kernel_checks.py: loss, every gradient, moving statistics)."""
    cpp = assert_network_trains_as_cells(tuple(KERNELS), size=32 * stem_stride, class_num=10, width_multiplier=0.25,
                                         stem_stride=stem_stride, conv_padding=padding)
    assert sum(isinstance(cell, ConvBatchNormActivationCPU) for cell in cpp.network) == 27
