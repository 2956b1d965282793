"""The C++ depthwise kernel against MindSpore's nn.Conv2d: outputs, gradients, networks, and set-up errors."""
import numpy as np
import pytest
from mindspore import Tensor, nn

from src.cpu_kernels.depthwise import DepthwiseConv3x3CPU
from tests.kernel_checks import assert_networks_match, output_and_gradients

# (N, C, H, W, stride, padding): odd and even sizes, both strides, both paddings, 1x1 (only the centre tap
# acts: a path of its own) and 2x2 planes;
# square 2, 4, 7, 8, 16 and 32 planes take the kernel's compile-time geometry, the others its run-time one.
CASES = [
    (3, 5, 8, 8, 1, "same"), (3, 5, 8, 8, 2, "same"), (2, 4, 7, 9, 2, "same"), (2, 4, 7, 9, 2, "symmetric"),
    (2, 4, 8, 8, 2, "symmetric"), (2, 3, 5, 6, 1, "symmetric"), (2, 3, 1, 1, 1, "same"), (2, 3, 2, 2, 2, "same"),
    (2, 3, 4, 4, 1, "same"), (2, 3, 4, 4, 2, "symmetric"), (2, 3, 7, 7, 2, "same"), (1, 2, 16, 16, 2, "same"),
    (1, 2, 32, 32, 1, "symmetric"), (5, 6, 1, 1, 2, "same"), (5, 6, 1, 1, 1, "symmetric"), (4, 3, 1, 1, 2, "symmetric"),
]


def _reference(channels, stride, padding):
    pad = {"pad_mode": "same"} if padding == "same" else {"pad_mode": "pad", "padding": 1}
    return nn.Conv2d(channels, channels, 3, stride, group=channels, has_bias=False, **pad)


@pytest.mark.parametrize("n,c,h,w,stride,padding", CASES)
def test_kernel_matches_mindspore_conv2d_forward_and_backward(n, c, h, w, stride, padding):
    rng = np.random.default_rng(h * 10 + w + stride)
    fast, ref = DepthwiseConv3x3CPU(c, stride, padding), _reference(c, stride, padding)
    weight = Tensor(rng.standard_normal((c, 1, 3, 3)).astype(np.float32))
    fast.weight.set_data(weight)
    ref.weight.set_data(weight)
    x = Tensor(rng.standard_normal((n, c, h, w)).astype(np.float32))
    expected_y = ref(x)
    grad_out = Tensor(rng.standard_normal(expected_y.shape).astype(np.float32))
    y, dx, dw = output_and_gradients(fast, x, grad_out)
    ry, rdx, rdw = output_and_gradients(ref, x, grad_out)
    assert y.shape == ry.shape
    np.testing.assert_allclose(y, ry, atol=1e-5)
    np.testing.assert_allclose(dx, rdx, atol=1e-5)
    np.testing.assert_allclose(dw, rdw, atol=1e-4)


@pytest.mark.parametrize("padding", ["same", "symmetric"])
def test_networks_share_parameters_and_outputs(padding):
    assert_networks_match("depthwise", class_num=10, width_multiplier=0.25, stem_stride=1, conv_padding=padding)
