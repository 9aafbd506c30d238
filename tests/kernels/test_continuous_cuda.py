"""The continuous models' CUDA kernels without a GPU: PTX for sm_90, and the CUDA simulator against the CPU runner."""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import test_cuda_kernels

SCRIPT = Path(__file__).parents[1] / "cuda_scripts" / "pull_sim_vs_cpu.py"


@pytest.fixture(scope="module")
def simulator_run():
    """The simulator run (its own process: the simulator is chosen at import), started with this module."""
    pytest.importorskip("numba.cuda")
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1", NUMBA_NUM_THREADS="1")
    out, err = tempfile.TemporaryFile("w+"), tempfile.TemporaryFile("w+")
    process = subprocess.Popen([sys.executable, str(SCRIPT)], env=env, stdout=out, stderr=err, cwd=SCRIPT.parent.parent)
    yield process, out, err
    if process.poll() is None:
        process.kill()
        process.wait()
    out.close()
    err.close()


@pytest.mark.parametrize("model_name", ["lansdell2014", "retinalchaos"])
def test_kernels_compile_to_ptx_for_sm90_and_the_step_without_spilling(simulator_run, model_name):
    pytest.importorskip("numba.cuda")
    from importlib import import_module

    from numba import cuda

    from wavesim.kernels.pull_cuda import SIGNATURES, THREADS_X, THREADS_Y, build_pull_cuda_kernels

    kernels = build_pull_cuda_kernels(import_module(f"wavesim.kernels.{model_name}").build_rule)
    for name in set(SIGNATURES) - {"step_kernel"}:  # the engine's other kernels compile too
        assert ".target sm_90" in cuda.compile_ptx(getattr(kernels, name).py_func, SIGNATURES[name], cc=(9, 0))[0]
    ptx, _ = cuda.compile_ptx(kernels.step_kernel.py_func, SIGNATURES["step_kernel"], cc=(9, 0))
    assert ".target sm_90" in ptx
    # ptxas fits it without spilling, 4 blocks of THREADS_X x THREADS_Y threads per SM (the criterion of the
    # existing kernels' check; imported as a module so that its fixtures stay out of this one)
    test_cuda_kernels._assert_fits_its_launch_bounds(ptx, THREADS_X * THREADS_Y, 4)


def test_cuda_kernels_under_the_simulator_equal_the_cpu_runner_bit_for_bit(simulator_run):
    process, out, err = simulator_run
    process.wait(timeout=1200)
    out.seek(0)
    err.seek(0)
    assert process.returncode == 0, err.read()[-3000:]
    assert out.read().startswith("OK")
