"""Initiation-point and participation maps: per-wave initiation points, per-site participation, figure panels."""

from __future__ import annotations

import numpy as np
import pytest

from wavesim.analysis import combine_summaries, electrode_grid, summarize, summary_figure
from wavesim.io.recordings import MEARecording, Movie

SPEED_UM_PER_S = 150.0
ACTIVE_S = 1.5
UM_PER_PIXEL = 25.0
FRAME_PERIOD_S = 0.1
# (onset s, source x um, source y um, reach um): radial waves from known points; the second covers a disc only
MOVIE_WAVES = ((1.0, 250.0, 250.0, np.inf), (20.0, 750.0, 700.0, 400.0), (40.0, 800.0, 200.0, np.inf))
MEA_WAVES = ((5.0, 150.0, 150.0, np.inf), (35.0, 550.0, 500.0, 250.0), (65.0, 600.0, 100.0, np.inf))


def radial_movie(size_px=40, n_frames=600) -> Movie:
    """MOVIE_WAVES on a size_px square movie; pixel (row, col) at x = col, y = row pixels, as the analysis places it."""
    t_s = np.arange(n_frames)[:, None, None] * FRAME_PERIOD_S
    y_um, x_um = np.mgrid[:size_px, :size_px] * UM_PER_PIXEL
    frames = np.zeros((n_frames, size_px, size_px), np.uint8)
    for onset_s, x0, y0, reach_um in MOVIE_WAVES:
        distance_um = np.hypot(x_um - x0, y_um - y0)
        delay_s = t_s - onset_s - distance_um / SPEED_UM_PER_S
        frames |= ((delay_s >= 0) & (delay_s < ACTIVE_S) & (distance_um <= reach_um)).astype(np.uint8)
    return Movie(frames, UM_PER_PIXEL, FRAME_PERIOD_S)


def radial_recording(duration_s=100.0) -> MEARecording:
    """MEA_WAVES on an 8 x 8 array of 100 um pitch: 20 spikes/s, regular, from each electrode's arrival on."""
    positions_um = electrode_grid(8, 8, 100.0)
    trains = [[] for _ in positions_um]
    for onset_s, x0, y0, reach_um in MEA_WAVES:
        distance_um = np.hypot(positions_um[:, 0] - x0, positions_um[:, 1] - y0)
        for e in np.flatnonzero(distance_um <= reach_um):
            trains[e].append(onset_s + distance_um[e] / SPEED_UM_PER_S + np.arange(0, ACTIVE_S, 0.05))
    trains = [np.concatenate(t) if t else np.zeros(0) for t in trains]
    return MEARecording(trains, positions_um, "synthetic_8x8_100um", None, duration_s)


def _expected_waves_per_site(positions_um, waves):
    return sum((np.hypot(positions_um[:, 0] - x0, positions_um[:, 1] - y0) <= reach).astype(int)
               for _, x0, y0, reach in waves)


@pytest.fixture(scope="module")
def summaries():
    return summarize(radial_movie(), name="movie"), summarize(radial_recording(), name="mea")


def test_initiation_points_and_participation_of_a_movie(summaries):
    movie, _ = summaries
    assert movie.n_waves == 3
    assert movie.wave_initiation_um == pytest.approx(np.array([w[1:3] for w in MOVIE_WAVES]), abs=15)
    row, col = np.divmod(np.arange(40 * 40), 40)
    assert np.array_equal(movie.site_positions_um, np.column_stack([col, row]) * UM_PER_PIXEL)
    expected = _expected_waves_per_site(movie.site_positions_um, MOVIE_WAVES)
    assert np.array_equal(movie.site_n_waves, expected)
    assert movie.site_participation == pytest.approx(expected / 3)
    assert set(np.unique(movie.site_participation)) == {2 / 3, 1.0}
    # the centroid is the mean position of the recruited pixels: the movie's centre, or the disc's part inside it
    disc = np.hypot(*(movie.site_positions_um - [750.0, 700.0]).T) <= 400.0
    assert movie.wave_centroid_um == pytest.approx(
        np.array([[487.5, 487.5], movie.site_positions_um[disc].mean(axis=0), [487.5, 487.5]]))
    assert movie.wave_area_um2[0] == pytest.approx((40 * UM_PER_PIXEL) ** 2)


def test_initiation_points_and_participation_of_an_mea_recording(summaries):
    _, mea = summaries
    assert mea.n_waves == 3
    assert mea.wave_initiation_um == pytest.approx(np.array([w[1:3] for w in MEA_WAVES]))
    expected = _expected_waves_per_site(mea.site_positions_um, MEA_WAVES)
    assert np.array_equal(mea.site_n_waves, expected)
    assert mea.site_participation == pytest.approx(expected / 3)
    assert np.isnan(mea.wave_area_um2).all()


def test_units_on_one_electrode_are_one_site_of_the_map():
    recording = radial_recording()
    doubled = MEARecording(recording.spike_times_s * 2, np.vstack([recording.positions_um] * 2), "x", None,
                           recording.duration_s)
    summary = summarize(doubled)
    assert len(summary.site_positions_um) == 64
    assert summary.site_participation.max() == 1.0


def test_pooled_maps_add_up_over_movies_of_one_grid(summaries):
    movie, mea = summaries
    pooled = combine_summaries([movie, movie], name="both")
    assert np.array_equal(pooled.site_n_waves, 2 * movie.site_n_waves)
    assert pooled.site_participation == pytest.approx(movie.site_participation)
    assert pooled.wave_initiation_um.shape == (6, 2)
    other = summarize(Movie(radial_movie().frames[:, :30, :30], UM_PER_PIXEL, FRAME_PERIOD_S))
    assert combine_summaries([movie, other], name="mixed").site_participation.size == 0


def test_figure_has_the_map_panels_with_the_maps_values(summaries):
    movie, mea = summaries
    figure = summary_figure([movie, mea])
    axes = {ax.get_title(): ax for ax in figure.get_axes() if ax.get_title()}
    for s in (movie, mea):
        initiation, participation = axes[f"wave initiation: {s.name}"], axes[f"participation: {s.name}"]
        assert participation.yaxis_inverted() and initiation.yaxis_inverted()  # +y down, as in frames
        # both inputs lie on full square grids: the participation map is an image, row = y, column = x
        image = np.asarray(participation.images[0].get_array())
        n = int(np.sqrt(len(s.site_positions_um)))
        row, col = (np.rint(s.site_positions_um[:, ::-1] / np.diff(np.unique(s.site_positions_um[:, 0]))[0])
                    .astype(int).T)
        assert image.shape == (n, n)
        assert image[row, col] == pytest.approx(s.site_participation)
        points = initiation.collections[-1].get_offsets()
        assert np.asarray(points) == pytest.approx(s.wave_initiation_um)


def test_scattered_sites_are_drawn_as_dots_and_an_empty_input_draws(summaries, tmp_path):
    from wavesim.analysis import plot_summaries

    _, mea = summaries
    recording = radial_recording()
    keep = np.arange(64) % 5 != 0  # not a full grid any more
    partial = MEARecording([t for t, k in zip(recording.spike_times_s, keep) if k], recording.positions_um[keep],
                           "partial", None, recording.duration_s)
    summary = summarize(partial, name="partial")
    empty = summarize(Movie(np.zeros((20, 8, 8), np.uint8), 50.0, 0.5), name="empty")
    figure = summary_figure([summary, empty])
    axes = {ax.get_title(): ax for ax in figure.get_axes() if ax.get_title()}
    dots = axes["participation: partial"].collections[0]
    assert np.asarray(dots.get_array()) == pytest.approx(summary.site_participation)
    assert plot_summaries([summary, empty, mea], tmp_path / "maps.png").stat().st_size > 10_000
