"""Run under NUMBA_ENABLE_CUDASIM=1: the CUDA kernels on the simulator against the CPU backend.

Prints one line, ``OK <frames checksum> <active cells>``, or raises.
"""

import os
import sys
import warnings

import numpy as np

assert os.environ.get("NUMBA_ENABLE_CUDASIM") == "1", "run me with NUMBA_ENABLE_CUDASIM=1"
warnings.simplefilter("ignore", RuntimeWarning)  # uint64 hash overflow is intended

import wavesim as ws  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from helpers import fast_params  # noqa: E402

from wavesim.kernels import step  # noqa: E402

# A tiny lattice that still spans several (shrunken) tiles, so halos cross blocks.
assert (step.THREADS_X, step.THREADS_Y) == (8, 1), "run me with WAVESIM_CUDA_TILE=8x1"
params = [fast_params(spont_rate_hz=0.5), fast_params(P_s=5.0, H2=0.3, D_s=0.3, spont_rate_hz=0.5)]
retina = ws.Retina(width_um=600, height_um=300, shape=sys.argv[1])
checked = []
for kind, blur_um in (("binary", 0.0), ("calcium", 30.0)):
    readout = ws.Readout(um_per_pixel=30, frame_period_s=0.05, kind=kind, blur_um=blur_um)
    gpu = ws.Simulation(params, seeds=[3, 4], retina=retina, readout=readout, backend="cuda")
    cpu = ws.Simulation(params, seeds=[3, 4], retina=retina, readout=readout, backend="cpu")
    assert gpu.backend == "cuda" and gpu.engine.simulated
    assert gpu.lattice.cols > 2 * step.TILE_X and gpu.lattice.rows > 2 * step.TILE_Y
    gpu.advance(16)
    cpu.advance(16)
    frames_gpu = np.concatenate([gpu.to_host(c) for _, c in gpu.frames(5, 2)], axis=1)
    frames_cpu = np.concatenate([c for _, c in cpu.frames(5, 2)], axis=1)
    sg, sc = gpu.state(), cpu.state()
    for name in sc:
        assert np.array_equal(sg[name], sc[name]), (kind, name)
    assert np.array_equal(frames_gpu, frames_cpu), kind
    active = int(((gpu.step - sc["onset"]) >= 0).sum())
    assert active > 10 and frames_cpu.any(), (kind, active)
    checked.append(f"{kind}:{active}")
print("OK", *checked)
