"""Building the C++ CPU kernels and choosing between them and MindSpore's cells."""
import pytest

from src.cpu_kernels import build as cpu_kernels
from src.cpu_kernels.build import kernel_library, resolve_implementation
from src.model_utils.errors import UserInputError


def test_resolve_implementation():
    assert resolve_implementation("auto", "CPU") == "cpp"  # g++ is installed here (the C++ harness needs it)
    assert resolve_implementation("auto", "GPU") == "mindspore"
    assert resolve_implementation("auto", "CPU", "O2") == "mindspore"
    assert resolve_implementation("mindspore", "CPU") == "mindspore"
    for args in (("cpp", "GPU"), ("cpp", "CPU", "O3"), ("fast", "CPU")):
        with pytest.raises(UserInputError):
            resolve_implementation(*args)
    with pytest.raises(UserInputError, match="batchnorm_impl 'cpp' runs float32 on CPU only"):
        resolve_implementation("cpp", "Ascend", "O0", "batchnorm_impl")


@pytest.mark.parametrize("kernel,key", [("depthwise_conv3x3", "depthwise_impl"),
                                        ("batchnorm_activation", "batchnorm_impl"),
                                        ("pointwise_conv", "pointwise_impl"), ("stem_conv", "stem_impl")])
def test_missing_or_failing_compiler_is_reported(tmp_path, monkeypatch, kernel, key):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))  # nothing compiled yet
    monkeypatch.setenv("CXX", "no-such-compiler")
    assert resolve_implementation("auto", "CPU") == "mindspore"
    with pytest.raises(UserInputError, match=f"{key} 'cpp' needs a C\\+\\+ compiler"):
        kernel_library(kernel, key)
    monkeypatch.setenv("CXX", "false")
    with pytest.raises(UserInputError, match=f"compiling .*{kernel}.cc failed(.|\\n)*--{key} mindspore"):
        kernel_library(kernel, key)
    assert list(tmp_path.rglob("*")) == [tmp_path / "mobilenetv1"]  # no partial library left behind


def test_each_kernel_source_has_its_own_library():
    libraries = {kernel_library("depthwise_conv3x3", "depthwise_impl"),
                 kernel_library("batchnorm_activation", "batchnorm_impl"),
                 kernel_library("pointwise_conv", "pointwise_impl")}
    assert len(libraries) == 3 and all(path.endswith(".so") for path in libraries)


def test_missing_mindspore_library_is_reported(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setitem(cpu_kernels.MINDSPORE_LIBRARIES, "pointwise_conv", ("libno-such-library.so.1",))
    with pytest.raises(UserInputError, match="pointwise_impl 'cpp' needs libno-such-library.so.1 from MindSpore"
                                             "(.|\\n)*--pointwise_impl mindspore"):
        kernel_library("pointwise_conv", "pointwise_impl")
