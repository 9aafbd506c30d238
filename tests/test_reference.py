"""The compiled CPU backend against the plain-NumPy reference, state for state."""

import numpy as np
import pytest

import wavesim as ws
from wavesim.kernels.random import retina_keys
from wavesim.models.amacrine import normal_table_q16, quantise
from wavesim.models.amacrine_reference import ReferenceRetina

from helpers import fast_params


@pytest.mark.parametrize("shape", ["rectangle", "disc"])
def test_cpu_backend_matches_numpy_reference_exactly(shape):
    params = [fast_params(), fast_params(P_s=5.0, H2=0.3, spont_rate_hz=0.0, D_s=0.6)]
    seeds = [7, 8]
    retina = ws.Retina(width_um=500, height_um=450, shape=shape)
    sim = ws.Simulation(params, seeds=seeds, retina=retina, backend="cpu")
    refs = [
        ReferenceRetina(sim.lattice, row, key, normal_table_q16())
        for row, key in zip(quantise(params), retina_keys(seeds))
    ]
    active = 0
    for block in range(12):
        sim.advance(25)
        state = sim.state()
        for b, ref in enumerate(refs):
            for _ in range(25):
                ref.step()
                active += int(ref.depolarised().sum())
            expected = ref.state()
            for name in expected:
                assert np.array_equal(state[name][b], expected[name]), (name, b, sim.step)
    assert active > 1000  # the comparison covered real activity, not a silent sheet


def test_reference_initial_thresholds_are_uniform_in_range():
    lat = ws.HexLattice(ws.Retina(width_um=2000, height_um=2000))
    ref = ReferenceRetina(lat, quantise([ws.preset("mouse")])[0], retina_keys([1])[0], normal_table_q16())
    th = ref.thresh / 2**20
    assert 0.5 <= th.min() and th.max() < 5.0
    assert abs(th.mean() - 2.75) < 0.1
    # Decay factors follow N(1, 0.2) in the bulk.
    bulk = ref.frac == 2**16
    factor = ref.decay[bulk] / (0.025 * 4.0 / 32.0 * 2**20)
    assert abs(factor.mean() - 1.0) < 0.02 and abs(factor.std() - 0.2) < 0.02
