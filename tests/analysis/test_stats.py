"""Tests of wavesim.analysis (statistics and reports) on synthetic waves and sample recordings."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import numpy as np
import pytest

from wavesim.errors import ParameterError
from wavesim.io.recordings import MEARecording, Movie, load_recording
from wavesim.analysis import (
    estimate_burst_electrodes,
    AnalysisParams,
    ci_by_distance,
    combine_summaries,
    correlation_index,
    detect_mea_waves,
    detect_movie_waves,
    detect_pixel_bursts,
    detect_spike_bursts,
    electrode_grid,
    format_table,
    inter_wave_intervals,
    plot_summaries,
    summarize,
    virtual_electrodes,
    write_json,
)

from wavesim.cli.stats import register as register_stats_cli  # noqa: E402

SAMPLES = Path(__file__).parents[2] / "datasets" / "recordings"

SPEED_UM_PER_S = 150.0
WAVE_DURATION_S = 2.0


def planar_movie(n_frames=1000, size=64, um_per_pixel=20.0, frame_period_s=0.1, iwi_s=30.0,
                 angles_rad=(0.3,), first_onset_s=2.0) -> Movie:
    """Planar waves every ``iwi_s`` at SPEED_UM_PER_S; each pixel active for WAVE_DURATION_S."""
    t_s = np.arange(n_frames)[:, None, None] * frame_period_s
    y_um, x_um = np.mgrid[:size, :size] * um_per_pixel
    frames = np.zeros((n_frames, size, size), np.uint8)
    for k, onset_s in enumerate(np.arange(first_onset_s, n_frames * frame_period_s, iwi_s)):
        angle = angles_rad[k % len(angles_rad)]
        distance_um = x_um * np.cos(angle) + y_um * np.sin(angle)
        delay_s = t_s - onset_s - (distance_um - distance_um.min()) / SPEED_UM_PER_S
        frames |= ((delay_s >= 0) & (delay_s < WAVE_DURATION_S)).astype(np.uint8)
    return Movie(frames, um_per_pixel, frame_period_s)


def planar_spike_trains(positions_um, iwi_s=40.0, duration_s=1200.0, angle_rad=0.5, rate_hz=20.0,
                        seed=0) -> MEARecording:
    """Poisson spikes at ``rate_hz`` while a planar wave covers each electrode."""
    rng = np.random.default_rng(seed)
    distance_um = positions_um @ np.array([math.cos(angle_rad), math.sin(angle_rad)])
    delay_s = (distance_um - distance_um.min()) / SPEED_UM_PER_S
    onsets_s = np.arange(5.0, duration_s - 30.0, iwi_s)
    trains = []
    for d in delay_s:
        n = rng.poisson(rate_hz * WAVE_DURATION_S, onsets_s.size)
        start = np.repeat(onsets_s + d, n)
        trains.append(np.sort(start + rng.uniform(0, WAVE_DURATION_S, start.size)))
    return MEARecording(trains, positions_um, "synthetic", None, duration_s)


# --------------------------------------------------------------------------- bursts


def test_spike_bursts_max_interval():
    params = AnalysisParams(max_isi_start_s=0.1, max_isi_end_s=0.3, min_ibi_s=1.0, min_burst_spikes=3,
                            min_burst_duration_s=0.0)
    train = np.array([
        0.0, 0.25, 0.3, 0.35, 0.6,   # starts at the 0.05 s interval (0.25), runs on while <= 0.3 s
        5.0, 5.05,                   # too few spikes
        10.0, 10.05, 10.1,           # merges with the next (gap 0.6 s < min_ibi_s)
        10.7, 10.75, 10.8,
        20.0, 20.2, 20.4, 20.6,      # never starts: no interval <= 0.1 s
    ])
    bursts = detect_spike_bursts([train, np.array([1.0])], params)
    assert bursts.site.tolist() == [0, 0]
    assert bursts.onset_s.tolist() == [0.25, 10.0]
    assert bursts.end_s.tolist() == [0.6, 10.8]
    assert len(detect_spike_bursts([np.array([]), np.array([3.0])], params)) == 0


def test_spike_bursts_minimum_duration_drops_synchronous_artefacts():
    burst = np.array([1.0, 1.001, 1.002])
    assert len(detect_spike_bursts([burst], AnalysisParams(min_burst_duration_s=0.0))) == 1
    assert len(detect_spike_bursts([burst], AnalysisParams(min_burst_duration_s=0.05))) == 0


def test_pixel_bursts_are_runs_of_active_frames():
    frames = np.zeros((6, 1, 2), np.uint8)
    frames[1:3, 0, 0] = 1
    frames[5, 0, 0] = 1
    frames[0:6, 0, 1] = 1
    bursts = detect_pixel_bursts(Movie(frames, 10.0, 0.5))
    assert bursts.site.tolist() == [0, 0, 1]
    assert bursts.onset_s.tolist() == [0.5, 2.5, 0.0]
    assert bursts.end_s.tolist() == [1.5, 3.0, 3.0]


# --------------------------------------------------------------------------- movies


def test_planar_waves_on_a_movie():
    movie = planar_movie(n_frames=1100)  # 110 s: the 4th wave ends inside the movie
    waves = detect_movie_waves(movie)
    assert len(waves) == 4
    assert waves.speed_um_per_s == pytest.approx(SPEED_UM_PER_S, rel=0.05)
    assert set(waves.front) == {"plane"}
    assert waves.direction_rad == pytest.approx(0.3, abs=0.02)
    assert waves.onset_s == pytest.approx([2.0, 32.0, 62.0, 92.0])
    assert waves.size_fraction == pytest.approx(1.0)
    assert waves.area_um2 == pytest.approx((64 * 20.0) ** 2)
    _, iwi_s = inter_wave_intervals(waves)
    assert iwi_s == pytest.approx(30.0, rel=0.05)

    summary = summarize(movie)
    assert summary.n_waves == 4
    assert summary.wave_frequency_per_min == pytest.approx(4 / 110 * 60)
    assert summary.mean_iwi_s == pytest.approx(30.0, rel=0.05)
    assert summary.mean_speed_um_per_s == pytest.approx(SPEED_UM_PER_S, rel=0.05)
    assert summary.participation_fraction == 1.0
    assert summary.fraction_bursts_in_waves == 1.0
    assert summary.direction_bias == pytest.approx(1.0)
    assert summary.ci_closest > 2  # waves correlate neighbouring virtual electrodes


def test_direction_bias_of_waves_from_four_sides_is_zero():
    movie = planar_movie(n_frames=1200, angles_rad=(0.0, np.pi / 2, np.pi, -np.pi / 2))
    waves = detect_movie_waves(movie)
    assert np.degrees(waves.direction_rad) == pytest.approx([0, 90, 180, -90], abs=1)
    assert summarize(movie).direction_bias == pytest.approx(0.0, abs=0.01)


def test_radial_wave_speed_and_initiation_point():
    t_s = np.arange(400)[:, None, None] * 0.1
    y_um, x_um = np.mgrid[:64, :64] * 20.0
    delay_s = t_s - 1.0 - np.hypot(x_um - 640, y_um - 400) / SPEED_UM_PER_S
    frames = (delay_s >= 0) & (delay_s < WAVE_DURATION_S)
    waves = detect_movie_waves(Movie(frames, 20.0, 0.1))
    assert len(waves) == 1
    assert waves.front[0] == "radial"
    assert waves.speed_um_per_s[0] == pytest.approx(SPEED_UM_PER_S, rel=0.05)
    assert waves.initiation_um[0] == pytest.approx([640, 400], abs=20)


def test_movie_without_waves_gives_no_waves():
    empty = Movie(np.zeros((50, 16, 16), np.uint8), 50.0, 0.5)
    summary = summarize(empty)
    assert summary.n_waves == 0
    assert summary.wave_frequency_per_min == 0.0
    assert math.isnan(summary.mean_iwi_s) and math.isnan(summary.mean_speed_um_per_s)
    assert math.isnan(summary.direction_bias)
    flicker = np.zeros((200, 32, 32), np.uint8)
    rng = np.random.default_rng(3)
    flicker[rng.integers(0, 200, 30), rng.integers(0, 32, 30), rng.integers(0, 32, 30)] = 1
    assert len(detect_movie_waves(Movie(flicker, 50.0, 0.5))) == 0


def test_calcium_movie_is_thresholded_at_half_scale():
    binary = planar_movie(n_frames=400)
    calcium = Movie(binary.frames * np.uint8(200) + np.uint8(40), 20.0, 0.1)  # background 40, active 240
    waves = detect_movie_waves(calcium)
    assert len(waves) == 2
    assert waves.speed_um_per_s == pytest.approx(SPEED_UM_PER_S, rel=0.05)


def test_a_long_movie_is_analysed_whole():
    # Its speed is benchmarks' business (tests never time anything); here only that 1,000 frames give every wave.
    summary = summarize(planar_movie(n_frames=1000, iwi_s=20.0))
    assert summary.n_waves == 5


# --------------------------------------------------------------------------- electrode arrays


@pytest.mark.parametrize(("hexagonal", "pitch_um", "shape"), [(False, 100.0, (8, 8)), (True, 60.0, (16, 16))])
def test_planar_waves_on_electrode_grids(hexagonal, pitch_um, shape):
    positions_um = electrode_grid(*shape, pitch_um, hexagonal=hexagonal)
    recording = planar_spike_trains(positions_um)
    waves = detect_mea_waves(recording)
    assert len(waves) == 30
    assert waves.size_fraction == pytest.approx(1.0)
    assert waves.speed_um_per_s == pytest.approx(SPEED_UM_PER_S, rel=0.05)
    assert waves.direction_rad == pytest.approx(0.5, abs=0.05)
    summary = summarize(recording)
    assert summary.mean_iwi_s == pytest.approx(40.0, rel=0.05)
    assert summary.wave_frequency_per_min == pytest.approx(30 / 1200 * 60)
    assert summary.mean_speed_um_per_s == pytest.approx(SPEED_UM_PER_S, rel=0.05)
    assert summary.fraction_bursts_in_waves == 1.0


def test_hexagonal_grid_has_six_neighbours_at_the_pitch():
    positions_um = electrode_grid(5, 5, 60.0, hexagonal=True)
    distance_um = np.hypot(*(positions_um[:, None] - positions_um[None]).transpose(2, 0, 1))
    centre = 12
    assert np.count_nonzero(np.isclose(distance_um[centre], 60.0)) == 6


def test_units_sharing_an_electrode_count_once_in_wave_size():
    positions_um = electrode_grid(4, 4, 100.0)
    recording = planar_spike_trains(positions_um, duration_s=300.0)
    doubled = MEARecording(recording.spike_times_s * 2, np.vstack([positions_um, positions_um]), "x", None, 300.0)
    waves = detect_mea_waves(doubled)
    assert waves.n_sites == pytest.approx(16)
    assert waves.size_fraction == pytest.approx(1.0)


def test_recording_without_spikes_gives_no_waves():
    recording = MEARecording([np.zeros(0)] * 4, electrode_grid(2, 2, 100.0), "x", None, 60.0)
    summary = summarize(recording)
    assert summary.n_waves == 0 and math.isnan(summary.ci_closest)


# --------------------------------------------------------------------------- virtual electrodes


@pytest.mark.parametrize("mode", ["poisson", "regular"])
def test_virtual_electrodes_give_the_movie_statistics(mode):
    movie = planar_movie(n_frames=1500)
    positions_um = electrode_grid(8, 8, 100.0, origin_um=(200.0, 200.0))
    recording = virtual_electrodes(movie, positions_um, mode=mode, seed=1)
    assert recording.duration_s == movie.duration_s
    summary = summarize(recording)
    assert summary.n_waves == 5
    assert summary.mean_speed_um_per_s == pytest.approx(SPEED_UM_PER_S, rel=0.05)
    assert summary.mean_iwi_s == pytest.approx(30.0, rel=0.05)


def test_virtual_electrodes_rate_and_determinism():
    frames = np.zeros((100, 4, 4), np.uint8)
    frames[10:30, 1, 2] = 1  # 20 frames x 0.5 s = 10 s of activity
    movie = Movie(frames, 50.0, 0.5)
    positions_um = np.array([[100.0, 50.0], [0.0, 0.0]])
    regular = virtual_electrodes(movie, positions_um, rate_hz=20.0, mode="regular", seed=4)
    assert regular.spike_times_s[0].size == 200 and regular.spike_times_s[1].size == 0
    assert regular.spike_times_s[0].min() >= 5.0 and regular.spike_times_s[0].max() < 15.0
    assert np.diff(regular.spike_times_s[0]) == pytest.approx(0.05)
    a = virtual_electrodes(movie, positions_um, mode="poisson", seed=4)
    b = virtual_electrodes(movie, positions_um, mode="poisson", seed=4)
    assert np.array_equal(a.spike_times_s[0], b.spike_times_s[0])
    assert 140 < a.spike_times_s[0].size < 260
    with pytest.raises(ParameterError, match=r"positions_um\[1\].*outside the movie.*x must be in \[-25, 175\)"):
        virtual_electrodes(movie, np.array([[0.0, 0.0], [500.0, 0.0]]))
    with pytest.raises(ParameterError, match=r"mode must be one of \('poisson', 'regular', 'burst', 'synchronous'\)"):
        virtual_electrodes(movie, positions_um, mode="bursty")
    with pytest.raises(ParameterError, match="mode 'burst' needs burst_decay_s"):
        virtual_electrodes(movie, positions_um, mode="burst")
    with pytest.raises(ParameterError, match="burst_decay_s = 0.0 s is outside the allowed range"):
        virtual_electrodes(movie, positions_um, mode="burst", burst_decay_s=0.0)


@pytest.mark.parametrize("decay_s", [0.8, 3.0])
def test_burst_electrodes_decay_and_come_back_from_their_spikes(decay_s):
    """Bursts at 30 Hz decaying with decay_s over 4 s runs of activity: the estimate finds both within 10%."""
    frames = np.zeros((4000, 1, 40), np.uint8)
    for start in range(20, 3990, 40):  # a 4 s burst every 10 s on each of 40 pixels
        frames[start:start + 16] = 1
    movie = Movie(frames, 50.0, 0.25)
    positions_um = np.column_stack([np.arange(40) * 50.0, np.zeros(40)])
    recording = virtual_electrodes(movie, positions_um, rate_hz=30.0, mode="burst", burst_decay_s=decay_s, seed=1)
    since_onset_s = np.concatenate([t % 10.0 - 5.0 for t in recording.spike_times_s])
    assert 0 <= since_onset_s.min() and since_onset_s.max() < 4.0
    expected_per_burst = 30.0 * decay_s * -np.expm1(-4.0 / decay_s)
    assert since_onset_s.size / (40 * 100) == pytest.approx(expected_per_burst, rel=0.05)
    assert np.mean(since_onset_s < 1.0) > np.mean((since_onset_s >= 1.0) & (since_onset_s < 2.0))  # it decays
    estimate = estimate_burst_electrodes(recording.spike_times_s)
    assert estimate.n_bursts >= 4000 and estimate.decay_s == pytest.approx(decay_s, rel=0.1)
    assert estimate.rate_hz == pytest.approx(30.0, rel=0.1)
    flat = virtual_electrodes(movie, positions_um, rate_hz=30.0, mode="poisson", seed=1)
    assert estimate_burst_electrodes(flat.spike_times_s).decay_s == 100.0  # no decay: the largest allowed
    with pytest.raises(ParameterError, match="no burst of three spikes or more"):
        estimate_burst_electrodes([np.array([1.0, 1.01]), np.array([])])


# --------------------------------------------------------------------------- correlation index


def test_correlation_index_by_hand():
    ci = correlation_index([np.array([1.0, 2.0]), np.array([1.05, 3.0]), np.array([])], 10.0, 0.1)
    # one pair within 0.1 s: CI = 1 * 10 / (2 * 2 * 2 * 0.1)
    assert ci[0, 1] == ci[1, 0] == pytest.approx(12.5)
    assert np.isnan(ci[0, 0]) and np.isnan(ci[0, 2])


def test_correlation_index_of_trains_with_known_correlation():
    rng = np.random.default_rng(7)
    duration_s, window_s = 2000.0, 0.1
    common = rng.uniform(0, duration_s, 1000)  # shared spikes: exact coincidences
    a = np.sort(np.r_[common, rng.uniform(0, duration_s, 3000)])
    b = np.sort(np.r_[common, rng.uniform(0, duration_s, 3000)])
    c = np.sort(rng.uniform(0, duration_s, 4000))  # independent
    ci = correlation_index([a, b, c], duration_s, window_s)
    # E[N_ab] = shared pairs + chance pairs = n_common + N_a N_b 2 dt / T
    expected = 1 + common.size * duration_s / (a.size * b.size * 2 * window_s)
    assert ci[0, 1] == pytest.approx(expected, rel=0.05)
    assert ci[0, 2] == pytest.approx(1.0, rel=0.05)
    assert ci[1, 2] == pytest.approx(1.0, rel=0.05)


def test_ci_by_distance_bins_pairs():
    positions_um = np.array([[0, 0], [100, 0], [200, 0], [200, 0]], dtype=float)
    ci = np.array([[np.nan, 4, 2, 3], [4, np.nan, 6, 8], [2, 6, np.nan, 99], [3, 8, 99, np.nan]])
    profile = ci_by_distance(ci, positions_um, bin_width_um=50.0)
    # same-electrode pair (2, 3) left out; 100 um: pairs (0,1), (1,2), (1,3); 200 um: (0,2), (0,3)
    assert profile.distance_um.tolist() == [100.0, 200.0]
    assert profile.mean_ci.tolist() == [6.0, 2.5]
    assert profile.n_pairs.tolist() == [3, 2]


# --------------------------------------------------------------------------- recordings and reports


def test_sample_wild_type_has_more_waves_than_beta2_knockout():
    wt = summarize(load_recording(SAMPLES / "Kirkby2013_02_WT_P5.h5"))
    ko = summarize(load_recording(SAMPLES / "Kirkby2013_02_B2KO_P5.h5"))
    assert wt.n_waves > 10
    assert wt.wave_frequency_per_min > 3 * ko.wave_frequency_per_min
    assert wt.fraction_bursts_in_waves > ko.fraction_bursts_in_waves
    assert 50 < wt.mean_speed_um_per_s < 500
    assert wt.ci_closest_distance_um == pytest.approx(120, abs=5)  # 100 and 141 um pairs
    assert wt.ci_closest > 5


def test_summary_dict_is_strict_json_and_pools():
    summary = summarize(planar_movie(n_frames=400))
    text = json.dumps(summary.to_dict(), allow_nan=False)
    assert json.loads(text)["mean_speed_um_per_s"] == pytest.approx(SPEED_UM_PER_S, rel=0.05)
    pooled = combine_summaries([summary, summary], name="both")
    assert pooled.n_waves == 2 * summary.n_waves
    assert pooled.wave_frequency_per_min == pytest.approx(summary.wave_frequency_per_min)
    assert pooled.mean_iwi_s == pytest.approx(summary.mean_iwi_s)
    with pytest.raises(ParameterError, match="at least one"):
        combine_summaries([], name="none")


def test_analysis_params_are_validated():
    with pytest.raises(ParameterError, match=r"AnalysisParams.max_onset_lag_s = 0.0 s is outside the allowed range"):
        AnalysisParams(max_onset_lag_s=0)
    with pytest.raises(ParameterError, match=r"AnalysisParams.min_size_fraction = 2.0 is outside .*\[0.0, 1.0\]"):
        AnalysisParams(min_size_fraction=2)
    with pytest.raises(ParameterError, match="max_isi_end_s = 0.5 s is shorter than max_isi_start_s = 1.0 s"):
        AnalysisParams(max_isi_start_s=1.0, max_isi_end_s=0.5)
    with pytest.raises(ParameterError, match="AnalysisParams.min_burst_spikes must be a whole number"):
        AnalysisParams(min_burst_spikes=2.5)
    assert AnalysisParams(neighbour_radius_um=None, activity_threshold=-0.5).activity_threshold == -0.5
    assert AnalysisParams.field_specs()["virtual_rate_hz"]["unit"] == "1/s"
    with pytest.raises(ParameterError, match="correlation_index.window_s = 0.0 s is outside"):
        correlation_index([np.array([1.0])], 10.0, window_s=0)
    with pytest.raises(ParameterError, match="electrode_grid.n_rows = 0"):
        electrode_grid(0, 3, 100.0)


def _cli() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="wavesim")
    register_stats_cli(parser.add_subparsers(dest="command", required=True))
    return parser


def test_cli_stats_and_compare(tmp_path, capsys):
    wt = str(SAMPLES / "Kirkby2013_02_WT_P5.h5")
    movie_path = tmp_path / "waves.npy"
    np.save(movie_path, planar_movie(n_frames=400).frames)

    args = _cli().parse_args(["stats", wt, "--json", str(tmp_path / "s.json")])
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert "Kirkby2013_02_WT_P5" in out and "wave frequency (/min)" in out
    document = json.loads((tmp_path / "s.json").read_text())
    assert document["summaries"][0]["n_waves"] > 10

    args = _cli().parse_args(["compare", wt, str(movie_path), "--um-per-pixel", "20", "--frame-period-s", "0.1",
                              "--json", str(tmp_path / "c.json"), "--figure", str(tmp_path / "c.png")])
    assert args.func(args) == 0
    assert [s["name"] for s in json.loads((tmp_path / "c.json").read_text())["summaries"]] == [
        "Kirkby2013_02_WT_P5", "waves"]
    assert (tmp_path / "c.png").stat().st_size > 10_000

    args = _cli().parse_args(["stats", str(movie_path)])
    with pytest.raises(ParameterError, match="needs --um-per-pixel and --frame-period-s"):
        args.func(args)  # wavesim.cli.main reports it as one line


def test_table_and_figure_with_an_empty_input(tmp_path):
    empty = summarize(Movie(np.zeros((20, 8, 8), np.uint8), 50.0, 0.5), name="empty")
    full = summarize(planar_movie(n_frames=400), name="planar")
    table = format_table([empty, full])
    assert "empty" in table.splitlines()[0] and "-" in table
    write_json([empty, full], tmp_path / "e.json")
    assert plot_summaries([empty, full], tmp_path / "e.png").exists()
