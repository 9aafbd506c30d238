"""The ``cuda`` backend on a real GPU: bit-identical to ``cpu``. Skipped where no GPU is usable."""

import os

import numpy as np
import pytest

import wavesim as ws
from wavesim.backends import cuda_status

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(
        os.environ.get("NUMBA_ENABLE_CUDASIM") == "1" or not cuda_status()[0],
        reason=f"no usable CUDA GPU: {cuda_status()[1]}",
    ),
]


@pytest.mark.parametrize("kind", ["binary", "calcium"])
def test_cuda_matches_cpu_bit_for_bit_after_warm_up(kind):
    params = [ws.preset("mouse"), ws.preset("turtle"), ws.AmacrineParams(P_s=20.0, spont_rate_hz=0.002)]
    seeds = [1, 2, 3]
    retina = ws.Retina(width_um=2500, height_um=2000, shape="disc")
    readout = ws.Readout(um_per_pixel=40, frame_period_s=0.5, kind=kind, blur_um=60 if kind == "calcium" else 0)
    gpu = ws.Simulation(params, seeds, retina=retina, readout=readout, backend="cuda")
    cpu = ws.Simulation(params, seeds, retina=retina, readout=readout, backend="cpu")
    assert gpu.backend == "cuda" and not gpu.engine.simulated
    gpu.advance_s(900)
    cpu.advance_s(900)
    frames_gpu = np.concatenate([gpu.to_host(c) for _, c in gpu.frames(240, 64)], axis=1)
    frames_cpu = np.concatenate([c for _, c in cpu.frames(240, 64)], axis=1)
    sg, sc = gpu.state(), cpu.state()
    for name in sc:
        assert np.array_equal(sg[name], sc[name]), name
    assert np.array_equal(frames_gpu, frames_cpu)
    assert frames_cpu.any()


def test_auto_picks_cuda():
    sim = ws.Simulation(ws.preset("mouse"), [0], retina=ws.Retina(width_um=500, height_um=500), backend="auto")
    assert sim.backend == "cuda"
