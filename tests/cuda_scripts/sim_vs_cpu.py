"""Run under NUMBA_ENABLE_CUDASIM=1: the fit's batch and LiveWaves on cuda (simulated) against cpu.

The kernels themselves are held to the reference by the conformance suite
(tests/backends/test_conformance.py), which tests/kernels/test_cuda_kernels.py also runs
under the simulator.

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

from wavesim.kernels import cuda as layout  # noqa: E402

# A tiny lattice that still spans several (shrunken) tiles, so halos cross blocks.
assert (layout.THREADS_X, layout.THREADS_Y) == (8, 1), "run me with WAVESIM_CUDA_TILE=8x1"
params = [fast_params(spont_rate_hz=0.5), fast_params(P_s=5.0, H2=0.3, D_s=0.3, spont_rate_hz=0.5)]
retina = ws.Retina(width_um=600, height_um=300)
checked = []

from wavesim.analysis import electrode_grid  # noqa: E402
from wavesim.fit.objective import SimulationSettings, VirtualArray  # noqa: E402

# the fit's batch: two candidates x one retina, only the electrode pixels leave the device
settings = dict(n_retinas=1, seed=4, margin_um=60.0, um_per_pixel=30.0, frame_period_s=0.05, warmup_s=0.2)
electrodes = {backend: VirtualArray(electrode_grid(2, 3, 90.0), 0.15, SimulationSettings(backend=backend, **settings))
              .simulate(params) for backend in ("cuda", "cpu")}
assert electrodes["cuda"].shape == (2, 3, 6) and np.array_equal(electrodes["cuda"], electrodes["cpu"])
assert electrodes["cpu"].any()
checked.append("fit")

# the fit's staged batch: a rung inside the warm-up, then the full objective continued from its state
from wavesim.analysis import AnalysisParams  # noqa: E402
from wavesim.fit.fidelity import Rung  # noqa: E402
from wavesim.fit.staged import _Problem, _Run, _run_rung  # noqa: E402

staged = {}
for backend in ("cuda", "cpu"):
    array = VirtualArray(electrode_grid(2, 3, 90.0), 0.1, SimulationSettings(
        backend=backend, electrodes="poisson", **{**settings, "warmup_s": 0.1}))
    problem = _Problem((array,), ((0,),), (Rung(0.025, 0.5, 0.075), Rung(0.1, 1.0, 0.2)), 0.1, AnalysisParams(),
                       0.01, backend)
    run = _Run(0, tuple(params), (0, 0), None)
    for k in range(2):
        run, stats = _run_rung(problem, run, k)
    staged[backend] = [[s.to_dict() for s in per_retina] for per_retina in stats]
assert staged["cuda"] == staged["cpu"]
checked.append("staged")

try:
    from wavesim.data import LiveWaves
except ImportError:  # torch is optional
    LiveWaves = None
if LiveWaves is not None:
    import torch

    # 16 steps in all: the simulator runs a few seconds per step
    live = dict(retina=retina, readout=ws.Readout(um_per_pixel=30, frame_period_s=0.025), warmup_s=0.2, n_retinas=2,
                clip_frames=2, frame_stride=2, batches_per_epoch=2, seed=5, crop_px=(4, 6))
    from wavesim.errors import ParameterError

    dataset = LiveWaves(fast_params(spont_rate_hz=0.5), backend="cuda", **live)
    assert dataset.device == 0  # the simulator's one device
    try:
        LiveWaves(fast_params(), backend="cuda", device=1, **live)
        raise AssertionError("device=1 of one visible device was accepted")
    except ParameterError as exc:
        assert "there is no CUDA device 1; 1 visible" in str(exc), exc
    on_cuda = list(dataset)
    on_cpu = list(LiveWaves(fast_params(spont_rate_hz=0.5), backend="cpu", **live))
    assert all(torch.equal(a["clips"], b["clips"]) for a, b in zip(on_cuda, on_cpu))
    assert any(b["clips"].any() for b in on_cpu)
    checked.append("live")
print("OK", *checked)
