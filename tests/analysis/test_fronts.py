"""Wave speed estimators (wavesim.analysis.fronts): local plane fits against the whole-wave front fit.

Synthetic onsets of known speed, quantised to frames as a movie records them:
planar and radial waves, and fronts no single plane or circle describes.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from test_stats import planar_spike_trains

from wavesim.analysis import AnalysisParams, detect_mea_waves, detect_movie_waves, electrode_grid, summarize
from wavesim.analysis.fronts import _fit_front, local_speeds, local_wave_speed
from wavesim.errors import ParameterError
from wavesim.io.recordings import MEARecording, Movie

SPEED = 200.0  # um/s


def pixel_sites(size: int, um_per_pixel: float) -> np.ndarray:
    """(x, y) in um of the pixels of a size x size grid, row by row."""
    y_um, x_um = np.mgrid[:size, :size] * um_per_pixel
    return np.column_stack([x_um.ravel(), y_um.ravel()]).astype(float)


def first_frame_s(arrival_s: np.ndarray, frame_period_s: float, offset_s: float = 0.37) -> np.ndarray:
    """Onsets as a movie records them: the first frame at or after the arrival (frames start at an offset)."""
    return np.ceil((arrival_s + offset_s) / frame_period_s) * frame_period_s


def distance_to(points_um, source_um) -> np.ndarray:
    return np.hypot(*(np.asarray(points_um) - source_um).T)


@pytest.mark.parametrize(("um_per_pixel", "frame_period_s", "speed"),
                         [(34.0, 0.25, 100.0), (34.0, 0.25, 400.0), (50.0, 0.5, 250.0), (20.0, 0.1, 800.0)])
@pytest.mark.parametrize("shape", ["planar", "radial"])
def test_local_speed_of_planar_and_radial_waves(um_per_pixel, frame_period_s, speed, shape):
    sites = pixel_sites(int(3000 / um_per_pixel), um_per_pixel)
    if shape == "planar":
        arrival_s = sites @ np.array([math.cos(2.0), math.sin(2.0)]) / speed
        arrival_s -= arrival_s.min()
    else:
        arrival_s = distance_to(sites, [1400.0, 1100.0]) / speed
    radius_um = max(4 * um_per_pixel, 150.0)  # the movie default
    onset_s = first_frame_s(arrival_s, frame_period_s)
    assert local_wave_speed(sites, onset_s, radius_um) == pytest.approx(speed, rel=0.02)
    per_site = local_speeds(sites, onset_s, radius_um)
    assert np.isfinite(per_site).mean() > 0.9


def _curved_fronts(sites: np.ndarray) -> dict[str, np.ndarray]:
    """Arrival times (s) of fronts at SPEED that no single plane or circle describes."""
    source, corner = np.array([1500.0, 600.0]), np.array([2200.0, 1500.0])
    # a wall from (0, 1500) to the corner: sites in its shadow are reached around the corner
    shadow = (sites[:, 1] > 1500) & (sites[:, 0] < corner[0] - (sites[:, 1] - 1500) * 700 / 900)
    around = np.hypot(*(corner - source)) + distance_to(sites, corner)
    return {
        "two sources merging": np.minimum(distance_to(sites, [700, 800]), distance_to(sites, [2400, 2200])) / SPEED,
        "source outside the field": distance_to(sites, [-1500, 1500]) / SPEED,
        "started along a line": np.abs(sites[:, 0] - 1300.0) / SPEED,
        "around a wall": np.where(shadow, around, distance_to(sites, source)) / SPEED,
    }


def test_local_speed_of_curved_fronts_where_the_whole_wave_fit_fails():
    """Within 4% on every front; the whole-wave fit is further off, up to many-fold, or undefined.

    The line where a wave started and the line where two fronts meet have no
    gradient: sites within the radius of them read fast, which moves the
    median up by a few percent when they are a tenth of the wave.
    """
    sites = pixel_sites(90, 34.0)
    for name, arrival_s in _curved_fronts(sites).items():
        onset_s = first_frame_s(arrival_s, 0.25)
        assert local_wave_speed(sites, onset_s, 150.0) == pytest.approx(SPEED, rel=0.04), name
        whole_wave = _fit_front(sites, onset_s, AnalysisParams())[0]
        assert not abs(math.log(whole_wave / SPEED)) < 0.04, (name, whole_wave)


def test_local_speed_is_robust_to_sites_without_onsets_and_stray_onsets():
    rng = np.random.default_rng(5)
    sites = pixel_sites(80, 34.0)
    onset_s = first_frame_s(distance_to(sites, [900.0, 1300.0]) / SPEED, 0.25)
    silent = rng.random(onset_s.size) < 0.4
    onset_s[silent] = np.nan  # 40% of the sites record no onset
    stray = rng.choice(np.flatnonzero(~silent), 60, replace=False)
    onset_s[stray] += rng.uniform(2.0, 8.0, stray.size)  # late bursts joined to the wave
    per_site = local_speeds(sites, onset_s, 150.0)
    assert np.isnan(per_site[silent]).all()
    assert local_wave_speed(sites, onset_s, 150.0) == pytest.approx(SPEED, rel=0.03)


def test_local_speed_is_undefined_where_the_sites_cannot_pin_a_gradient():
    sites = pixel_sites(10, 50.0)
    # simultaneous onsets: faster than the timing resolves
    assert np.isinf(local_speeds(sites, np.ones(len(sites)), 120.0)).all()
    assert math.isnan(local_wave_speed(sites, np.ones(len(sites)), 120.0))
    # five sites: too few for a fit; one row of sites: no gradient across it
    assert np.isnan(local_speeds(sites[:5], sites[:5, 0] / SPEED, 1000.0)).all()
    row = sites[sites[:, 1] == 0]
    assert np.isnan(local_speeds(row, row[:, 0] / SPEED, 1000.0)).all()
    assert math.isnan(local_wave_speed(sites, np.full(len(sites), np.nan), 120.0))
    with pytest.raises(ParameterError, match=r"local_speeds.radius_um = 0.0 um is outside the allowed range"):
        local_speeds(sites, sites[:, 0], 0.0)
    with pytest.raises(ParameterError, match="positions_um holds 100 sites and onset_s 99"):
        local_speeds(sites, sites[:-1, 0], 100.0)


def test_movie_waves_use_the_local_speed_unless_told_otherwise():
    """Two waves merging in a movie: local speed by default, the whole-wave fit on request."""
    sites = pixel_sites(64, 34.0)
    arrival_s = _curved_fronts(sites)["two sources merging"] * 0.7  # within the 64-pixel field
    arrival_s = arrival_s.reshape(64, 64)
    t_s = np.arange(120)[:, None, None] * 0.25
    delay_s = t_s - 1.0 - arrival_s
    movie = Movie((delay_s >= 0) & (delay_s < 2.0), 34.0, 0.25)
    waves = detect_movie_waves(movie)
    assert len(waves) == 1 and waves.local_speed_radius_um == 150.0
    assert waves.speed_um_per_s[0] == waves.local_speed_um_per_s[0] == pytest.approx(SPEED / 0.7, rel=0.03)
    front = detect_movie_waves(movie, AnalysisParams(speed_method="front"))
    assert np.array_equal(front.speed_um_per_s, front.front_speed_um_per_s, equal_nan=True)
    assert np.array_equal(front.front_speed_um_per_s, waves.front_speed_um_per_s, equal_nan=True)
    wide = detect_movie_waves(movie, AnalysisParams(local_speed_radius_um=250.0))
    assert wide.local_speed_radius_um == 250.0
    assert wide.speed_um_per_s[0] == pytest.approx(SPEED / 0.7, rel=0.03)


def test_mea_waves_with_silent_electrodes_keep_their_local_speed():
    """An 8 x 8 array, 100 um pitch: a quarter of the electrodes never fire; speed within 5%."""
    positions_um = electrode_grid(8, 8, 100.0)
    recording = planar_spike_trains(positions_um, duration_s=600.0)
    silent = np.random.default_rng(2).random(64) < 0.25
    trains = [np.zeros(0) if s else t for s, t in zip(silent, recording.spike_times_s)]
    quieter = MEARecording(trains, positions_um, "synthetic", None, recording.duration_s)
    waves = detect_mea_waves(quieter)
    assert len(waves) == 15 and waves.local_speed_radius_um == 250.0
    assert waves.speed_um_per_s == pytest.approx(150.0, rel=0.05)  # planar_spike_trains' speed
    assert summarize(quieter).median_speed_um_per_s == pytest.approx(150.0, rel=0.05)


def test_speed_method_is_validated():
    with pytest.raises(ParameterError, match=r"AnalysisParams.speed_method must be one of \('local', 'front'\)"):
        AnalysisParams(speed_method="plane")
    with pytest.raises(ParameterError, match="local_speed_radius_um"):
        AnalysisParams(local_speed_radius_um=-5.0)


def test_cli_stats_speed_method(capsys):
    from wavesim.cli import main

    sample = str(Path(__file__).parents[2] / "datasets" / "recordings" / "Kirkby2013_02_WT_P5.h5")
    assert main(["stats", sample]) == 0
    assert "median speed (um/s, local)" in capsys.readouterr().out
    assert main(["stats", sample, "--speed-method", "front", "--local-speed-radius-um", "300"]) == 0
    assert "median speed (um/s, front)" in capsys.readouterr().out
    assert main(["stats", sample, "--local-speed-radius-um", "0"]) == 2
    assert "local_speed_radius_um = 0.0 um is outside the allowed range" in capsys.readouterr().err
