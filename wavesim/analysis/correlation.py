"""The correlation index of spike trains against electrode distance.

Wong et al. (1993): CI_ab = N_ab(dt) T / (N_a N_b 2 dt), N_ab(dt) the number
of spike pairs of channels a and b at most dt apart, T the recording
duration; averaged in bins of electrode distance.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
from tqdm.auto import tqdm

from wavesim.analysis.bursts import _flatten_trains, _window_pairs
from wavesim.analysis.params import check_argument

__all__ = ["CIProfile", "ci_by_distance", "correlation_index"]


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


@dataclass(frozen=True, eq=False)
class CIProfile:
    """Correlation index against electrode distance.

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
    """Average the correlation index of channel pairs in bins of distance.

    Parameters
    ----------
    ci : ndarray, shape (n, n)
        From :func:`correlation_index`.
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

