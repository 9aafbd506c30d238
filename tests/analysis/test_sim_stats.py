"""End to end: a simulated mouse movie through wavesim.analysis (movie and MEA analyses)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import wavesim as ws
from wavesim.io.recordings import MEARecording, Movie
from wavesim.analysis import (
    AnalysisParams,
    combine_summaries,
    detect_movie_waves,
    electrode_grid,
    summarize,
    virtual_electrodes,
)

UM_PER_PIXEL = 34.0
FRAME_PERIOD_S = 0.25
SEEDS = (0, 1)
# After the warm-up's synchronous start-up events (about 545 s and 815 s with
# these settings) the retinas settle into waves; with 900 s of warm-up both
# seeds show a wave of over 0.2 mm^2 within the 3 recorded minutes.
WARMUP_S = 900.0
RECORD_S = 180.0


@pytest.fixture(scope="module")
def movies() -> list[Movie]:
    sim = ws.Simulation(
        ws.preset("mouse"),
        seeds=list(SEEDS),
        retina=ws.Retina(width_um=2500, height_um=2500, shape="rectangle"),
        readout=ws.Readout(um_per_pixel=UM_PER_PIXEL, frame_period_s=FRAME_PERIOD_S, kind="binary"),
        backend="cpu",
    )
    sim.advance_s(WARMUP_S)
    n_frames = int(RECORD_S / FRAME_PERIOD_S)
    frames = np.empty((len(SEEDS), n_frames, *sim.frame_shape), dtype=np.uint8)
    for first, chunk in sim.frames(n_frames, chunk_frames=240):
        frames[:, first:first + chunk.shape[1]] = sim.to_host(chunk)
    return [Movie(frames[b], UM_PER_PIXEL, FRAME_PERIOD_S) for b in range(len(SEEDS))]


def test_simulated_movie_has_a_large_propagating_wave(movies):
    summaries = [summarize(movie, name=f"seed{seed}") for movie, seed in zip(movies, SEEDS)]
    pooled = combine_summaries(summaries, "mouse")
    assert pooled.kind == "movie" and pooled.n_waves >= 1
    assert pooled.duration_s == pytest.approx(len(SEEDS) * RECORD_S)

    n_pixels = movies[0].frames.shape[1] * movies[0].frames.shape[2]
    area_mm2 = pooled.wave_size_fraction * n_pixels * (UM_PER_PIXEL / 1000) ** 2
    speed = pooled.wave_speed_um_per_s
    # one wave that is both large (hundreds of 34 um pixels, about one cell each) and travels
    good = (area_mm2 > 0.2) & np.isfinite(speed) & (speed >= 50) & (speed <= 1000)
    assert good.any(), f"areas {area_mm2} mm^2, speeds {speed} um/s"

    # the summary agrees with the wave table it came from
    waves = [detect_movie_waves(movie) for movie in movies]
    assert sum(len(w.onset_s) for w in waves) == pooled.n_waves
    areas = np.concatenate([w.area_um2 for w in waves]) / 1e6
    np.testing.assert_allclose(np.sort(areas), np.sort(area_mm2))
    assert math.isfinite(pooled.mean_iwi_s) or pooled.iwi_s.size == 0


def test_virtual_electrodes_on_simulated_movie_go_through_mea_analysis(movies):
    movie = movies[0]
    _, height, width = movie.frames.shape
    pitch_um = 200.0
    # an 8 x 8 grid centred on the retina; origin_um is the centre of pixel (0, 0)
    extent = 7 * pitch_um
    centre = np.array([width, height]) * UM_PER_PIXEL / 2
    positions = electrode_grid(8, 8, pitch_um, origin_um=tuple(centre - extent / 2))
    recording = virtual_electrodes(movie, positions, origin_um=(UM_PER_PIXEL / 2, UM_PER_PIXEL / 2), seed=3)
    assert isinstance(recording, MEARecording) and recording.n_channels == 64
    assert recording.duration_s == pytest.approx(RECORD_S)
    assert recording.pitch_um == pytest.approx(pitch_um)
    assert recording.n_spikes > 0

    summary = summarize(recording, AnalysisParams())
    assert summary.kind == "mea" and summary.n_sites == 64
    assert summary.duration_s == pytest.approx(RECORD_S)
    assert summary.n_bursts > 0
    assert 0 <= summary.participation_fraction <= 1
    for value in (summary.wave_frequency_per_min, summary.mean_size_fraction):
        assert math.isnan(value) or value >= 0
    # nearest pairs are 200 um apart; electrodes that share waves fire together
    assert summary.ci_closest_distance_um == pytest.approx(pitch_um, rel=0.01)
    assert summary.ci_closest > 1
    assert summary.to_dict()["n_sites"] == 64
