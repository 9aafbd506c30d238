"""Small, fast fit problems shared by tests/fit/test_fit.py and tests/fit_worker.py."""

import functools

from helpers import fast_params

from wavesim.fit.objective import Objective, SimulationSettings, VirtualArray
from wavesim.analysis import electrode_grid

#: Geometry and timing of the quick problem: a 3 x 3 array with a 100 um margin.
# cpu-events: the same bits as the dense engine, and one parallel region per chunk of frames rather than per step
QUICK_GEOMETRY = dict(margin_um=100.0, warmup_s=10.0, backend="cpu-events")
#: How the electrodes of the synthetic recordings fire: bursts of 30 Hz at the start, decaying in 1.5 s.
RECORDED_ELECTRODES = dict(burst_rate_hz=30.0, burst_decay_s=1.5)


@functools.lru_cache(maxsize=None)
def quick_recording():
    """A 300 s virtual recording of fast Godfrey-Swindale waves on a 3 x 3 array, 100 um pitch."""
    truth = fast_params(spont_rate_hz=0.0, D_s=1.0)
    array = VirtualArray(electrode_grid(3, 3, 100.0), 300.0, SimulationSettings(n_retinas=1, seed=99, **QUICK_GEOMETRY,
                                                                          **RECORDED_ELECTRODES))
    return array.recordings(truth)[0]


def quick_objective():
    """An objective that costs a fraction of a second per candidate."""
    return Objective(quick_recording(), simulation=SimulationSettings(n_retinas=1, seed=1, duration_s=60.0,
                                                                       **QUICK_GEOMETRY))


def quick_ranges():
    return {"P_s": (2.0, 4.0), "D_s": (0.6, 1.4)}
