"""Shared fine timing of electrodes: the jittered copy, the synchronous electrode model and its estimate."""

import dataclasses

import numpy as np
import pytest

from wavesim.analysis import (
    AnalysisParams,
    SharedSynchrony,
    ci_by_distance,
    correlation_index,
    detect_spike_bursts,
    electrode_grid,
    electrode_spikes,
    estimate_shared_synchrony,
    jitter_within_bursts,
    virtual_electrodes,
)
from wavesim.errors import ParameterError
from wavesim.io.recordings import Movie

PERIOD_S = 0.25


def wave_activity(n_waves=60, n_electrodes=36, burst_frames=10, interval_frames=160, seed=0):
    """(T, n) activity: every electrode active for ``burst_frames`` in each wave, onsets jittered a little."""
    rng = np.random.default_rng(seed)
    active = np.zeros((n_waves * interval_frames, n_electrodes), bool)
    for w in range(n_waves):
        onsets = w * interval_frames + 20 + rng.integers(0, 4, n_electrodes)
        for e, onset in enumerate(onsets):
            active[onset:onset + burst_frames, e] = True
    return active


def ci_profile(trains, positions_um, duration_s, window_s=0.1):
    profile = ci_by_distance(correlation_index(trains, duration_s, window_s), positions_um, 50.0)
    return dict(zip(np.floor(profile.distance_um / 50) * 50, profile.mean_ci))


def test_jitter_keeps_each_burst_and_its_spike_count():
    rng = np.random.default_rng(1)
    trains = [np.sort(np.concatenate([b + rng.uniform(0, 2, 20) for b in (10.0, 50.0, 90.0)])) for _ in range(4)]
    jittered = jitter_within_bursts(trains, seed=3)
    before, after = detect_spike_bursts(trains), detect_spike_bursts(jittered)
    assert [t.size for t in jittered] == [t.size for t in trains]
    assert np.array_equal(after.site, before.site) and len(after) == 12
    # every spike stays inside its burst's span
    for a, b in zip(trains, jittered):
        for onset in (10.0, 50.0, 90.0):
            inside = (a >= onset) & (a <= onset + 2)
            assert np.all((b[inside] >= a[inside].min()) & (b[inside] <= a[inside].max()))


def test_ci_factor_of_the_shared_gain():
    sync = SharedSynchrony(gain_variance=1.0, length_um=100.0, time_s=0.5)
    assert sync.ci_factor(0.0, 1e-9) == pytest.approx(2.0)  # two spikes in one bin of one electrode's gain
    assert sync.ci_factor(100.0, 0.25) == pytest.approx(1 + (2 ** np.exp(-1) - 1) * 0.75)
    assert sync.ci_factor(0.0, 2.0) == pytest.approx(1 + 0.5 / 4)  # windows beyond a bin: 1 / (2 x)
    assert SharedSynchrony(0.0, 100.0, 0.5).ci_factor(50.0, 0.1) == 1.0
    with pytest.raises(ParameterError, match=r"SharedSynchrony.length_um = 0.0 um is outside the allowed range"):
        SharedSynchrony(1.0, 0.0, 0.5)


def test_synchronous_electrodes_raise_the_ci_of_neighbours_as_the_model_says():
    """Same activity, same burst rate: the shared gain multiplies the CI of near pairs by its factor and keeps
    the mean rate; far pairs barely change."""
    active = wave_activity()
    positions_um = electrode_grid(6, 6, 100.0)
    duration_s = active.shape[0] * PERIOD_S
    sync = SharedSynchrony(gain_variance=1.0, length_um=150.0, time_s=0.5)
    common = dict(rate_hz=20.0, burst_decay_s=5.0, seed=2)
    burst = electrode_spikes(active, PERIOD_S, positions_um, mode="burst", **common)
    shared = electrode_spikes(active, PERIOD_S, positions_um, mode="synchronous", synchrony=sync, **common)
    n_burst, n_shared = sum(t.size for t in burst), sum(t.size for t in shared)
    assert n_shared == pytest.approx(n_burst, rel=0.05)
    a, b = ci_profile(burst, positions_um, duration_s), ci_profile(shared, positions_um, duration_s)
    assert b[100.0] / a[100.0] == pytest.approx(sync.ci_factor(100.0, 0.1), rel=0.1)
    assert b[100.0] / a[100.0] > 1.3 and b[500.0] / a[500.0] < 1.15
    assert all(np.all(np.diff(t) >= 0) for t in shared)
    # bursts stay within their electrode's active runs
    for e, times in enumerate(shared):
        frames = (times / PERIOD_S).astype(int)
        assert active[frames, e].all()


def test_estimate_recovers_the_shared_gain_of_synthetic_trains():
    """The first guess from the jittered copy is low; one round of calibration brings the CI factor of
    neighbours back within 25%."""
    active = wave_activity(n_waves=30, n_electrodes=25, seed=4)
    positions_um = electrode_grid(5, 5, 50.0)
    duration_s = active.shape[0] * PERIOD_S
    truth = SharedSynchrony(gain_variance=0.8, length_um=100.0, time_s=0.4)
    trains = electrode_spikes(active, PERIOD_S, positions_um, mode="synchronous", synchrony=truth, rate_hz=20.0,
                              burst_decay_s=5.0, seed=5)
    guess = estimate_shared_synchrony(trains, positions_um, duration_s, calibration_rounds=0)
    estimate = estimate_shared_synchrony(trains, positions_um, duration_s, calibration_rounds=1)
    for d in (50.0, 100.0):
        want = truth.ci_factor(d, 0.1) - 1
        assert guess.ci_factor(d, 0.1) - 1 < 0.8 * want
        assert estimate.ci_factor(d, 0.1) - 1 == pytest.approx(want, rel=0.25)


def test_synchronous_electrodes_bad_input():
    movie = Movie(np.ones((8, 4, 4), np.uint8), 50.0, PERIOD_S)
    positions_um = electrode_grid(2, 2, 50.0)
    with pytest.raises(ParameterError, match="mode 'synchronous' needs synchrony"):
        virtual_electrodes(movie, positions_um, mode="synchronous", burst_decay_s=1.0)
    with pytest.raises(ParameterError, match="mode 'synchronous' needs burst_decay_s"):
        virtual_electrodes(movie, positions_um, mode="synchronous", synchrony=SharedSynchrony(1.0, 100.0, 0.5))
    recording = virtual_electrodes(movie, positions_um, mode="synchronous", burst_decay_s=1.0, seed=1,
                                   synchrony=SharedSynchrony(1.0, 100.0, 0.5))
    assert recording.metadata["virtual"]["synchrony"] == {"gain_variance": 1.0, "length_um": 100.0, "time_s": 0.5}
    quiet = [np.array([1.0, 2.0])] * 2
    with pytest.raises(ParameterError, match=r"gives 0 \(distance, window\) point\(s\) within 400 um"):
        estimate_shared_synchrony(quiet, electrode_grid(1, 2, 100.0), 10.0)


def test_the_objective_estimates_synchronous_electrodes_from_the_recording():
    from fit_setup import QUICK_GEOMETRY, quick_recording
    from helpers import fast_params

    from wavesim.fit import Objective, SimulationSettings, VirtualArray

    settings = SimulationSettings(n_retinas=1, seed=1, duration_s=60.0, electrodes="synchronous", **QUICK_GEOMETRY)
    objective = Objective(quick_recording(), simulation=settings)
    filled = objective.simulation
    assert None not in (filled.burst_rate_hz, filled.burst_decay_s, filled.sync_gain_variance, filled.sync_length_um,
                        filled.sync_time_s)
    evaluation = objective.evaluate([fast_params(spont_rate_hz=0.0)])[0]
    assert np.isfinite(evaluation.distance) and evaluation.terms["ci"] < objective.settings.missing_penalty
    missing = dataclasses.replace(filled, sync_time_s=None)
    with pytest.raises(ParameterError, match=r"synchronous electrodes need \['sync_time_s'\]"):
        VirtualArray(electrode_grid(2, 2, 100.0), 10.0, missing).recordings(fast_params())
