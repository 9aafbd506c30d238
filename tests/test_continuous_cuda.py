"""The continuous models' CUDA kernels without a GPU: PTX for sm_90, and the CUDA simulator against the CPU runner."""

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

SCRIPT = Path(__file__).parent / "cuda_scripts" / "pull_sim_vs_cpu.py"


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
def test_step_kernel_compiles_to_ptx_for_sm90_without_spilling(simulator_run, model_name):
    pytest.importorskip("numba.cuda")
    from importlib import import_module

    from numba import cuda

    from wavesim.kernels.pull_cuda import SIGNATURES, build_pull_cuda_kernels

    kernels = build_pull_cuda_kernels(import_module(f"wavesim.kernels.{model_name}").build_rule)
    ptx, _ = cuda.compile_ptx(kernels.step_kernel.py_func, SIGNATURES["step_kernel"], cc=(9, 0))
    assert ".target sm_90" in ptx
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
    assert int(re.search(r"Used (\d+) registers", result.stderr).group(1)) <= 255
    assert " 0 bytes spill stores" in result.stderr, result.stderr


def test_cuda_kernels_under_the_simulator_equal_the_cpu_runner_bit_for_bit(simulator_run):
    process, out, err = simulator_run
    process.wait(timeout=1200)
    out.seek(0)
    err.seek(0)
    assert process.returncode == 0, err.read()[-3000:]
    assert out.read().startswith("OK")
