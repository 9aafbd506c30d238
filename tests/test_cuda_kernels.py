"""The CUDA path without a GPU: PTX compilation and Numba's CUDA simulator."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

import wavesim as ws

SCRIPTS = Path(__file__).parent / "cuda_scripts"


@pytest.mark.parametrize("model_name", ws.list_models())
def test_every_kernel_of_every_model_compiles_to_ptx_for_sm90(model_name):
    pytest.importorskip("numba.cuda")
    from numba import cuda
    from numba.cuda.dispatcher import CUDADispatcher

    from wavesim.kernels.cuda import SIGNATURES, build_cuda_kernels

    built = vars(build_cuda_kernels(ws.get_model(model_name).build_rule))
    kernels = {name for name, obj in built.items() if isinstance(obj, CUDADispatcher)}
    assert kernels and set(SIGNATURES) == kernels  # a kernel without a PTX signature fails here
    for name, signature in SIGNATURES.items():
        ptx, _ = cuda.compile_ptx(built[name].py_func, signature, cc=(9, 0))
        assert ".target sm_90" in ptx
        assert f"{name}" in ptx


def _under_simulator(args):
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1", WAVESIM_CUDA_TILE="8x1", WAVESIM_CONFORMANCE_BACKENDS="cuda")
    return subprocess.run([sys.executable, *args], env=env, capture_output=True, text=True, timeout=900,
                          cwd=Path(__file__).parent)


def test_backend_conformance_suite_passes_on_cuda_under_the_simulator():
    pytest.importorskip("numba.cuda")
    result = _under_simulator(["-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "ignore::RuntimeWarning",
                               "test_conformance.py"])
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and "skipped" not in result.stdout, result.stdout[-2000:]


def test_fit_batch_and_live_waves_on_cuda_under_the_simulator_equal_cpu():
    pytest.importorskip("numba.cuda")
    result = _under_simulator([str(SCRIPTS / "sim_vs_cpu.py")])
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.startswith("OK")
