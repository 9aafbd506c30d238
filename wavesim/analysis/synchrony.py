"""Shared fine timing of electrodes: how much of a recording's correlation index bursts alone do not explain.

Moving every spike of a recording to a uniformly random time inside its own
burst keeps where and when each electrode is active and destroys any finer
synchrony (:func:`jitter_within_bursts`). The CI of neighbours falls by
11-28% in the Kirkby2013 and Maccione2014 recordings at 100-150 um, and by
less with distance; the excess grows toward short coincidence windows.

:class:`SharedSynchrony` is a model of that excess for virtual electrodes:
while electrodes are active, their rates are multiplied by a common,
log-normal gain m (mean 1, variance ``gain_variance``) that is constant in
time bins of ``time_s`` and correlated in space as exp(-d / ``length_um``)
(in its logarithm). For two electrodes d apart, both active, the CI at
window dt then rises by the factor
``1 + gain_variance * rho(d) * g(dt / time_s)``, with rho(d) about
exp(-d / length_um) and g(x) = 1 - x / 2 for x <= 1, 1 / (2 x) beyond (the
chance that two spikes dt apart share a bin). :func:`estimate_shared_synchrony`
fits the three values to a recording's CI excess over its own jittered copy,
over distance bins and several windows.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Sequence

import numpy as np

from wavesim.analysis.bursts import detect_spike_bursts
from wavesim.analysis.correlation import ci_by_distance, correlation_index
from wavesim.analysis.params import AnalysisParams, check_argument
from wavesim.errors import ParameterError

__all__ = ["SharedSynchrony", "estimate_shared_synchrony", "jitter_within_bursts", "shared_gains", "synchronous_bursts"]

#: Coincidence windows the estimate fits (s): around the CI's 0.1 s, long enough to leave out the
#: millisecond-scale excess that some recordings add at 20 ms and below.
ESTIMATE_WINDOWS_S = (0.05, 0.1, 0.2, 0.5)


@dataclasses.dataclass(frozen=True)
class SharedSynchrony:
    """A common, spatially correlated rate gain of active virtual electrodes.

    Attributes
    ----------
    gain_variance : float
        Variance of the gain (its mean is 1); 0 is no shared timing.
    length_um : float (um)
        Length over which the gain's logarithm decorrelates, exp(-d / length_um).
    time_s : float (s)
        The gain is constant within time bins of this length.
    """

    gain_variance: float
    length_um: float
    time_s: float

    def __post_init__(self):
        check_argument("SharedSynchrony", "gain_variance", self.gain_variance, "sync_gain_variance")
        check_argument("SharedSynchrony", "length_um", self.length_um, "sync_length_um")
        check_argument("SharedSynchrony", "time_s", self.time_s, "sync_time_s")

    def ci_factor(self, distance_um, window_s):
        """The factor by which the model raises the CI of two active electrodes ``distance_um`` apart.

        Exact for the gain's log-normal field: ``(1 + v) ** rho - 1`` is the
        covariance of two gains whose logarithms correlate by rho.
        """
        x = np.asarray(window_s, dtype=float) / self.time_s
        shared_bin = np.where(x <= 1, 1 - x / 2, 1 / (2 * np.maximum(x, 1e-300)))
        rho = np.exp(-np.asarray(distance_um, dtype=float) / self.length_um)
        return 1 + ((1 + self.gain_variance) ** rho - 1) * shared_bin


def jitter_within_bursts(spike_times_s: Sequence[np.ndarray], params: AnalysisParams | None = None,
                         seed: int = 0) -> tuple[np.ndarray, ...]:
    """Spike trains with every spike of a burst moved to a uniform time inside that burst.

    Bursts are detected as by :func:`~wavesim.analysis.detect_spike_bursts`;
    spikes outside bursts stay. Where and when each electrode is active is
    kept; any synchrony finer than a burst goes.

    Parameters
    ----------
    spike_times_s : sequence of array_like
        One array of spike times (s) per channel.
    params : AnalysisParams, optional
        Burst detection settings.
    seed : int

    Returns
    -------
    tuple of ndarray
        Sorted spike times per channel.
    """
    rng = np.random.default_rng(seed)
    bursts = detect_spike_bursts(spike_times_s, params)
    trains = []
    for channel, times in enumerate(spike_times_s):
        times = np.array(times, dtype=float)
        mine = bursts.site == channel
        first = np.searchsorted(times, bursts.onset_s[mine], "left")
        stop = np.searchsorted(times, bursts.end_s[mine], "right")
        for i, j, onset, end in zip(first, stop, bursts.onset_s[mine], bursts.end_s[mine]):
            times[i:j] = rng.uniform(onset, end, j - i)
        trains.append(np.sort(times))
    return tuple(trains)


def estimate_shared_synchrony(spike_times_s: Sequence[np.ndarray], positions_um: np.ndarray, duration_s: float,
                              params: AnalysisParams | None = None, *, min_rate_hz: float = 0.01,
                              min_pairs: int = 3, max_distance_um: float = 400.0, calibration_rounds: int = 2,
                              seed: int = 0) -> SharedSynchrony:
    """The :class:`SharedSynchrony` under which virtual electrodes show the recording's CI excess.

    For each coincidence window dt of :data:`ESTIMATE_WINDOWS_S` and each
    distance bin up to ``max_distance_um`` holding ``min_pairs`` channel
    pairs or more, the excess is the mean CI over that of the jittered copy
    (:func:`jitter_within_bursts`), minus 1. The weighted least-squares fit
    of :meth:`SharedSynchrony.ci_factor` - 1 to the recording's excess
    (weights: the square root of the pairs in each bin; ``length_um`` no
    shorter than the closest distance bin, since an array cannot tell
    shorter lengths apart: they trade against the gain variance) is a first
    guess, biased low: the jitter keeps some of the shared timing (a burst
    cut where the gain is low is jittered in pieces that follow it) and
    changes the CI of independent spikes a little. So the guess is
    calibrated, ``calibration_rounds`` times: synchronous electrodes are
    simulated at the current estimate over the recording's own bursts
    (:func:`~wavesim.analysis.detect_spike_bursts`, with the burst model of
    :func:`~wavesim.analysis.estimate_burst_electrodes`), the excess the
    jitter misses there (the model's minus the simulation's) is added to
    the recording's, and the model is fitted again.

    Parameters
    ----------
    spike_times_s : sequence of array_like
        One array of spike times (s) per channel.
    positions_um : ndarray, shape (n, 2)
    duration_s : float (s)
    params : AnalysisParams, optional
        Burst detection and the CI's distance bins.
    min_rate_hz : float (1/s)
        Channels firing less are left out (as by the fit's CI term).
    min_pairs : int
    max_distance_um : float (um)
    calibration_rounds : int
        Simulations that correct the first guess (0: the first guess).
    seed : int
        Seed of the jitter and of the simulated electrodes.

    Returns
    -------
    SharedSynchrony

    Raises
    ------
    ParameterError
        If fewer than three (distance, window) points can be formed.
    """
    from wavesim.analysis.electrodes import estimate_burst_electrodes

    params = params or AnalysisParams()
    rates_hz = np.array([np.size(t) for t in spike_times_s]) / duration_s
    keep = np.flatnonzero(rates_hz >= min_rate_hz)
    trains = [np.asarray(spike_times_s[k], dtype=float) for k in keep]
    positions_um = np.asarray(positions_um, dtype=float)[keep]
    table = _excess(trains, positions_um, duration_s, params, min_pairs, max_distance_um, seed)
    if len(table[0]) < 3:
        raise ParameterError(f"estimate_shared_synchrony: the recording gives {len(table[0])} (distance, window) "
                             f"point(s) within {max_distance_um:g} um with {min_pairs} channel pairs or more; "
                             f"need 3. Use a recording with more channels, or a larger max_distance_um.")
    estimate = _fit(*table)
    if calibration_rounds > 0:
        bursts = detect_spike_bursts(trains, params)
        burst = estimate_burst_electrodes(trains, params)
        rng = np.random.default_rng(seed)
    recorded = dict(zip(zip(table[0], table[1]), table[2]))
    for _ in range(int(calibration_rounds)):
        electrode, counts, times = synchronous_bursts(bursts.site, bursts.onset_s, bursts.end_s, positions_um,
                                                      burst.rate_hz, burst.decay_s, estimate, rng)
        electrode = np.repeat(electrode, counts)
        simulated = [np.sort(times[electrode == e]) for e in range(len(trains))]
        distance, window, seen, weight = _excess(simulated, positions_um, duration_s, params, min_pairs,
                                                 max_distance_um, seed)
        # what the jitter misses at this estimate, added to the recording's excess
        shared = np.array([(d, w) in recorded for d, w in zip(distance, window)], dtype=bool)
        distance, window, seen, weight = distance[shared], window[shared], seen[shared], weight[shared]
        missed = estimate.ci_factor(distance, window) - 1 - seen
        corrected = np.array([recorded[(d, w)] for d, w in zip(distance, window)]) + missed
        estimate = _fit(distance, window, corrected, weight)
    return estimate


def _excess(trains, positions_um, duration_s, params, min_pairs, max_distance_um, seed):
    """The CI excess over the jittered copy: (distance, window, excess, weight) arrays of the bins that count."""
    jittered = jitter_within_bursts(trains, params, seed)
    distance, window, excess, weight = [], [], [], []
    for window_s in ESTIMATE_WINDOWS_S:
        recorded = ci_by_distance(correlation_index(trains, duration_s, window_s), positions_um,
                                  params.ci_bin_width_um)
        shuffled = ci_by_distance(correlation_index(jittered, duration_s, window_s), positions_um,
                                  params.ci_bin_width_um)
        for d, a, b, n in zip(recorded.distance_um, recorded.mean_ci, shuffled.mean_ci, recorded.n_pairs):
            if n >= min_pairs and d <= max_distance_um and b > 0 and math.isfinite(a / b):
                distance.append(d)
                window.append(window_s)
                excess.append(a / b - 1)
                weight.append(math.sqrt(n))
    return tuple(np.array(v, dtype=float) for v in (distance, window, excess, weight))


def _fit(distance, window, excess, weight) -> SharedSynchrony:
    """Weighted least squares of the model's CI factor - 1 to the excess."""
    from scipy.optimize import least_squares

    def residuals(x):
        return weight * (SharedSynchrony(*_inside(x)).ci_factor(distance, window) - 1 - excess)

    low, high = _bounds()
    # below the closest electrodes' distance the length is not resolved; there a shorter length only buys a
    # larger gain variance (which also makes each electrode burstier): take the longest that fits
    low[1] = max(low[1], float(distance.min()))
    start = np.array([max(float(excess.max()), 0.01), 2 * low[1], 0.5]).clip(low, high)
    return SharedSynchrony(*_inside(least_squares(residuals, start, bounds=(low, high)).x))


def _bounds() -> tuple[np.ndarray, np.ndarray]:
    from wavesim.analysis.params import spec_range

    ranges = [spec_range(s) for s in ("sync_gain_variance", "sync_length_um", "sync_time_s")]
    return np.array([r[0] for r in ranges], dtype=float), np.array([r[1] for r in ranges], dtype=float)


def _inside(x) -> tuple[float, float, float]:
    """The optimiser's point as checked values (it may step onto a bound by rounding)."""
    low, high = _bounds()
    return tuple(float(v) for v in np.clip(x, low, high))


def synchronous_bursts(electrode: np.ndarray, start_s: np.ndarray, end_s: np.ndarray, positions_um: np.ndarray,
                       rate_hz: float, decay_s: float, synchrony: SharedSynchrony, rng: np.random.Generator):
    """Spikes of bursts whose rate r exp(-t / decay_s) is multiplied by the shared gain, piece by piece.

    Each burst (electrode ``electrode[i]``, from ``start_s[i]`` to
    ``end_s[i]``) is cut at the gain's time bins; each piece draws a Poisson
    count with its expected spikes times its gain, and times by inverting
    the truncated exponential inside it.

    Returns
    -------
    electrode, counts, times : ndarray
        The electrode and spike count of every piece, and the spike times
        (piece by piece, ``counts`` of each).
    """
    start_s, end_s = np.asarray(start_s, dtype=float), np.asarray(end_s, dtype=float)
    first_bin = np.floor(start_s / synchrony.time_s).astype(np.int64)
    n_pieces = np.maximum(np.ceil(end_s / synchrony.time_s).astype(np.int64) - first_bin, 1)
    run = np.repeat(np.arange(start_s.size), n_pieces)
    offset = np.arange(n_pieces.sum()) - np.repeat(np.cumsum(n_pieces) - n_pieces, n_pieces)
    bin_index = np.repeat(first_bin, n_pieces) + offset
    # each piece as times since its burst's start, where the rate is r exp(-t / tau)
    low = np.maximum(bin_index * synchrony.time_s, start_s[run]) - start_s[run]
    high = np.maximum(np.minimum((bin_index + 1) * synchrony.time_s, end_s[run]) - start_s[run], low)
    bins, piece_bin = np.unique(bin_index, return_inverse=True)
    gains = shared_gains(positions_um, bins, synchrony, rng)[piece_bin.ravel(), np.asarray(electrode)[run]]
    at_low, at_high = np.exp(-low / decay_s), np.exp(-high / decay_s)
    counts = rng.poisson(rate_hz * decay_s * (at_low - at_high) * gains)
    u = rng.uniform(0.0, 1.0, counts.sum())
    times = np.repeat(start_s[run], counts) - decay_s * np.log(np.repeat(at_low, counts) -
                                                             u * np.repeat(at_low - at_high, counts))
    return np.asarray(electrode)[run], counts, times


def shared_gains(positions_um: np.ndarray, bins: np.ndarray, synchrony: SharedSynchrony,
                 rng: np.random.Generator) -> np.ndarray:
    """The gain of every electrode in each of the time bins ``bins``: (len(bins), n) floats of mean 1.

    Each bin draws one Gaussian field over the electrodes, correlated as
    exp(-d / length_um); the gain is its log-normal transform with variance
    ``gain_variance``.
    """
    positions_um = np.asarray(positions_um, dtype=float)
    distance = np.sqrt(((positions_um[:, None, :] - positions_um[None, :, :]) ** 2).sum(-1))
    correlation = np.exp(-distance / synchrony.length_um)
    values, vectors = np.linalg.eigh(correlation)  # electrodes at one position make it singular
    root = vectors * np.sqrt(np.clip(values, 0.0, None))
    sigma = math.sqrt(math.log1p(synchrony.gain_variance))
    field = rng.standard_normal((len(bins), len(positions_um))) @ root.T
    return np.exp(sigma * field - sigma ** 2 / 2)
