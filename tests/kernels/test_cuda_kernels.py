"""The CUDA path without a GPU: PTX compilation and Numba's CUDA simulator."""

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

import wavesim as ws

SCRIPTS = Path(__file__).parents[1] / "cuda_scripts"


# The pulled-field models' kernels: tests/kernels/test_continuous_cuda.py.
@pytest.mark.parametrize("model_name", [m for m in ws.list_models() if ws.get_model(m).coupling == "push"])
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


SIMULATOR_RUNS = {
    # Same seeds, same bits is implied there by equality with the reference at every step.
    "conformance": ["-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "ignore::RuntimeWarning",
                    "backends/test_conformance.py", "-k", "not same_seeds"],
    "fit_and_live": [str(SCRIPTS / "sim_vs_cpu.py")],
}


@pytest.fixture(scope="module", autouse=True)
def simulator_runs():
    """The runs under Numba's CUDA simulator, started when this module starts.

    Each is one single-threaded process, so on two cores they overlap each
    other and the PTX tests instead of running one after another.
    """
    try:
        import numba.cuda  # noqa: F401
    except ImportError:
        yield {}
        return
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1", WAVESIM_CUDA_TILE="8x1", WAVESIM_CONFORMANCE_BACKENDS="cuda",
               NUMBA_NUM_THREADS="1")
    runs = {}
    for name, args in SIMULATOR_RUNS.items():
        # Output goes to files, not pipes: nobody reads a pipe until the test waits, and a full one would block.
        out, err = tempfile.TemporaryFile("w+"), tempfile.TemporaryFile("w+")
        runs[name] = (subprocess.Popen([sys.executable, *args], env=env, stdout=out, stderr=err,
                                       cwd=Path(__file__).parents[1]), out, err)
    yield runs
    for process, out, err in runs.values():
        if process.poll() is None:
            process.kill()
            process.wait()
        out.close()
        err.close()


def _finished(runs, name):
    """(returncode, stdout, stderr) of a simulator run, waiting for it."""
    pytest.importorskip("numba.cuda")
    process, out, err = runs[name]
    process.wait(timeout=900)
    out.seek(0)
    err.seek(0)
    return process.returncode, out.read(), err.read()


def test_backend_conformance_suite_passes_on_cuda_under_the_simulator(simulator_runs):
    code, stdout, stderr = _finished(simulator_runs, "conformance")
    assert code == 0, stdout[-3000:] + stderr[-2000:]
    assert " passed" in stdout and "skipped" not in stdout, stdout[-2000:]


def test_fit_batch_and_live_waves_on_cuda_under_the_simulator_equal_cpu(simulator_runs):
    code, stdout, stderr = _finished(simulator_runs, "fit_and_live")
    assert code == 0, stderr[-3000:]
    assert stdout.startswith("OK")
