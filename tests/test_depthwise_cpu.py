"""The C++ depthwise kernel against MindSpore's nn.Conv2d: outputs, gradients, networks, and set-up errors."""
import numpy as np
import pytest
import mindspore as ms
from mindspore import Tensor, nn

from src.depthwise_cpu import DepthwiseConv3x3CPU, kernel_library, resolve_implementation
from src.mobilenet_v1 import mobilenet_v1
from src.model_utils.errors import UserInputError

# (N, C, H, W, stride, padding): odd and even sizes, both strides, both paddings, 1x1 and 2x2 planes;
# square 2, 4, 7, 8, 16 and 32 planes take the kernel's compile-time geometry, the others its run-time one.
CASES = [
    (3, 5, 8, 8, 1, "same"), (3, 5, 8, 8, 2, "same"), (2, 4, 7, 9, 2, "same"), (2, 4, 7, 9, 2, "symmetric"),
    (2, 4, 8, 8, 2, "symmetric"), (2, 3, 5, 6, 1, "symmetric"), (2, 3, 1, 1, 1, "same"), (2, 3, 2, 2, 2, "same"),
    (2, 3, 4, 4, 1, "same"), (2, 3, 4, 4, 2, "symmetric"), (2, 3, 7, 7, 2, "same"), (1, 2, 16, 16, 2, "same"),
    (1, 2, 32, 32, 1, "symmetric"),
]


def _reference(channels, stride, padding):
    pad = {"pad_mode": "same"} if padding == "same" else {"pad_mode": "pad", "padding": 1}
    return nn.Conv2d(channels, channels, 3, stride, group=channels, has_bias=False, **pad)


def _output_and_gradients(cell, x, grad_out):
    def weighted_sum(inputs):
        return (cell(inputs) * grad_out).sum()
    dx, (dw,) = ms.grad(weighted_sum, grad_position=0, weights=cell.trainable_params())(x)
    return cell(x).asnumpy(), dx.asnumpy(), dw.asnumpy()


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
    y, dx, dw = _output_and_gradients(fast, x, grad_out)
    ry, rdx, rdw = _output_and_gradients(ref, x, grad_out)
    assert y.shape == ry.shape
    np.testing.assert_allclose(y, ry, atol=1e-5)
    np.testing.assert_allclose(dx, rdx, atol=1e-5)
    np.testing.assert_allclose(dw, rdw, atol=1e-4)


@pytest.mark.parametrize("padding", ["same", "symmetric"])
def test_networks_share_parameters_and_outputs(padding):
    kwargs = {"class_num": 10, "width_multiplier": 0.25, "stem_stride": 1, "conv_padding": padding}
    cpp, official = mobilenet_v1(depthwise_impl="cpp", **kwargs), mobilenet_v1(depthwise_impl="mindspore", **kwargs)
    shapes = {p.name: tuple(p.shape) for p in official.get_parameters()}
    assert {p.name: tuple(p.shape) for p in cpp.get_parameters()} == shapes
    rng = np.random.default_rng(0)
    weights = {name: ms.Parameter(Tensor(rng.uniform(0.5, 1.5, shape).astype(np.float32)), name=name)
               for name, shape in shapes.items()}
    for net in (cpp, official):
        assert not ms.load_param_into_net(net, weights, strict_load=True)[0]
        net.set_train(False)
    x = Tensor(rng.standard_normal((4, 3, 32, 32)).astype(np.float32))
    expected = official(x).asnumpy()
    np.testing.assert_allclose(cpp(x).asnumpy(), expected, rtol=1e-4, atol=1e-4 * np.abs(expected).max())


def test_resolve_implementation():
    assert resolve_implementation("auto", "CPU") == "cpp"  # g++ is installed here (the C++ harness needs it)
    assert resolve_implementation("auto", "GPU") == "mindspore"
    assert resolve_implementation("auto", "CPU", "O2") == "mindspore"
    assert resolve_implementation("mindspore", "CPU") == "mindspore"
    for args in (("cpp", "GPU"), ("cpp", "CPU", "O3"), ("fast", "CPU")):
        with pytest.raises(UserInputError):
            resolve_implementation(*args)


def test_missing_or_failing_compiler_is_reported(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))  # nothing compiled yet
    monkeypatch.setenv("CXX", "no-such-compiler")
    assert resolve_implementation("auto", "CPU") == "mindspore"
    with pytest.raises(UserInputError, match="needs a C\\+\\+ compiler"):
        kernel_library()
    monkeypatch.setenv("CXX", "false")
    with pytest.raises(UserInputError, match="compiling .* failed"):
        kernel_library()
    assert list(tmp_path.rglob("*")) == [tmp_path / "mobilenetv1"]  # no partial library left behind
