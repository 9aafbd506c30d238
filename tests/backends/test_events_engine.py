"""The event-driven ``cpu-events`` engine against the dense ``cpu`` engine over long runs.

The conformance suite holds ``cpu-events`` to the reference over a few
steps; here it must equal ``cpu`` after a 900 s warm-up (36,000 steps, where
most cells are lazy) and 2 minutes recorded, for two presets with Poisson
drive off and on (one retina each, batched), both shapes and both readouts.
"""

import dataclasses
from types import SimpleNamespace

import numpy as np
import pytest

import wavesim as ws
from wavesim.backends.amacrine_events import AmacrineEventsEngine
from wavesim.errors import ParameterError

WARMUP_S = 900.0
RECORD_FRAMES = 120  # 1 s frames: 2 minutes


def _params():
    out = []
    for name in ("mouse", "turtle"):
        out += [ws.preset(name), dataclasses.replace(ws.preset(name), spont_rate_hz=0.01)]
    return out


def _run(backend, shape, kind):
    params = _params()
    sim = ws.Simulation(params, seeds=list(range(5, 5 + len(params))),
                        retina=ws.Retina(width_um=1000, height_um=1000, shape=shape),
                        readout=ws.Readout(um_per_pixel=50, frame_period_s=1.0, kind=kind), backend=backend)
    sim.advance_s(WARMUP_S)
    warm_state = sim.state()
    frames = np.concatenate([c for _, c in sim.frames(RECORD_FRAMES, 40)], axis=1)
    return sim, warm_state, sim.state(), frames


@pytest.mark.parametrize("shape", ["rectangle", "disc"])
@pytest.mark.parametrize("kind", ["binary", "calcium"])
def test_events_equal_dense_after_a_long_run(shape, kind):
    dense = _run("cpu", shape, kind)
    events = _run("cpu-events", shape, kind)
    for a, b in ((dense[1], events[1]), (dense[2], events[2])):
        assert all(np.array_equal(a[k], b[k]) for k in a)
    assert np.array_equal(dense[3], events[3])
    assert dense[3][[0, 2]].any()  # waves in the recorded minutes, not a silent sheet
    sim = events[0]
    visited = sim.engine.visits / (sim.lattice.n_cells * sim.step)
    assert visited[[0, 2]].max() < 0.5  # without Poisson drive most cells were left lazy


def test_events_engine_refuses_other_models():
    with pytest.raises(ParameterError, match="only the 'amacrine' model"):
        AmacrineEventsEngine(SimpleNamespace(name="other"), {}, np.zeros((1, 1)), np.zeros(1), 0, None)
