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

__all__ = ["SharedSynchrony", "estimate_shared_synchrony", "jitter_within_bursts", "shared_gains"]

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
                              min_pairs: int = 3, max_distance_um: float = 400.0,
                              seed: int = 0) -> SharedSynchrony:
    """The :class:`SharedSynchrony` whose CI excess best matches a recording's.

    For each coincidence window dt of :data:`ESTIMATE_WINDOWS_S` and each
    distance bin up to ``max_distance_um`` holding ``min_pairs`` channel
    pairs or more, the excess is the recording's mean CI over that of its
    jittered copy (:func:`jitter_within_bursts`), minus 1; the three
    values are the weighted least-squares fit of
    :meth:`SharedSynchrony.ci_factor` - 1 to these (weights: the square root
    of the pairs in the bin), with ``length_um`` no shorter than the closest
    distance bin (an array cannot tell shorter lengths apart: they trade
    against the gain variance).

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
    seed : int
        Seed of the jitter.

    Returns
    -------
    SharedSynchrony

    Raises
    ------
    ParameterError
        If fewer than three (distance, window) points can be formed.
    """
    from scipy.optimize import least_squares

    params = params or AnalysisParams()
    rates_hz = np.array([np.size(t) for t in spike_times_s]) / duration_s
    keep = np.flatnonzero(rates_hz >= min_rate_hz)
    trains = [np.asarray(spike_times_s[k], dtype=float) for k in keep]
    positions_um = np.asarray(positions_um, dtype=float)[keep]
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
    if len(excess) < 3:
        raise ParameterError(f"estimate_shared_synchrony: the recording gives {len(excess)} (distance, window) "
                             f"point(s) within {max_distance_um:g} um with {min_pairs} channel pairs or more; "
                             f"need 3. Use a recording with more channels, or a larger max_distance_um.")
    distance, window, excess, weight = (np.array(v) for v in (distance, window, excess, weight))

    def residuals(x):
        model = SharedSynchrony(*_inside(x)).ci_factor(distance, window) - 1
        return weight * (model - excess)

    low, high = _bounds()
    # below the closest electrodes' distance the length is not resolved; there a shorter length only buys a
    # larger gain variance (which also makes each electrode burstier): take the longest that fits
    low[1] = max(low[1], float(distance.min()))
    start = np.array([max(float(excess.max()), 0.01), 2 * low[1], 0.5]).clip(low, high)
    solution = least_squares(residuals, start, bounds=(low, high))
    return SharedSynchrony(*_inside(solution.x))


def _bounds() -> tuple[np.ndarray, np.ndarray]:
    from wavesim.analysis.params import spec_range

    ranges = [spec_range(s) for s in ("sync_gain_variance", "sync_length_um", "sync_time_s")]
    return np.array([r[0] for r in ranges], dtype=float), np.array([r[1] for r in ranges], dtype=float)


def _inside(x) -> tuple[float, float, float]:
    """The optimiser's point as checked values (it may step onto a bound by rounding)."""
    low, high = _bounds()
    return tuple(float(v) for v in np.clip(x, low, high))


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
