"""Building the C++ CPU kernels and choosing between them and MindSpore's cells."""
import os
import shutil
import subprocess
import sys
import tempfile

import pytest

from src.cpu_kernels import build as cpu_kernels
from src.cpu_kernels.build import kernel_library, resolve_implementation
from src.model_utils.errors import UserInputError
from tests.conftest import ROOT, TINY_MODEL


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


def _fake_compiler(tmp_path, body):
    """A CXX that runs ``body`` (sh) with the compiler's arguments, to stand for a broken tool chain."""
    path = tmp_path / "fake-cxx"
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return str(path)


NO_OPENMP = ('for a; do [ "$a" = -fopenmp ] && { echo "k.cc:1:10: fatal error: omp.h: No such file or directory" >&2;'
             ' exit 1; }; done; exec g++ "$@"\n')
WRITES_GARBAGE = 'while [ "$1" != -o ]; do shift; done; echo "not a library" > "$2"\n'


@pytest.fixture
def fresh_cache(tmp_path, monkeypatch):
    """An empty kernel cache, and the fallback warnings not yet given in this process."""
    monkeypatch.setenv("MOBILENETV1_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(cpu_kernels, "_warned", set())
    return tmp_path


@pytest.mark.parametrize("compiler_body, why", [(NO_OPENMP, "omp.h: No such file or directory"),
                                                (WRITES_GARBAGE, "does not load")])
def test_auto_falls_back_to_the_cells_when_the_kernel_cannot_be_used(fresh_cache, monkeypatch, caplog,
                                                                    compiler_body, why):
    monkeypatch.setenv("CXX", _fake_compiler(fresh_cache, compiler_body))
    with caplog.at_level("WARNING"):
        assert resolve_implementation("auto", "CPU", "O0", "depthwise_impl") == "mindspore"
        assert resolve_implementation("auto", "CPU", "O0", "depthwise_impl") == "mindspore"
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1 and warnings[0].startswith("depthwise_impl auto: MindSpore's cells")
    assert why in warnings[0] and "apt-get install g++" in warnings[0]
    with pytest.raises(UserInputError, match=why) as err:
        resolve_implementation("cpp", "CPU", "O0", "depthwise_impl")
    assert "\n" not in str(err.value)


def test_auto_falls_back_without_a_compiler_or_a_mindspore_library(fresh_cache, monkeypatch, caplog):
    monkeypatch.setitem(cpu_kernels.MINDSPORE_LIBRARIES, "pointwise_conv", ("libno-such-library.so.1",))
    with caplog.at_level("WARNING"):
        assert resolve_implementation("auto", "CPU", "O0", "pointwise_impl") == "mindspore"
        monkeypatch.setenv("CXX", "no-such-compiler")
        assert resolve_implementation("auto", "CPU", "O0", "stem_impl") == "mindspore"
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert "needs libno-such-library.so.1 from MindSpore" in warnings[0] and "needs a C++ compiler" in warnings[1]


def test_an_unwritable_cache_folder_falls_back_to_a_temporary_one(tmp_path, monkeypatch):
    """As root nothing is read-only to os.access: a path under a regular file cannot be created by anyone."""
    from src.cache import cache_dir
    (tmp_path / "file").write_text("x")
    monkeypatch.setenv("MOBILENETV1_CACHE", str(tmp_path / "file" / "cache"))
    folder = cache_dir()
    assert folder.startswith(tempfile.gettempdir()) and os.access(folder, os.W_OK)
    assert resolve_implementation("auto", "CPU", "O0", "batchnorm_impl") == "cpp"
    assert kernel_library("batchnorm_activation", "batchnorm_impl").startswith(folder)


def test_training_under_auto_with_a_broken_compiler_runs_on_the_cells(fresh_cache, cifar_dirs):
    env = dict(os.environ, CXX=_fake_compiler(fresh_cache, NO_OPENMP))
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "train.py"), "--dataset_path", cifar_dirs[0],
                           *TINY_MODEL, "--epoch_size", "1", "--num_samples", "64", "--save_checkpoint_path",
                           str(fresh_cache / "out")], cwd=fresh_cache, env=env, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    warnings = [line for line in proc.stderr.splitlines() if "auto: MindSpore's cells" in line]
    # no validation: no inference_impl
    training_keys = ["batchnorm_impl", "depthwise_impl", "optimizer_impl", "pointwise_impl", "stem_impl"]
    assert sorted(w.split(" WARNING ")[1].split(" ")[0] for w in warnings) == training_keys
    assert ("depthwise mindspore, batchnorm mindspore, pointwise mindspore, stem mindspore, optimizer mindspore"
            in proc.stderr)
    assert (fresh_cache / "out" / "mobilenetv1-1_2.ckpt").exists()


CROSS_CXX = "aarch64-linux-gnu-g++"  # Debian's g++-aarch64-linux-gnu; scripts/lib/cross_compiler_env.sh installs it


def aarch64_flags():
    """build.py's flags for an aarch64 object file: -march=native names the building CPU, which here is x86,
    so a Kunpeng 920's architecture stands in for it; -c instead of -shared (MindSpore's x86 libraries
    cannot be linked into an aarch64 library)."""
    assert "-march=native" in cpu_kernels.COMPILE_FLAGS and "-shared" in cpu_kernels.COMPILE_FLAGS
    swap = {"-march=native": "-march=armv8.2-a", "-shared": "-c"}
    return [swap.get(flag, flag) for flag in cpu_kernels.COMPILE_FLAGS]


@pytest.mark.parametrize("source", sorted(cpu_kernels.SOURCES.values()))
def test_every_kernel_compiles_for_aarch64(tmp_path, source):
    """No x86 intrinsics in the kernels: each compiles for the Kunpeng aarch64 CPUs of Ascend servers."""
    assert shutil.which(CROSS_CXX), f"{CROSS_CXX} missing: bash scripts/run_tests.sh installs it"
    obj = tmp_path / f"{source}.o"
    proc = subprocess.run([CROSS_CXX, *aarch64_flags(), "-o", str(obj),
                           os.path.join(cpu_kernels.KERNEL_DIR, f"{source}.cc")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert obj.read_bytes()[:4] == b"\x7fELF" and obj.read_bytes()[18] == 183  # e_machine EM_AARCH64
