"""The CUDA path without a GPU: PTX compilation and Numba's CUDA simulator."""

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

import wavesim as ws

SCRIPTS = Path(__file__).parent / "cuda_scripts"


@pytest.mark.parametrize("model_name", ws.list_models())
def test_every_kernel_of_every_model_compiles_to_ptx_for_sm90(model_name):
    pytest.importorskip("numba.cuda")
    from numba import cuda
    from numba.cuda.dispatcher import CUDADispatcher

    from wavesim.kernels.cuda import LAUNCH_BOUNDS, SIGNATURES, build_cuda_kernels

    built = vars(build_cuda_kernels(ws.get_model(model_name).build_rule))
    kernels = {name for name, obj in built.items() if isinstance(obj, CUDADispatcher)}
    assert kernels and set(SIGNATURES) == kernels  # a kernel without a PTX signature fails here
    for name, signature in SIGNATURES.items():
        ptx, _ = cuda.compile_ptx(built[name].py_func, signature, cc=(9, 0), launch_bounds=LAUNCH_BOUNDS.get(name))
        assert ".target sm_90" in ptx
        assert f"{name}" in ptx
        if name in LAUNCH_BOUNDS:
            _assert_fits_its_launch_bounds(ptx, *LAUNCH_BOUNDS[name])


def _assert_fits_its_launch_bounds(ptx, threads, blocks_per_sm):
    """ptxas (from nvidia-cuda-nvcc, installed with numba-cuda[cu12]) fits the kernel without spilling."""
    nvcc = pytest.importorskip("nvidia.cuda_nvcc")
    ptxas = Path(next(iter(nvcc.__path__))) / "bin" / "ptxas"
    if not ptxas.exists():
        pytest.skip(f"no ptxas at {ptxas}")
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "kernel.ptx"
        source.write_text(ptx)
        result = subprocess.run([str(ptxas), "-arch=sm_90", "-O3", "-v", str(source), "-o", str(source.with_suffix(".cubin"))],
                                capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    registers = int(re.search(r"Used (\d+) registers", result.stderr).group(1))
    assert registers * threads * blocks_per_sm <= 65536, result.stderr
    assert " 0 bytes spill stores" in result.stderr, result.stderr


def _under_simulator(args):
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1", WAVESIM_CUDA_TILE="8x1", WAVESIM_CONFORMANCE_BACKENDS="cuda")
    return subprocess.run([sys.executable, *args], env=env, capture_output=True, text=True, timeout=900,
                          cwd=Path(__file__).parent)


def test_backend_conformance_suite_passes_on_cuda_under_the_simulator():
    pytest.importorskip("numba.cuda")
    # Same seeds, same bits is implied there by equality with the reference at every step.
    result = _under_simulator(["-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "ignore::RuntimeWarning",
                               "test_conformance.py", "-k", "not same_seeds"])
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and "skipped" not in result.stdout, result.stdout[-2000:]


def test_fit_batch_and_live_waves_on_cuda_under_the_simulator_equal_cpu():
    pytest.importorskip("numba.cuda")
    result = _under_simulator([str(SCRIPTS / "sim_vs_cpu.py")])
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.startswith("OK")
