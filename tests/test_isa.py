"""oneDNN's instruction-set cap (src/cpu_kernels/isa.py): which runs lift it, and that the lift takes effect."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import src
from src.cpu_kernels import KERNELS
from src.cpu_kernels.isa import configure_onednn, onednn_isa
from tests.conftest import ROOT

ALL_KERNELS = tuple(KERNELS)


def test_lifted_only_when_no_convolution_is_left_to_onednn(monkeypatch):
    monkeypatch.setattr(src, "USER_ONEDNN_ISA", None)
    assert onednn_isa(ALL_KERNELS) == "ALL"
    assert onednn_isa(("depthwise", "stem")) == "ALL"
    assert onednn_isa(("depthwise", "batchnorm", "pointwise")) == "AVX2"  # the stem on oneDNN
    assert onednn_isa(("batchnorm", "pointwise", "stem")) == "AVX2"  # depthwise on oneDNN
    assert onednn_isa(()) == "AVX2"  # exportable networks, GPU and Ascend runs


def test_the_users_setting_is_kept(monkeypatch):
    monkeypatch.setattr(src, "USER_ONEDNN_ISA", "AVX512_CORE")
    assert onednn_isa(ALL_KERNELS) == "AVX512_CORE"
    assert onednn_isa(()) == "AVX512_CORE"


# a process as eval.py starts: import src, build the network from a config, run it (on weights that
# give each image its own logits)
PROBE = """
import json, sys
import numpy as np
import src
import mindspore as ms
from src.model_utils.config import get_config
from src.model_utils.context import init_context
from src.mobilenet_v1 import create_network
from tests.kernel_checks import random_weights
config = get_config(["--config_path", "default_config.yaml", "--device_target", "CPU", "--width_multiplier", "0.25",
                     "--class_num", "10"] + sys.argv[1:])
init_context(config)
net = create_network(config)
ms.load_param_into_net(net, random_weights({p.name: p.shape for p in net.get_parameters()}, np.random.default_rng(1)))
net.set_train(False)
x = ms.Tensor(np.random.default_rng(0).standard_normal((2, 3, 32, 32)).astype(np.float32))
print("LOGITS " + json.dumps(net(x).asnumpy().tolist()))
"""


def _probe(*flags):
    """(oneDNN's ISA line, logits) of a fresh process that did not set ONEDNN_MAX_CPU_ISA itself."""
    env = {k: v for k, v in os.environ.items() if k != "ONEDNN_MAX_CPU_ISA"}
    env["ONEDNN_VERBOSE"] = "1"
    proc = subprocess.run([sys.executable, "-c", PROBE, *flags], cwd=ROOT, env=env, capture_output=True, text=True,
                          check=True)
    isa = next(line for line in proc.stdout.splitlines() if ",info,cpu,isa:" in line)
    logits = json.loads(next(line for line in proc.stdout.splitlines() if line.startswith("LOGITS "))[7:])
    return isa, np.array(logits)


def _has_avx512():
    with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
        return " avx512f" in cpuinfo.read()


@pytest.mark.skipif(not src.X86, reason="the cap and its lift are x86 instruction sets; elsewhere nothing is set "
                                       "(test_no_cap_on_other_cpus)")
def test_lift_reaches_onednn_and_keeps_the_outputs():
    """What it checks depends on the machine: on an AVX-512 CPU, that the lift reaches oneDNN (its ISA line
    says AVX-512 lifted, AVX2 capped); on an AVX2-only CPU there is nothing above the cap, so only that both
    processes run, that oneDNN stays at AVX2 or below and that the outputs agree."""
    lifted_isa, lifted = _probe()  # every kernel on: no convolution left to oneDNN
    capped_isa, capped = _probe("--depthwise_impl", "mindspore")  # oneDNN runs the depthwise convolutions
    assert "AVX2" in capped_isa and "AVX-512" not in capped_isa
    if _has_avx512():
        assert "AVX-512" in lifted_isa, lifted_isa
    else:
        assert "AVX2" in lifted_isa or "SSE" in lifted_isa, lifted_isa
    np.testing.assert_allclose(lifted, capped, rtol=1e-5, atol=1e-5 * np.abs(capped).max())


def test_no_cap_on_other_cpus(monkeypatch):
    """ONEDNN_MAX_CPU_ISA names x86 instruction sets: on an aarch64 (Kunpeng) machine nothing is set or lifted."""
    monkeypatch.setattr(src, "USER_ONEDNN_ISA", None)
    monkeypatch.setattr(src, "X86", False)
    assert onednn_isa(ALL_KERNELS) is None and onednn_isa(()) is None
    monkeypatch.delenv("ONEDNN_MAX_CPU_ISA", raising=False)
    configure_onednn(ALL_KERNELS)
    assert "ONEDNN_MAX_CPU_ISA" not in os.environ


def test_importing_src_on_aarch64_sets_no_cap():
    probe = ("import os, platform; platform.machine = lambda: 'aarch64'; import src; "
             "print(os.environ.get('ONEDNN_MAX_CPU_ISA'), src.X86)")
    env = {k: v for k, v in os.environ.items() if k != "ONEDNN_MAX_CPU_ISA"}
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["None", "False"]
