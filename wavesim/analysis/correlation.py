"""Correlation of spike trains against electrode distance: the correlation index and the STTC.

Wong et al. (1993): CI_ab = N_ab(dt) T / (N_a N_b 2 dt), N_ab(dt) the number
of spike pairs of channels a and b at most dt apart, T the recording
duration. Cutts & Eglen (2014): the spike time tiling coefficient
STTC_ab = ((P_a - T_b) / (1 - P_a T_b) + (P_b - T_a) / (1 - P_b T_a)) / 2,
P_a the fraction of a's spikes within dt of one of b's, T_a the fraction of
the recording within dt of one of a's spikes; unlike the CI it is bounded
(1 for identical trains, about 0 for independent ones, negative for
anti-correlated ones) and not confounded by firing rate. Either is averaged
in bins of electrode distance.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
from tqdm.auto import tqdm

from wavesim.analysis.bursts import _PAIRS_PER_CHUNK, _flatten_trains, _window_pairs
from wavesim.analysis.params import check_argument
from wavesim.errors import ParameterError

__all__ = ["CIProfile", "ci_by_distance", "correlation_index", "spike_time_tiling"]


def _no_bar(progress: bool | None) -> bool | None:
    """tqdm's ``disable``: None lets tqdm show a bar only on a terminal."""
    return None if progress is None else not progress


def correlation_index(spike_times_s: Sequence[np.ndarray], duration_s: float, window_s: float = 0.1,
                      progress: bool | None = False) -> np.ndarray:
    """Correlation index of every pair of channels (Wong et al. 1993).

    CI_ab = N_ab(dt) T / (N_a N_b 2 dt), with N_ab(dt) the number of spike
    pairs (one of a, one of b) at most dt = ``window_s`` apart and T the
    recording duration. Independent Poisson trains give CI ~ 1. Counted
    exactly, in time O(number of such pairs).

    Parameters
    ----------
    spike_times_s : sequence of array_like
        Spike times in s, one array per channel.
    duration_s : float
        Recording duration T in s, 0.001 to 1e7.
    window_s : float
        Coincidence window dt in s (range of :attr:`AnalysisParams.ci_window_s`).
    progress : bool or None
        Show a progress bar (None: only on a terminal).

    Returns
    -------
    ndarray, shape (n_channels, n_channels)
        Symmetric; nan on the diagonal and for channels without spikes.

    Raises
    ------
    ParameterError
        If ``duration_s`` or ``window_s`` is out of range.
    """
    check_argument("correlation_index", "duration_s", duration_s, "duration_s")
    check_argument("correlation_index", "window_s", window_s, "ci_window_s")
    times, channel = _flatten_trains(spike_times_s)
    n = len(spike_times_s)
    order = np.argsort(times, kind="stable")
    times, channel = times[order], channel[order]
    pair_counts = np.zeros(n * n, dtype=np.int64)
    chunks = _window_pairs(times, window_s)
    for i, j in tqdm(chunks, desc="correlation index", unit="chunk", disable=_no_bar(progress), leave=False):
        a, b = channel[i], channel[j]
        pair_counts += np.bincount(a * n + b, minlength=n * n)
    pair_counts = pair_counts.reshape(n, n)
    pair_counts = pair_counts + pair_counts.T  # a-before-b and b-before-a
    n_spikes = np.array([np.size(t) for t in spike_times_s], dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        ci = pair_counts * duration_s / (np.outer(n_spikes, n_spikes) * 2 * window_s)
    ci[np.outer(n_spikes, n_spikes) == 0] = np.nan
    np.fill_diagonal(ci, np.nan)
    return ci


def _recording_span(trains: Sequence[np.ndarray], duration_s: float, start_s: float | None) -> tuple[float, float]:
    nonempty = [t for t in trains if t.size]
    first = min((t[0] for t in nonempty), default=0.0)
    last = max((t[-1] for t in nonempty), default=0.0)
    if start_s is None:
        # Spikes within [0, T]: the recording starts at 0; otherwise T is the span of the spikes.
        start_s = 0.0 if first >= 0 and last <= duration_s else first
    if first < start_s or last > start_s + duration_s:
        raise ParameterError(
            f"spike_time_tiling: spikes from {first:g} s to {last:g} s lie outside the recording "
            f"[{start_s:g}, {start_s + duration_s:g}] s (start_s, start_s + duration_s)."
        )
    return start_s, start_s + duration_s


def _tiled_fraction(train: np.ndarray, window_s: float, start_s: float, stop_s: float) -> float:
    """T_a: the fraction of [start_s, stop_s] within window_s of a spike of ``train`` (sorted)."""
    if train.size == 0:
        return 0.0
    covered = 2 * window_s + np.minimum(np.diff(train), 2 * window_s).sum()
    covered -= max(0.0, start_s - (train[0] - window_s)) + max(0.0, train[-1] + window_s - stop_s)
    return min(1.0, float(covered / (stop_s - start_s)))  # rounding must not tile more than everything


def _near_counts(trains: Sequence[np.ndarray], times: np.ndarray, channel: np.ndarray, window_s: float,
                 progress: bool | None) -> np.ndarray:
    """(n, n) int64: entry (a, b) counts the spikes of a with a spike of b at most window_s away.

    ``trains`` are sorted, ``times`` (sorted) and ``channel`` hold all their
    spikes. Two exact ways, the cheaper one chosen: test every spike against
    each channel's train (work n x spikes), or list each spike's neighbours
    in time and count the channels among them once (work: spike pairs at
    most window_s apart, which bursts make many).
    """
    lo = np.searchsorted(times, times - window_s, side="left")
    hi = np.searchsorted(times, times + window_s, side="right")
    # A pair costs about 20 times a binary search of one spike in one train (measured on MEA recordings).
    if len(trains) * times.size <= 20 * int((hi - lo).sum()):
        return _near_counts_by_channel(trains, times, channel, window_s, progress)
    return _near_counts_by_pairs(len(trains), channel, lo, hi, progress)


def _near_counts_by_pairs(n: int, channel: np.ndarray, lo: np.ndarray, hi: np.ndarray,
                          progress: bool | None) -> np.ndarray:
    # Each spike's window of neighbours [lo, hi) lies whole within one chunk, so the channels it meets count once.
    width = hi - lo
    cumulative = np.cumsum(width)
    near = np.zeros(n * n, dtype=np.int64)
    bar = tqdm(total=width.size, desc="spike time tiling", unit="spike", disable=_no_bar(progress), leave=False)
    start = 0
    while start < width.size:
        base = cumulative[start - 1] if start else 0
        stop = max(start + 1, int(np.searchsorted(cumulative, base + _PAIRS_PER_CHUNK, side="right")))
        chunk = width[start:stop]
        spike = np.repeat(np.arange(start, stop), chunk)
        other = np.repeat(lo[start:stop], chunk) + np.arange(int(chunk.sum())) - np.repeat(np.cumsum(chunk) - chunk, chunk)
        met = np.unique(spike * n + channel[other])  # (spike, channel it meets), each once
        near += np.bincount(channel[met // n] * n + met % n, minlength=n * n)
        bar.update(stop - start)
        start = stop
    bar.close()
    return near.reshape(n, n)


def _near_counts_by_channel(trains: Sequence[np.ndarray], times: np.ndarray, channel: np.ndarray, window_s: float,
                            progress: bool | None) -> np.ndarray:
    n = len(trains)
    near = np.zeros((n, n), dtype=np.int64)
    for b, train in enumerate(tqdm(trains, desc="spike time tiling", unit="channel", disable=_no_bar(progress),
                                   leave=False)):
        if train.size == 0:
            continue
        # The first spike of b at or after t - window_s is near t if it is at or before t + window_s.
        first = np.searchsorted(train, times - window_s, side="left")
        near_b = first < train.size
        near_b[near_b] = train[first[near_b]] <= times[near_b] + window_s
        near[:, b] = np.bincount(channel[near_b], minlength=n)
    return near


def spike_time_tiling(spike_times_s: Sequence[np.ndarray], duration_s: float, window_s: float = 0.05, *,
                      start_s: float | None = None, progress: bool | None = False) -> np.ndarray:
    """Spike time tiling coefficient of every pair of channels (Cutts & Eglen 2014).

    STTC_ab = ((P_a - T_b) / (1 - P_a T_b) + (P_b - T_a) / (1 - P_b T_a)) / 2,
    with P_a the fraction of a's spikes that lie within dt = ``window_s``
    (inclusive) of a spike of b, and T_a the fraction of the recording that
    lies within dt of a spike of a (windows clipped to the recording). A
    term 0/0 (P_a = T_b = 1: b's windows tile the whole recording, so each
    spike of a is near one of b's) counts as 1, as in elephant's
    implementation. Identical trains give 1,
    independent trains about 0 at any firing rate, trains that avoid each
    other a negative value; the coefficient is symmetric. Counted exactly,
    in time O(min(spike pairs at most dt apart, channels x spikes)).

    Parameters
    ----------
    spike_times_s : sequence of array_like
        Spike times in s, one array per channel.
    duration_s : float
        Recording duration in s, 0.001 to 1e7.
    window_s : float
        Synchronicity window dt in s (range of :attr:`AnalysisParams.sttc_window_s`).
    start_s : float, optional
        Start of the recording in s. Default: 0 if every spike lies in
        [0, duration_s], else the first spike (a duration that is the span
        of the spikes).
    progress : bool or None
        Show a progress bar (None: only on a terminal).

    Returns
    -------
    ndarray, shape (n_channels, n_channels)
        Symmetric, 1 on the diagonal; nan for channels without spikes.

    Raises
    ------
    ParameterError
        If ``duration_s`` or ``window_s`` is out of range, or a spike lies
        outside the recording.

    Examples
    --------
    >>> a = [1.0, 5.0, 9.0]
    >>> float(spike_time_tiling([a, a], 10.0)[0, 1])
    1.0
    """
    duration_s = check_argument("spike_time_tiling", "duration_s", duration_s, "duration_s")
    window_s = check_argument("spike_time_tiling", "window_s", window_s, "sttc_window_s")
    trains = [np.sort(np.asarray(t, dtype=float).ravel()) for t in spike_times_s]
    start, stop = _recording_span(trains, duration_s, start_s)
    tiled = np.array([_tiled_fraction(t, window_s, start, stop) for t in trains])
    n_spikes = np.array([t.size for t in trains], dtype=float)
    times, channel = _flatten_trains(trains)
    order = np.argsort(times, kind="stable")
    near = _near_counts(trains, times[order], channel[order], window_s, progress)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = near / n_spikes[:, None]  # p[a, b] = P_a against b
        numerator = p - tiled[None, :]
        denominator = 1 - p * tiled[None, :]
        term = np.where(denominator > 0, numerator / denominator, 1.0)
    sttc = (term + term.T) / 2
    sttc[(n_spikes[:, None] == 0) | (n_spikes[None, :] == 0)] = np.nan
    return sttc


@dataclass(frozen=True, eq=False)
class CIProfile:
    """Correlation index (or, binned the same way, STTC) against electrode distance.

    Attributes
    ----------
    distance_um : ndarray
        Mean distance of the pairs in each non-empty bin, um.
    mean_ci, sd_ci : ndarray
        Mean and standard deviation of the CI of the pairs in each bin.
    n_pairs : ndarray of int
        Pairs per bin.
    pair_distance_um, pair_ci : ndarray
        Every pair with a defined CI (for pooling several recordings).
    """

    distance_um: np.ndarray
    mean_ci: np.ndarray
    sd_ci: np.ndarray
    n_pairs: np.ndarray
    pair_distance_um: np.ndarray
    pair_ci: np.ndarray


def _bin_pairs(distance_um: np.ndarray, ci: np.ndarray, bin_width_um: float) -> CIProfile:
    bins = np.floor(distance_um / bin_width_um).astype(np.int64)
    used, inverse = np.unique(bins, return_inverse=True)
    n_pairs = np.bincount(inverse, minlength=used.size)
    mean_distance = np.bincount(inverse, distance_um, used.size) / np.maximum(n_pairs, 1)
    mean_ci = np.bincount(inverse, ci, used.size) / np.maximum(n_pairs, 1)
    sq = np.bincount(inverse, (ci - mean_ci[inverse]) ** 2, used.size)
    sd_ci = np.sqrt(sq / np.maximum(n_pairs - 1, 1))
    return CIProfile(mean_distance, mean_ci, sd_ci, n_pairs, distance_um, ci)


def ci_by_distance(ci: np.ndarray, positions_um: np.ndarray, bin_width_um: float = 50.0) -> CIProfile:
    """Average the correlation index (or STTC) of channel pairs in bins of distance.

    Parameters
    ----------
    ci : ndarray, shape (n, n)
        From :func:`correlation_index` (or :func:`spike_time_tiling`).
    positions_um : ndarray, shape (n, 2)
        Electrode positions in um.
    bin_width_um : float
        Bins are [k w, (k + 1) w) um (range of :attr:`AnalysisParams.ci_bin_width_um`).

    Returns
    -------
    CIProfile
        Pairs on the same electrode (distance 0, e.g. two sorted units) are
        left out, as are pairs with an undefined CI.
    """
    check_argument("ci_by_distance", "bin_width_um", bin_width_um, "ci_bin_width_um")
    positions_um = np.asarray(positions_um, dtype=float)
    a, b = np.triu_indices(len(positions_um), k=1)
    distance_um = np.hypot(*(positions_um[a] - positions_um[b]).T)
    values = ci[a, b]
    keep = np.isfinite(values) & (distance_um > 0)
    return _bin_pairs(distance_um[keep], values[keep], bin_width_um)

