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


@pytest.mark.parametrize("shape", ["rectangle", "disc"])
def test_cuda_kernels_under_simulator_match_cpu(shape):
    pytest.importorskip("numba.cuda")
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1", WAVESIM_CUDA_TILE="8x1")
    result = subprocess.run(
        [sys.executable, str(SCRIPTS / "sim_vs_cpu.py"), shape], env=env, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.startswith("OK")
