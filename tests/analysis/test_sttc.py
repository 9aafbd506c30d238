"""The spike time tiling coefficient (Cutts & Eglen 2014) on spike trains whose answer is known."""

import numpy as np
import pytest

from wavesim.analysis import correlation_index, spike_time_tiling
from wavesim.errors import ParameterError


def _poisson(rng, rate_hz, duration_s):
    return np.sort(rng.uniform(0.0, duration_s, rng.poisson(rate_hz * duration_s)))


def _naive_sttc(a, b, dt, start, stop):
    """The definition, spelled out: windows merged one by one, each spike tested against every other."""
    def tiled(train):
        covered, end = 0.0, -np.inf
        for t in train:
            lo, hi = max(t - dt, start, end), min(t + dt, stop)
            covered += max(0.0, hi - lo)
            end = max(end, hi)
        return covered / (stop - start)

    def near(x, y):
        return np.mean([np.any(np.abs(y - t) <= dt) for t in x])

    ta, tb, pa, pb = tiled(a), tiled(b), near(a, b), near(b, a)
    return 0.5 * ((pa - tb) / (1 - pa * tb) + (pb - ta) / (1 - pb * ta))


def test_matches_the_definition_on_trains_with_edges_and_bursts():
    rng = np.random.default_rng(1)
    duration = 60.0
    base = _poisson(rng, 2.0, duration)
    trains = [
        np.concatenate([[0.0, 0.01], base, [duration - 0.02, duration]]),  # windows clipped at both ends
        np.sort(np.concatenate([base[::2] + rng.uniform(-0.04, 0.04, base[::2].size), _poisson(rng, 1.0, duration)])),
        np.sort(np.concatenate([np.arange(10.0, 12.0, 0.03), _poisson(rng, 0.5, duration)])),  # a dense burst
    ]
    trains = [np.clip(t, 0.0, duration) for t in trains]
    sttc = spike_time_tiling(trains, duration, 0.05)
    for a in range(3):
        for b in range(3):
            expected = 1.0 if a == b else _naive_sttc(trains[a], trains[b], 0.05, 0.0, duration)
            assert sttc[a, b] == pytest.approx(expected, abs=1e-12)
    np.testing.assert_array_equal(sttc, sttc.T)


@pytest.mark.parametrize("rate_hz", [0.5, 5.0, 20.0])
def test_identical_trains_give_1_and_independent_ones_about_0_at_any_rate(rate_hz):
    rng = np.random.default_rng(int(rate_hz * 10))
    duration = 2000.0
    a, b = _poisson(rng, rate_hz, duration), _poisson(rng, rate_hz, duration)
    sttc = spike_time_tiling([a, a.copy(), b], duration, 0.05)
    assert sttc[0, 1] == 1.0
    assert abs(sttc[0, 2]) < 0.03


def test_not_confounded_by_firing_rate_unlike_the_correlation_index():
    # The same structure at two rates: b repeats half of a's spikes (jittered within dt) and adds as many of its own.
    rng = np.random.default_rng(7)
    duration, dt = 2000.0, 0.05
    values = {}
    for rate in (1.0, 4.0):
        a = _poisson(rng, rate, duration)
        shared = a[rng.random(a.size) < 0.5]
        shared = shared + rng.uniform(-0.02, 0.02, shared.size)
        b = np.sort(np.clip(np.concatenate([shared, _poisson(rng, rate / 2, duration)]), 0.0, duration))
        values[rate] = (spike_time_tiling([a, b], duration, dt)[0, 1], correlation_index([a, b], duration, dt)[0, 1])
    (sttc_low, ci_low), (sttc_high, ci_high) = values[1.0], values[4.0]
    # Four times the rate: the STTC moves by less than a tenth, the CI of the same structure halves.
    assert 0.4 < sttc_low < 0.6 and sttc_low / sttc_high < 1.15
    assert ci_low / ci_high > 2


def test_trains_that_avoid_each_other_are_negatively_correlated():
    # a fires on the second, b half a second later: no spike near the other's, each tiles 10% of the time.
    a, b = np.arange(1.0, 100.0), np.arange(1.5, 100.0)
    sttc = spike_time_tiling([a, b], 101.0, 0.05)[0, 1]
    ta, tb = a.size * 0.1 / 101.0, b.size * 0.1 / 101.0
    assert sttc == pytest.approx(-(ta + tb) / 2)


def test_a_train_that_tiles_the_recording_counts_its_0_over_0_term_as_1():
    dense = np.arange(0.0, 10.0001, 0.1)  # windows of +-0.05 s cover [0, 10]
    sparse = np.array([2.0, 5.0, 7.3])
    sttc = spike_time_tiling([dense, sparse], 10.0, 0.05)[0, 1]
    p_dense = 3 / dense.size  # spikes of dense within 0.05 s of 2.0, 5.0 and 7.3 (7.3 lies between two)
    t_sparse = 3 * 0.1 / 10.0
    assert sttc == pytest.approx(0.5 * ((p_dense - t_sparse) / (1 - p_dense * t_sparse) + 1.0))


def test_undefined_and_bad_input():
    sttc = spike_time_tiling([[1.0, 2.0], []], 10.0)
    assert sttc[0, 0] == 1.0 and np.isnan(sttc[0, 1]) and np.isnan(sttc[1, 1])
    with pytest.raises(ParameterError, match=r"spikes from 1 s to 12 s lie outside the recording \[0, 10\] s"):
        spike_time_tiling([[1.0, 12.0]], 10.0, start_s=0.0)
    with pytest.raises(ParameterError, match=r"spike_time_tiling.window_s = 0.0 s is outside the allowed range"):
        spike_time_tiling([[1.0]], 10.0, window_s=0)
    # A duration that is the span of the spikes starts at the first spike.
    shifted = spike_time_tiling([[101.0, 105.0], [101.01, 109.0]], 8.0)
    assert shifted[0, 1] == pytest.approx(spike_time_tiling([[1.0, 5.0], [1.01, 9.0]], 8.0)[0, 1])


def test_stats_shows_the_sttc_beside_the_correlation_index(tmp_path, capsys):
    import json
    from pathlib import Path

    from wavesim.cli import main

    recording = Path(__file__).parents[2] / "datasets" / "recordings" / "Kirkby2013_02_WT_P5.h5"
    assert main(["stats", str(recording), "--json", str(tmp_path / "s.json")]) == 0
    out = capsys.readouterr().out
    assert "STTC closest bin" in out and "CI closest bin" in out
    summary = json.loads((tmp_path / "s.json").read_text())["summaries"][0]
    profile = summary["sttc_vs_distance"]
    assert summary["params"]["sttc_window_s"] == 0.05 and summary["sttc_closest"] == profile["mean_sttc"][0]
    # Waves correlate near electrodes more than far ones.
    assert 0.1 < profile["mean_sttc"][0] < 1 and profile["mean_sttc"][-1] < profile["mean_sttc"][0] / 4


def test_both_ways_of_counting_near_spikes_agree():
    from wavesim.analysis.bursts import _flatten_trains
    from wavesim.analysis.correlation import _near_counts_by_channel, _near_counts_by_pairs

    rng = np.random.default_rng(3)
    onsets = np.sort(rng.uniform(0, 100, 12))
    trains = [np.sort(np.concatenate([o + rng.uniform(0, 0.3, rng.integers(2, 9)) for o in onsets]
                                     + [_poisson(rng, 0.5, 100.0)])) for _ in range(7)]
    trains[2] = trains[1].copy()  # equal times in two channels
    trains.append(np.zeros(0))
    times, channel = _flatten_trains(trains)
    order = np.argsort(times, kind="stable")
    times, channel = times[order], channel[order]
    lo = np.searchsorted(times, times - 0.05, side="left")
    hi = np.searchsorted(times, times + 0.05, side="right")
    by_pairs = _near_counts_by_pairs(len(trains), channel, lo, hi, False)
    np.testing.assert_array_equal(by_pairs, _near_counts_by_channel(trains, times, channel, 0.05, False))
    assert by_pairs[1, 2] == trains[1].size and by_pairs[:, 7].sum() == 0
