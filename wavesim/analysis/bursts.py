"""Bursts: runs of spikes of one MEA channel, or of active frames of one movie pixel.

MEA bursts follow the max-interval method (NeuroExplorer; as in Eglen's
sjemea): a burst starts at an inter-spike interval <= ``max_isi_start_s``,
goes on while intervals stay <= ``max_isi_end_s``, bursts closer than
``min_ibi_s`` merge, and bursts with fewer than ``min_burst_spikes`` spikes
or shorter than ``min_burst_duration_s`` are dropped. A movie burst is a run
of consecutive active frames of one pixel.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Sequence

import numpy as np

from wavesim.analysis.params import AnalysisParams
from wavesim.io.recordings import Movie

__all__ = ["Bursts", "detect_pixel_bursts", "detect_spike_bursts"]

# Pairs generated per chunk when scanning time windows: bounds memory (~100 MB).
_PAIRS_PER_CHUNK = 1 << 22


@dataclass(frozen=True, eq=False)
class Bursts:
    """Bursts of activity, one row per burst.

    Attributes
    ----------
    site : ndarray of int
        Channel index (MEA) or flat pixel index ``row * W + col`` (movies).
    onset_s, end_s : ndarray of float
        Burst start and end in s (for movies, the end of the last active frame).
    n_sites : int
        Number of channels or pixels.
    """

    site: np.ndarray
    onset_s: np.ndarray
    end_s: np.ndarray
    n_sites: int

    def __len__(self) -> int:
        return int(self.site.size)


def _flatten_trains(spike_times_s: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    trains = [np.sort(np.asarray(t, dtype=float).ravel()) for t in spike_times_s]
    counts = np.array([t.size for t in trains], dtype=np.int64)
    times = np.concatenate(trains) if trains else np.zeros(0)
    channel = np.repeat(np.arange(len(trains)), counts)
    return times, channel


def detect_spike_bursts(spike_times_s: Sequence[np.ndarray], params: AnalysisParams | None = None) -> Bursts:
    """Detect bursts in each channel's spike train (max-interval method).

    Parameters
    ----------
    spike_times_s : sequence of array_like
        Spike times in s, one array per channel.
    params : AnalysisParams, optional
        Uses ``max_isi_start_s``, ``max_isi_end_s``, ``min_ibi_s``,
        ``min_burst_spikes`` and ``min_burst_duration_s``.

    Returns
    -------
    Bursts
        Sorted by channel, then onset.
    """
    params = params or AnalysisParams()
    times, channel = _flatten_trains(spike_times_s)
    n_sites = len(spike_times_s)
    empty = Bursts(np.zeros(0, np.int64), np.zeros(0), np.zeros(0), n_sites)
    if times.size < 2:
        return empty
    # isi[i]: interval from spike i to spike i + 1 of the same channel (inf across channels)
    isi = np.full(times.size, np.inf)
    same = channel[1:] == channel[:-1]
    isi[:-1][same] = np.diff(times)[same]
    linked = isi <= params.max_isi_end_s
    run_id = np.cumsum(np.r_[True, ~linked[:-1]]) - 1
    run_last = np.flatnonzero(~linked)  # last spike of every run (linked[-1] is False)
    # a burst starts at the first spike of a run whose following interval is short enough
    starters = np.flatnonzero(isi <= params.max_isi_start_s)
    if starters.size == 0:
        return empty
    runs, first = np.unique(run_id[starters], return_index=True)
    first_spike = starters[first]
    last_spike = run_last[runs]
    # merge bursts of one channel separated by less than min_ibi_s
    gap_s = times[first_spike[1:]] - times[last_spike[:-1]]
    merge = (channel[first_spike[1:]] == channel[last_spike[:-1]]) & (gap_s < params.min_ibi_s)
    first_spike = first_spike[np.r_[True, ~merge]]
    last_spike = last_spike[np.r_[~merge, True]]
    n_spikes = last_spike - first_spike + 1
    onset_s, end_s = times[first_spike], times[last_spike]
    keep = (n_spikes >= params.min_burst_spikes) & (end_s - onset_s >= params.min_burst_duration_s)
    return Bursts(channel[first_spike[keep]], onset_s[keep], end_s[keep], n_sites)


def _active(movie: Movie, threshold: float | None) -> np.ndarray:
    frames = movie.frames
    if threshold is None:
        calcium = frames.dtype == np.uint8 and frames.size and frames.max() > 1
        threshold = 127 if calcium else 0
    return frames > threshold


def detect_pixel_bursts(movie: Movie, threshold: float | None = None) -> Bursts:
    """Bursts of a movie: runs of consecutive active frames of each pixel.

    Parameters
    ----------
    movie : Movie
    threshold : float, optional
        A pixel is active where its value exceeds this; the default is that
        of :class:`AnalysisParams` ``activity_threshold``.

    Returns
    -------
    Bursts
        ``site`` is the flat pixel index ``row * W + col``.
    """
    active = _active(movie, threshold)
    t_frames, height, width = active.shape
    site, frame_on, frame_end = _active_runs(active.reshape(t_frames, height * width))
    period_s = movie.frame_period_s
    return Bursts(site, frame_on * period_s, frame_end * period_s, height * width)


def _active_runs(active: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Runs of consecutive active frames in (T, n) ``active``: site, first frame and frame after the last.

    Sorted by site, then frame.
    """
    edges = np.diff(active.astype(np.int8), axis=0, prepend=0, append=0)
    # nonzero on the transpose sorts by site, then frame, so onsets and ends pair up
    site, start = np.nonzero(edges.T == 1)
    end = np.nonzero(edges.T == -1)[1]
    return site.astype(np.int64), start, end


def _window_pairs(times_sorted: np.ndarray, window: float) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield chunks of index pairs (i, j), i < j, with times[j] - times[i] <= window."""
    n = times_sorted.size
    counts = np.searchsorted(times_sorted, times_sorted + window, side="right") - np.arange(n) - 1
    cumulative = np.cumsum(counts)
    start = 0
    while start < n:
        base = cumulative[start - 1] if start else 0
        stop = max(start + 1, int(np.searchsorted(cumulative, base + _PAIRS_PER_CHUNK, side="right")))
        chunk = counts[start:stop]
        total = int(chunk.sum())
        first = np.repeat(np.arange(start, stop), chunk)
        offset = np.arange(total) - np.repeat(np.cumsum(chunk) - chunk, chunk)
        yield first, first + 1 + offset
        start = stop
