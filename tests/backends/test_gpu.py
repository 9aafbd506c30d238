"""The ``cuda`` backend on a real GPU: bit-identical to ``cpu``. Skipped where no GPU is usable."""

import os

import pytest

import wavesim as ws
from wavesim.backends import cuda_status
from helpers import assert_cuda_matches_cpu

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
    retina = ws.Retina(width_um=2500, height_um=2000, shape="disc")
    readout = ws.Readout(um_per_pixel=40, frame_period_s=0.5, kind=kind, blur_um=60 if kind == "calcium" else 0)
    # 36,000 warm-up steps run as whole and partial CUDA graphs; frames every 20 steps use a 20-step graph.
    gpu, frames, _ = assert_cuda_matches_cpu(params, [1, 2, 3], retina, readout, 36000, 240, 64)
    assert not gpu.engine.simulated
    assert frames.any()


def test_auto_picks_cuda():
    sim = ws.Simulation(ws.preset("mouse"), [0], retina=ws.Retina(width_um=500, height_um=500), backend="auto")
    assert sim.backend == "cuda"


def test_live_waves_on_gpu_equal_cpu_and_never_touch_the_host():
    torch = pytest.importorskip("torch")
    import cupy

    from wavesim.data import LiveWaves

    kw = dict(n_retinas=8, batch_size=4, warmup_s=60, batches_per_epoch=6, seed=4, crop_px=48)
    gpu = list(LiveWaves(backend="cuda", **kw))
    cpu = list(LiveWaves(backend="cpu", **kw))
    for g, c in zip(gpu, cpu):
        assert g["clips"].device.type == "cuda"
        assert torch.equal(g["clips"].cpu(), c["clips"])
    frames = cupy.arange(24, dtype=cupy.uint8).reshape(2, 3, 4)
    view = LiveWaves._to_torch(frames, type("Sim", (), {"xp": cupy})())
    assert view.data_ptr() == frames.data.ptr  # DLPack shares the CuPy buffer
