"""The C++ stem kernel (dense 3x3 convolution) against MindSpore's nn.Conv2d: outputs, gradients, networks."""
import numpy as np
import pytest
from mindspore import Tensor, nn

from src.cpu_kernels.stem import StemConv3x3CPU
from tests.kernel_checks import assert_networks_match, output_and_gradients

# (N, Ci, Co, H, W, stride, padding): even and odd sides, where "same" at stride 2 pads only the end
CASES = [(2, 3, 8, 32, 32, 1, "same"), (2, 3, 8, 32, 32, 2, "same"), (3, 3, 5, 9, 7, 2, "same"),
         (2, 3, 8, 32, 32, 2, "symmetric"), (3, 2, 4, 7, 10, 2, "symmetric"), (1, 3, 6, 5, 6, 1, "symmetric")]


@pytest.mark.parametrize("n,ci,co,h,w,stride,padding", CASES)
def test_kernel_matches_mindspore_conv2d_forward_and_backward(n, ci, co, h, w, stride, padding):
    rng = np.random.default_rng(h * 10 + w + stride)
    fast = StemConv3x3CPU(ci, co, stride, padding)
    pads = {"pad_mode": "same"} if padding == "same" else {"pad_mode": "pad", "padding": 1}
    ref = nn.Conv2d(ci, co, 3, stride, has_bias=False, **pads)
    weight = Tensor(rng.standard_normal((co, ci, 3, 3)).astype(np.float32))
    fast.weight.set_data(weight)
    ref.weight.set_data(weight)
    x = Tensor(rng.standard_normal((n, ci, h, w)).astype(np.float32))
    out_shape = ref(x).shape
    grad_out = Tensor(rng.standard_normal(out_shape).astype(np.float32))
    for name, got, expected in zip(("y", "dx", "dw"), output_and_gradients(fast, x, grad_out),
                                   output_and_gradients(ref, x, grad_out)):
        assert got.shape == expected.shape, name
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4, err_msg=name)


def test_stride_is_checked():
    with pytest.raises(ValueError, match="stride must be 1 or 2"):
        StemConv3x3CPU(3, 8, 3)


@pytest.mark.parametrize("padding,stem_stride", [("same", 1), ("same", 2), ("symmetric", 2)])
def test_networks_share_parameters_and_outputs(padding, stem_stride):
    cpp = assert_networks_match("stem", class_num=10, width_multiplier=0.25, stem_stride=stem_stride,
                                conv_padding=padding)
    assert sum(isinstance(cell, StemConv3x3CPU) for _, cell in cpp.cells_and_names()) == 1
