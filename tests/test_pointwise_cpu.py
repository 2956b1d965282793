"""The C++ pointwise (1x1) kernel against MindSpore's nn.Conv2d: outputs, gradients and networks."""
import numpy as np
import pytest
from mindspore import Tensor, nn

from src.cpu_kernels.pointwise import PointwiseConvCPU
from tests.kernel_checks import assert_networks_match, output_and_gradients

# (N, Ci, Co, H, W): 1x1 planes take products on the tensors in place (odd counts, more images than
# one thread's share), planes under 256 pixels the kernel's whole-batch product (2x2 to 8x8, odd sizes and
# channel counts), larger ones its per-image products (16x17, 32x32).
CASES = [(3, 5, 7, 2, 2), (2, 6, 4, 4, 4), (5, 9, 17, 1, 1), (13, 19, 11, 1, 1), (2, 3, 5, 7, 5), (4, 16, 8, 8, 8),
         (3, 4, 6, 16, 17), (1, 2, 3, 32, 32)]


@pytest.mark.parametrize("n,ci,co,h,w", CASES)
def test_kernel_matches_mindspore_conv2d_forward_and_backward(n, ci, co, h, w):
    rng = np.random.default_rng(h * 10 + w)
    fast, ref = PointwiseConvCPU(ci, co), nn.Conv2d(ci, co, 1, has_bias=False)
    weight = Tensor(rng.standard_normal((co, ci, 1, 1)).astype(np.float32))
    fast.weight.set_data(weight)
    ref.weight.set_data(weight)
    x = Tensor(rng.standard_normal((n, ci, h, w)).astype(np.float32))
    grad_out = Tensor(rng.standard_normal((n, co, h, w)).astype(np.float32))
    for got, expected in zip(output_and_gradients(fast, x, grad_out), output_and_gradients(ref, x, grad_out)):
        assert got.shape == expected.shape
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("padding", ["same", "symmetric"])
def test_networks_share_parameters_and_outputs(padding):
    cpp = assert_networks_match("pointwise", class_num=10, width_multiplier=0.25, stem_stride=1,
                                conv_padding=padding)
    assert sum(isinstance(cell, PointwiseConvCPU) for _, cell in cpp.cells_and_names()) == 13
