"""Tests of wavesim.analysis.frame_wave_labels: the wave each movie frame belongs to."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from wavesim.io.recordings import Movie
from wavesim.analysis import AnalysisParams, detect_movie_waves, frame_wave_labels

UM_PER_PIXEL = 50.0
FRAME_PERIOD_S = 0.5


def two_wave_frames(n_frames: int = 30, size: int = 20) -> np.ndarray:
    """A 2-pixel bar sweeping right over frames 2..8, another sweeping down over frames 15..22."""
    frames = np.zeros((n_frames, size, size), np.uint8)
    for t in range(2, 9):
        frames[t, :, 2 * (t - 2):2 * (t - 2) + 2] = 1  # touches the previous frame's bar: one component
    for t in range(15, 23):
        frames[t, 2 * (t - 15):2 * (t - 15) + 2, :] = 1
    return frames


def expected(n_frames: int, spans: dict[int, range]) -> np.ndarray:
    labels = np.full(n_frames, -1)
    for wave, frames in spans.items():
        labels[list(frames)] = wave
    return labels


def assert_consistent_with_waves(movie: Movie, params: AnalysisParams | None = None) -> np.ndarray:
    """Labels lie in range, each inside its wave's span, and only wave-free frames are -1."""
    labels = frame_wave_labels(movie, params)
    waves = detect_movie_waves(movie, params)
    assert labels.shape == (movie.n_frames,) and labels.dtype == np.int64
    assert labels.min() >= -1 and labels.max() < len(waves)
    onset = np.rint(waves.onset_s / movie.frame_period_s).astype(int)
    end = onset + np.rint(waves.duration_s / movie.frame_period_s).astype(int)
    for k in range(len(waves)):
        frames = np.flatnonzero(labels == k)
        assert np.all((frames >= onset[k]) & (frames < end[k])), k
    # a frame inside no wave's span cannot hold a wave voxel
    covered = np.zeros(movie.n_frames, bool)
    for start, stop in zip(onset, end):
        covered[start:stop] = True
    assert np.all(labels[~covered] == -1)
    return labels


def test_two_separate_waves_label_their_frames():
    frames = two_wave_frames()
    movie = Movie(frames, UM_PER_PIXEL, FRAME_PERIOD_S)
    labels = frame_wave_labels(movie)
    assert labels.dtype == np.int64
    np.testing.assert_array_equal(labels, expected(30, {0: range(2, 9), 1: range(15, 23)}))
    assert len(detect_movie_waves(movie)) == 2


def test_labels_agree_with_detected_waves():
    movie = Movie(two_wave_frames(), UM_PER_PIXEL, FRAME_PERIOD_S)
    labels = assert_consistent_with_waves(movie)
    waves = detect_movie_waves(movie)
    np.testing.assert_allclose(waves.onset_s / FRAME_PERIOD_S, [2, 15])
    assert set(labels) == {-1, 0, 1}


def test_blob_below_size_threshold_is_not_a_wave():
    frames = two_wave_frames()
    frames[11:13, 17:19, 17:19] = 1  # 4 pixels < 5 % of 400
    frames[5, 18:20, 18:20] = 1  # small and apart from the first bar (columns 6, 7 in frame 5)
    movie = Movie(frames, UM_PER_PIXEL, FRAME_PERIOD_S)
    labels = frame_wave_labels(movie)
    np.testing.assert_array_equal(labels, expected(30, {0: range(2, 9), 1: range(15, 23)}))
    # with no size threshold the blobs are waves of their own, numbered by onset
    loose = AnalysisParams(min_size_fraction=0.0)
    assert len(detect_movie_waves(movie, loose)) == 4
    loose_labels = assert_consistent_with_waves(movie, loose)
    assert loose_labels[11] == loose_labels[12] == 2
    assert loose_labels[5] == 0  # the bar (40 pixels) outweighs the blob (4)


def test_overlapping_waves_frame_goes_to_the_larger_wave():
    frames = np.zeros((20, 30, 30), np.uint8)
    frames[0:11, 0:4, :] = 1  # wave 0: 120 pixels, frames 0..10
    frames[5:16, 10:, :] = 1  # wave 1: 600 pixels, frames 5..15, rows apart from wave 0
    movie = Movie(frames, UM_PER_PIXEL, FRAME_PERIOD_S)
    assert len(detect_movie_waves(movie)) == 2
    labels = assert_consistent_with_waves(movie)
    np.testing.assert_array_equal(labels, expected(20, {0: range(0, 5), 1: range(5, 16)}))


def test_tie_goes_to_the_lower_wave_index():
    frames = np.zeros((20, 30, 30), np.uint8)
    frames[0:11, 0:4, :] = 1
    frames[5:16, 10:14, :] = 1  # as many pixels as wave 0 in frames 5..10
    movie = Movie(frames, UM_PER_PIXEL, FRAME_PERIOD_S)
    labels = frame_wave_labels(movie)
    np.testing.assert_array_equal(labels, expected(20, {0: range(0, 11), 1: range(11, 16)}))


def test_movie_without_waves_is_all_minus_one():
    empty = Movie(np.zeros((7, 5, 5), np.uint8), UM_PER_PIXEL, FRAME_PERIOD_S)
    np.testing.assert_array_equal(frame_wave_labels(empty), np.full(7, -1))


def test_calcium_movie_uses_the_same_threshold():
    frames = two_wave_frames()
    calcium = Movie(frames * np.uint8(200) + np.uint8(40), UM_PER_PIXEL, FRAME_PERIOD_S)
    np.testing.assert_array_equal(frame_wave_labels(calcium),
                                  frame_wave_labels(Movie(frames, UM_PER_PIXEL, FRAME_PERIOD_S)))


def reference_labels(active: np.ndarray, min_pixels: int) -> np.ndarray:
    """Frame labels by explicit loops, straight from the definition."""
    components, n = ndimage.label(active, structure=np.ones((3, 3, 3), bool))
    waves = []
    for c in range(1, n + 1):
        t, r, q = np.nonzero(components == c)
        if len(set(zip(r.tolist(), q.tolist()))) >= min_pixels:
            waves.append((t.min(), c))
    waves = [c for _, c in sorted(waves)]
    labels = np.full(active.shape[0], -1)
    for t in range(active.shape[0]):
        counts = [np.count_nonzero(components[t] == c) for c in waves]
        if counts and max(counts) > 0:
            labels[t] = int(np.argmax(counts))
    return labels


@pytest.mark.parametrize("seed", [0, 1])
def test_random_blobs_match_a_loop_reference(seed):
    rng = np.random.default_rng(seed)
    seeds = rng.random((60, 24, 24)) < 0.002
    active = ndimage.binary_dilation(seeds, structure=np.ones((3, 3, 3), bool))  # 3 x 3 x 3 blobs
    movie = Movie(active, UM_PER_PIXEL, FRAME_PERIOD_S)
    # 12 pixels: lone blobs (9 pixels) are not waves, merged ones are
    params = AnalysisParams(min_size_fraction=12 / 576)
    labels = assert_consistent_with_waves(movie, params)
    np.testing.assert_array_equal(labels, reference_labels(active, 12))
    assert len(detect_movie_waves(movie, params)) >= 5
    assert np.count_nonzero(labels == -1) >= 5

def test_simulated_mouse_movie(mouse_movie):
    movie = Movie(mouse_movie, 34, 0.25)
    active_frames = np.asarray(mouse_movie).reshape(movie.n_frames, -1).any(axis=1)
    # this movie's events recruit under 5 % of the pixels: use 1 % so that some are waves
    for params in (AnalysisParams(min_size_fraction=0.01), AnalysisParams(min_size_fraction=0.0), None):
        labels = assert_consistent_with_waves(movie, params)
        assert np.all(labels[~active_frames] == -1)
    params = AnalysisParams(min_size_fraction=0.01)
    labels = frame_wave_labels(movie, params)
    n_waves = len(detect_movie_waves(movie, params))
    assert n_waves >= 1
    assert set(range(n_waves)) <= set(labels.tolist())
