"""Wave statistics shared by simulated movies and real recordings.

The same measures are computed on binary (or thresholded calcium) movies and
on multielectrode-array (MEA) spike trains, so that simulations can be tuned
against recordings:

Bursts
    MEA: the max-interval method (NeuroExplorer; as in Eglen's sjemea): a
    burst starts at an inter-spike interval <= ``max_isi_start_s``, goes on
    while intervals stay <= ``max_isi_end_s``, bursts closer than
    ``min_ibi_s`` merge, and bursts with fewer than ``min_burst_spikes``
    spikes or shorter than ``min_burst_duration_s`` are dropped.
    Movies: a burst is a run of consecutive active frames of one pixel.
Waves
    Movies: space-time connected components (``scipy.ndimage.label`` with
    the full 3x3x3 neighbourhood: a pixel active in frame t joins any of its
    8 neighbours, or itself, active in frame t-1, t or t+1).
    MEA: single-linkage clustering of bursts in space and time: two bursts
    belong to one wave when their electrodes lie within
    ``neighbour_radius_um`` and their onsets within ``max_onset_lag_s``.
    In both, an event must recruit at least ``min_size_fraction`` of the
    sites (pixels or electrodes), and at least 3, to count as a wave.
Speed and direction
    Each wave's site onset times t(p) are fitted by two front models by
    least squares: a plane, t = t0 + g . p, with speed 1/|g| and direction
    g/|g|; and a circle spreading from the initiation point p0,
    t = t0 + |p - p0| / v. The speed comes from the model with the larger
    adjusted R^2 (counting 2 fitted slopes for the plane, 3 for the circle
    whose centre comes from the same onsets; undefined for waves of 3 or 4
    sites, which such models fit trivially) and is left undefined
    (nan) when that adjusted R^2 is below ``min_fit_r2``.
    The direction always comes from the plane fit (undefined when all
    onsets are simultaneous). The initiation point is the mean position of
    the sites whose onset lies in the first ``initiation_fraction`` of the
    wave's onset span.
Intervals
    Per site, the intervals between the onsets of consecutive waves that
    recruited it (inter-wave intervals, IWI).
Correlation index
    Wong et al. (1993): CI_ab = N_ab(dt) T / (N_a N_b 2 dt), N_ab(dt) the
    number of spike pairs of channels a and b at most dt apart, T the
    recording duration; averaged in bins of electrode distance.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar, Iterator, Sequence

import numpy as np
from scipy import ndimage
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree
from tqdm.auto import tqdm

from wavesim.errors import ParameterError
from wavesim.io.recordings import MEARecording, Movie, median_pitch_um

__all__ = [
    "AnalysisParams",
    "Bursts",
    "CIProfile",
    "Summary",
    "Waves",
    "ci_by_distance",
    "combine_summaries",
    "correlation_index",
    "detect_mea_waves",
    "detect_movie_waves",
    "detect_pixel_bursts",
    "detect_spike_bursts",
    "electrode_grid",
    "frame_wave_labels",
    "inter_wave_intervals",
    "summarize",
    "virtual_electrodes",
]

# Pairs generated per chunk when scanning time windows: bounds memory (~100 MB).
_PAIRS_PER_CHUNK = 1 << 22
_MIN_WAVE_SITES = 3  # a plane fit needs three sites
_RADIUS_PER_PITCH = 2.5


def _no_bar(progress: bool | None) -> bool | None:
    """tqdm's ``disable``: None lets tqdm show a bar only on a terminal."""
    return None if progress is None else not progress


def _check_positive(name: str, value: float, *, allow_zero: bool = False) -> None:
    ok = isinstance(value, (int, float, np.number)) and math.isfinite(value)
    ok = ok and (value >= 0 if allow_zero else value > 0)
    if not ok:
        bound = ">= 0" if allow_zero else "> 0"
        raise ParameterError(f"{name} must be a finite number {bound}, got {value!r}")


@dataclass(frozen=True)
class AnalysisParams:
    """Parameters of burst, wave and correlation analysis.

    Parameters
    ----------
    max_isi_start_s : float
        Max-interval bursts: largest inter-spike interval that starts a
        burst, in s (> 0).
    max_isi_end_s : float
        Largest inter-spike interval inside a burst, in s
        (>= ``max_isi_start_s``).
    min_ibi_s : float
        Bursts of one channel closer than this (s, >= 0) merge.
    min_burst_spikes : int
        Fewest spikes in a burst (>= 1).
    min_burst_duration_s : float
        Shortest burst in s (>= 0).
    neighbour_radius_um : float or None
        MEA waves: electrodes at most this far apart (um, > 0) are
        neighbours; None means 2.5 times the array pitch (the 20 nearest
        electrodes of a square array, 18 of a hexagonal one), so that a
        silent electrode between two recruited ones does not split a wave.
    max_onset_lag_s : float
        MEA waves: largest onset difference in s (> 0) that links bursts of
        neighbouring electrodes.
    min_size_fraction : float
        Smallest fraction of sites (pixels or electrodes), in [0, 1], that an
        event must recruit to count as a wave (and at least 3 sites).
    min_fit_r2 : float
        Smallest adjusted R^2 of the better front model (in [0, 1]) for a
        wave's speed to be defined.
    initiation_fraction : float
        Fraction (in (0, 1]) of a wave's onset span whose sites define its
        initiation point.
    activity_threshold : float or None
        Movies: a pixel is active where its value exceeds this; None means
        > 0 for binary movies and > 127 for uint8 movies with values above 1
        (calcium readout, 0..255).
    ci_window_s : float
        Correlation index coincidence window dt in s (> 0); 0.1 s as in
        Wong et al. 1993.
    ci_bin_width_um : float
        Width of the electrode-distance bins of the CI profile, um (> 0).
    ci_grid_pitch_um : float
        Movies: pitch in um (> 0) of the centred 8 x 8 grid of virtual
        electrodes used for the CI (100 um, like the MCS arrays); widened to
        one pixel if pixels are larger.
    virtual_rate_hz : float
        Firing rate in Hz (> 0) of virtual electrodes on active pixels.
    seed : int
        Seed of the virtual spike trains.
    """

    max_isi_start_s: float = 0.5
    max_isi_end_s: float = 1.0
    min_ibi_s: float = 2.0
    min_burst_spikes: int = 3
    min_burst_duration_s: float = 0.05
    neighbour_radius_um: float | None = None
    max_onset_lag_s: float = 2.0
    min_size_fraction: float = 0.05
    min_fit_r2: float = 0.5
    initiation_fraction: float = 0.1
    activity_threshold: float | None = None
    ci_window_s: float = 0.1
    ci_bin_width_um: float = 50.0
    ci_grid_pitch_um: float = 100.0
    virtual_rate_hz: float = 20.0
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("max_isi_start_s", "max_isi_end_s", "max_onset_lag_s", "ci_window_s",
                     "ci_bin_width_um", "ci_grid_pitch_um", "virtual_rate_hz"):
            _check_positive(name, getattr(self, name))
        for name in ("min_ibi_s", "min_burst_duration_s"):
            _check_positive(name, getattr(self, name), allow_zero=True)
        if self.max_isi_end_s < self.max_isi_start_s:
            raise ParameterError(
                f"max_isi_end_s must be >= max_isi_start_s = {self.max_isi_start_s}, got {self.max_isi_end_s}"
            )
        if not (isinstance(self.min_burst_spikes, (int, np.integer)) and self.min_burst_spikes >= 1):
            raise ParameterError(f"min_burst_spikes must be an integer >= 1, got {self.min_burst_spikes!r}")
        if self.neighbour_radius_um is not None:
            _check_positive("neighbour_radius_um", self.neighbour_radius_um)
        for name in ("min_size_fraction", "min_fit_r2"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float, np.number)) and 0 <= value <= 1):
                raise ParameterError(f"{name} must be in [0, 1], got {value!r}")
        if not (isinstance(self.initiation_fraction, (int, float)) and 0 < self.initiation_fraction <= 1):
            raise ParameterError(f"initiation_fraction must be in (0, 1], got {self.initiation_fraction!r}")
        if self.activity_threshold is not None and not math.isfinite(self.activity_threshold):
            raise ParameterError(f"activity_threshold must be finite or None, got {self.activity_threshold!r}")


# --------------------------------------------------------------------------- bursts


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
    flat = active.reshape(t_frames, height * width)
    edges = np.diff(flat.astype(np.int8), axis=0, prepend=0, append=0)
    # nonzero on the transpose sorts by pixel, then frame, so onsets and ends pair up
    site_on, frame_on = np.nonzero(edges.T == 1)
    _, frame_end = np.nonzero(edges.T == -1)
    period_s = movie.frame_period_s
    return Bursts(site_on.astype(np.int64), frame_on * period_s, frame_end * period_s, height * width)


# --------------------------------------------------------------------------- waves


@dataclass(frozen=True, eq=False)
class Waves:
    """Waves detected in a movie or an MEA recording, one row per wave.

    Attributes
    ----------
    onset_s : ndarray
        First onset of the wave at any site, s.
    duration_s : ndarray
        From the first onset to the last burst end, s.
    n_sites : ndarray of int
        Pixels (movies) or electrodes (MEA) recruited.
    size_fraction : ndarray
        ``n_sites`` over all pixels or electrodes.
    area_um2 : ndarray
        Movies: recruited pixels times the pixel area, um^2; MEA: nan.
    speed_um_per_s : ndarray
        Front speed (module docstring), um/s; nan where undefined.
    fit_r2 : ndarray
        Adjusted R^2 of the front model that gave the speed (nan where
        neither model can be judged: 3 sites, or 4 sites for the circle).
    front : ndarray of str
        ``"plane"`` or ``"radial"``: the front model with the larger
        adjusted R^2.
    direction_rad : ndarray
        Direction of propagation from the plane fit, radians
        counter-clockwise from +x (+y is down for movies: row order).
    initiation_um : ndarray, shape (n_waves, 2)
        Initiation point (x, y) in um.
    member_wave, member_site, member_onset_s : ndarray
        One row per recruited site (channel or pixel) and wave: the wave
        index, the site and the site's first onset in that wave, s.
    n_site_groups : int
        Pixels or electrodes in the recording (denominator of sizes).
    recording_duration_s : float
    n_bursts, n_bursts_in_waves : int
        Bursts detected, and those that belong to a wave.
    """

    onset_s: np.ndarray
    duration_s: np.ndarray
    n_sites: np.ndarray
    size_fraction: np.ndarray
    area_um2: np.ndarray
    speed_um_per_s: np.ndarray
    fit_r2: np.ndarray
    front: np.ndarray
    direction_rad: np.ndarray
    initiation_um: np.ndarray
    member_wave: np.ndarray
    member_site: np.ndarray
    member_onset_s: np.ndarray
    n_site_groups: int
    recording_duration_s: float
    n_bursts: int
    n_bursts_in_waves: int

    def __len__(self) -> int:
        return int(self.onset_s.size)

    def participating_groups(self, site_group: np.ndarray) -> int:
        """Number of pixels or electrodes recruited by at least one wave."""
        return int(np.unique(site_group[self.member_site]).size)


def _adjusted_r2(residual: np.ndarray, centred: np.ndarray, n_predictors: int) -> float:
    """R^2 adjusted for the number of fitted slopes; -inf where the fit is exact by construction."""
    n = centred.size
    total = float(centred @ centred)
    if n <= n_predictors + 1 or total <= 0:
        return -math.inf
    return 1.0 - float(residual @ residual) / total * (n - 1) / (n - n_predictors - 1)


def _fit_front(positions_um: np.ndarray, onset_s: np.ndarray, params: AnalysisParams
               ) -> tuple[float, float, str, float, np.ndarray]:
    """Speed, adjusted R^2, front model, direction and initiation point of one wave."""
    span_s = onset_s.max() - onset_s.min()
    early = onset_s <= onset_s.min() + params.initiation_fraction * span_s
    initiation = positions_um[early].mean(axis=0)
    t_centred = onset_s - onset_s.mean()
    p_centred = positions_um - positions_um.mean(axis=0)
    gradient_s_per_um, *_ = np.linalg.lstsq(p_centred, t_centred, rcond=None)
    plane_r2 = _adjusted_r2(t_centred - p_centred @ gradient_s_per_um, t_centred, 2)
    slowness = float(np.hypot(*gradient_s_per_um))
    direction = math.atan2(gradient_s_per_um[1], gradient_s_per_um[0]) if slowness > 0 else math.nan

    r_centred = np.hypot(*(positions_um - initiation).T)
    r_centred = r_centred - r_centred.mean()
    var_r = float(r_centred @ r_centred)
    radial_slope = float(r_centred @ t_centred) / var_r if var_r > 0 else 0.0
    # three fitted predictors: the slope and the initiation point taken from the same onsets
    radial_r2 = (_adjusted_r2(t_centred - radial_slope * r_centred, t_centred, 3)
                 if radial_slope > 0 else -math.inf)

    if plane_r2 >= radial_r2:
        front, r2, speed = "plane", plane_r2, (1.0 / slowness if slowness > 0 else math.nan)
    else:
        front, r2, speed = "radial", radial_r2, 1.0 / radial_slope
    if not r2 >= params.min_fit_r2:
        speed = math.nan
    return speed, (r2 if math.isfinite(r2) else math.nan), front, direction, initiation


def _build_waves(
    member_wave: np.ndarray,
    member_site: np.ndarray,
    member_onset_s: np.ndarray,
    member_end_s: np.ndarray,
    site_positions_um: np.ndarray,
    site_group: np.ndarray,
    n_site_groups: int,
    group_area_um2: float,
    recording_duration_s: float,
    n_bursts: int,
    n_bursts_in_waves: int,
    params: AnalysisParams,
) -> Waves:
    """Per-wave table from one row per (wave, site); waves are numbered 0..n-1."""
    order = np.lexsort((member_onset_s, member_wave))
    member_wave, member_site = member_wave[order], member_site[order]
    member_onset_s, member_end_s = member_onset_s[order], member_end_s[order]
    n_waves = int(member_wave.max()) + 1 if member_wave.size else 0
    starts = np.searchsorted(member_wave, np.arange(n_waves + 1))
    onset_s = member_onset_s[starts[:-1]] if n_waves else np.zeros(0)
    duration_s = np.maximum.reduceat(member_end_s, starts[:-1]) - onset_s if n_waves else np.zeros(0)
    group_keys = np.unique(member_wave * n_site_groups + site_group[member_site])
    n_sites = np.bincount(group_keys // n_site_groups, minlength=n_waves)

    speed = np.full(n_waves, np.nan)
    r2 = np.full(n_waves, np.nan)
    front = np.full(n_waves, "", dtype=object)
    direction = np.full(n_waves, np.nan)
    initiation = np.full((n_waves, 2), np.nan)
    for w in range(n_waves):
        rows = slice(starts[w], starts[w + 1])
        speed[w], r2[w], front[w], direction[w], initiation[w] = _fit_front(
            site_positions_um[member_site[rows]], member_onset_s[rows], params
        )
    return Waves(
        onset_s=onset_s,
        duration_s=duration_s,
        n_sites=n_sites,
        size_fraction=n_sites / n_site_groups,
        area_um2=n_sites * group_area_um2,
        speed_um_per_s=speed,
        fit_r2=r2,
        front=front.astype(str),
        direction_rad=direction,
        initiation_um=initiation,
        member_wave=member_wave,
        member_site=member_site,
        member_onset_s=member_onset_s,
        n_site_groups=n_site_groups,
        recording_duration_s=recording_duration_s,
        n_bursts=n_bursts,
        n_bursts_in_waves=n_bursts_in_waves,
    )


def _min_sites(n_groups: int, params: AnalysisParams) -> int:
    return max(_MIN_WAVE_SITES, math.ceil(params.min_size_fraction * n_groups - 1e-9))


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


def _electrodes(positions_um: np.ndarray) -> tuple[np.ndarray, int]:
    """Electrode index of each channel (channels sharing a position share one)."""
    unique, inverse = np.unique(positions_um, axis=0, return_inverse=True)
    return inverse.ravel(), len(unique)


def detect_mea_waves(recording: MEARecording, params: AnalysisParams | None = None,
                     bursts: Bursts | None = None) -> Waves:
    """Detect waves in an MEA recording by space-time clustering of bursts.

    Two bursts are linked when their electrodes are neighbours (at most
    ``neighbour_radius_um`` apart, by default 2.5 times the pitch) and their
    onsets differ by at most ``max_onset_lag_s``; a wave is a connected
    group of linked bursts on at least ``min_size_fraction`` of the
    electrodes (and at least 3). A channel's onset in a wave is its first
    burst onset there.

    Parameters
    ----------
    recording : MEARecording
    params : AnalysisParams, optional
    bursts : Bursts, optional
        Bursts already detected with :func:`detect_spike_bursts`.

    Returns
    -------
    Waves
        Sizes are fractions of electrodes (distinct positions); ``area_um2``
        is nan.
    """
    params = params or AnalysisParams()
    bursts = bursts if bursts is not None else detect_spike_bursts(recording.spike_times_s, params)
    positions_um = recording.positions_um
    electrode, n_electrodes = _electrodes(positions_um)
    radius_um = params.neighbour_radius_um or _RADIUS_PER_PITCH * median_pitch_um(positions_um)
    n_channels = recording.n_channels

    order = np.argsort(bursts.onset_s, kind="stable")
    onset_s, end_s, site = bursts.onset_s[order], bursts.end_s[order], bursts.site[order]
    if n_channels > 1 and math.isfinite(radius_um):
        close = cKDTree(positions_um).query_pairs(radius_um, output_type="ndarray")
        neighbour_keys = np.r_[close[:, 0] * n_channels + close[:, 1], close[:, 1] * n_channels + close[:, 0]]
    else:
        neighbour_keys = np.zeros(0, np.int64)
    edges = []
    for i, j in _window_pairs(onset_s, params.max_onset_lag_s):
        linked = np.isin(site[i] * n_channels + site[j], neighbour_keys)
        edges.append((i[linked], j[linked]))
    i = np.concatenate([e[0] for e in edges]) if edges else np.zeros(0, np.int64)
    j = np.concatenate([e[1] for e in edges]) if edges else np.zeros(0, np.int64)
    n = onset_s.size
    _, cluster = connected_components(coo_matrix((np.ones(i.size), (i, j)), shape=(n, n)), directed=False)

    # one row per (cluster, channel): the channel's first onset and last burst end
    key = cluster.astype(np.int64) * n_channels + site
    rows = np.lexsort((onset_s, key))
    unique_key, first = np.unique(key[rows], return_index=True)
    member_end = np.maximum.reduceat(end_s[rows], first) if first.size else np.zeros(0)
    member_cluster, member_site = unique_key // n_channels, unique_key % n_channels
    member_onset = onset_s[rows][first]
    group_keys = np.unique(member_cluster * n_electrodes + electrode[member_site])
    electrodes_per_cluster = np.bincount(group_keys // n_electrodes, minlength=cluster.max(initial=-1) + 1)
    is_wave = electrodes_per_cluster >= _min_sites(n_electrodes, params)
    # renumber waves in order of onset
    cluster_onset = np.full(is_wave.size, np.inf)
    np.minimum.at(cluster_onset, member_cluster, member_onset)
    wave_clusters = np.flatnonzero(is_wave)
    wave_clusters = wave_clusters[np.argsort(cluster_onset[wave_clusters], kind="stable")]
    wave_number = np.full(is_wave.size, -1)
    wave_number[wave_clusters] = np.arange(wave_clusters.size)
    keep = wave_number[member_cluster] >= 0
    return _build_waves(
        wave_number[member_cluster[keep]], member_site[keep], member_onset[keep], member_end[keep],
        positions_um, electrode, n_electrodes, math.nan, recording.duration_s,
        len(bursts), int(np.count_nonzero(is_wave[cluster])), params,
    )


def _label_wave_voxels(movie: Movie, params: AnalysisParams) -> tuple[np.ndarray, int]:
    """Wave number of every voxel, -1 outside waves, and the number of waves.

    Waves are the space-time components (full 3 x 3 x 3 neighbourhood) of
    active voxels that recruit at least ``_min_sites`` distinct pixels,
    numbered 0..n-1 by onset.
    """
    active = _active(movie, params.activity_threshold)
    t_frames, height, width = active.shape
    n_pixels = height * width
    labels, n_labels = ndimage.label(active, structure=np.ones((3, 3, 3), dtype=bool))
    voxel = np.flatnonzero(labels)
    # size counts distinct pixels, not voxels: a pixel active for long counts once
    label_pixel = np.unique(labels.ravel()[voxel].astype(np.int64) * n_pixels + voxel % n_pixels)
    pixels_per_label = np.bincount(label_pixel // n_pixels, minlength=n_labels + 1)
    is_wave = pixels_per_label >= _min_sites(n_pixels, params)
    is_wave[0] = False
    # ndimage numbers components in raster order, i.e. by first frame: already by onset
    signed = np.result_type(labels.dtype, np.int8)  # -1 needs a signed type; int32 keeps the array small
    wave_number = np.where(is_wave, np.cumsum(is_wave) - 1, -1).astype(signed)
    return wave_number[labels], int(np.count_nonzero(is_wave))


def detect_movie_waves(movie: Movie, params: AnalysisParams | None = None) -> Waves:
    """Detect waves in a movie as space-time connected components.

    Active voxels are labelled with ``scipy.ndimage.label`` and the full
    3 x 3 x 3 neighbourhood; components recruiting at least
    ``min_size_fraction`` of the pixels (and at least 3) are waves. A
    pixel's onset in a wave is its first active frame there.

    Parameters
    ----------
    movie : Movie
    params : AnalysisParams, optional

    Returns
    -------
    Waves
        Sites are flat pixel indices; pixel (row, col) lies at
        x = col * um_per_pixel, y = row * um_per_pixel.

    See Also
    --------
    frame_wave_labels : the wave each frame belongs to.
    """
    params = params or AnalysisParams()
    wave_of_voxel, _ = _label_wave_voxels(movie, params)
    t_frames, height, width = wave_of_voxel.shape
    n_pixels = height * width
    flat = wave_of_voxel.reshape(t_frames, n_pixels)
    frame, pixel = np.nonzero(flat >= 0)  # C order: sorted by frame
    key = flat[frame, pixel].astype(np.int64) * n_pixels + pixel
    order = np.argsort(key, kind="stable")  # stable: frames stay ascending within a key
    unique_key, first = np.unique(key[order], return_index=True)
    last = np.searchsorted(key[order], unique_key, side="right") - 1
    member_wave, member_pixel = unique_key // n_pixels, unique_key % n_pixels
    member_onset = frame[order][first] * movie.frame_period_s
    member_end = (frame[order][last] + 1) * movie.frame_period_s

    bursts = detect_pixel_bursts(movie, params.activity_threshold)
    burst_frame = np.rint(bursts.onset_s / movie.frame_period_s).astype(np.int64)
    bursts_in_waves = int(np.count_nonzero(flat[burst_frame, bursts.site] >= 0))

    row, col = np.divmod(np.arange(n_pixels), width)
    positions_um = np.column_stack([col, row]) * movie.um_per_pixel
    return _build_waves(
        member_wave, member_pixel, member_onset, member_end,
        positions_um, np.arange(n_pixels), n_pixels, movie.um_per_pixel**2, movie.duration_s,
        len(bursts), bursts_in_waves, params,
    )


def frame_wave_labels(movie: Movie, params: AnalysisParams | None = None) -> np.ndarray:
    """The wave each frame of a movie belongs to.

    Meant for contrastive learning on movies: frames with the same label
    come from one wave (positive pairs), frames with different labels from
    different waves (negatives), as in Ligeralde et al. (2023). Waves are
    those of :func:`detect_movie_waves`, from the same labelling.

    Parameters
    ----------
    movie : Movie
    params : AnalysisParams, optional
        Uses ``activity_threshold`` and ``min_size_fraction``.

    Returns
    -------
    ndarray of int64, shape (T,)
        Per frame, the index into the rows of ``detect_movie_waves(movie,
        params)`` (waves ordered by onset) of the wave with the most active
        pixels in that frame, the lower index on ties; -1 where no wave has
        an active pixel in the frame.
    """
    params = params or AnalysisParams()
    wave_of_voxel, n_waves = _label_wave_voxels(movie, params)
    t_frames = wave_of_voxel.shape[0]
    if n_waves == 0:
        return np.full(t_frames, -1, dtype=np.int64)
    flat = wave_of_voxel.reshape(t_frames, -1)
    frame, pixel = np.nonzero(flat >= 0)
    # pixels of each (frame, wave) pair, counted in one pass
    counts = np.bincount(frame * n_waves + flat[frame, pixel], minlength=t_frames * n_waves)
    counts = counts.reshape(t_frames, n_waves)
    best = np.argmax(counts, axis=1)  # argmax takes the first maximum: the lower index on ties
    return np.where(counts[np.arange(t_frames), best] > 0, best, -1).astype(np.int64)


def inter_wave_intervals(waves: Waves) -> tuple[np.ndarray, np.ndarray]:
    """Inter-wave intervals at each site.

    Parameters
    ----------
    waves : Waves

    Returns
    -------
    site : ndarray of int
        The channel or pixel of each interval.
    iwi_s : ndarray
        Time in s between a site's onsets in consecutive waves that
        recruited it.
    """
    order = np.lexsort((waves.member_onset_s, waves.member_site))
    site, onset_s = waves.member_site[order], waves.member_onset_s[order]
    same = site[1:] == site[:-1]
    return site[1:][same], np.diff(onset_s)[same]


# --------------------------------------------------------------------------- correlation index


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
        Recording duration T in s, > 0.
    window_s : float
        Coincidence window dt in s, > 0.
    progress : bool or None
        Show a progress bar (None: only on a terminal).

    Returns
    -------
    ndarray, shape (n_channels, n_channels)
        Symmetric; nan on the diagonal and for channels without spikes.
    """
    _check_positive("duration_s", duration_s)
    _check_positive("window_s", window_s)
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
        Bins are [k w, (k + 1) w) um, w > 0.

    Returns
    -------
    CIProfile
        Pairs on the same electrode (distance 0, e.g. two sorted units) are
        left out, as are pairs with an undefined CI.
    """
    _check_positive("bin_width_um", bin_width_um)
    positions_um = np.asarray(positions_um, dtype=float)
    a, b = np.triu_indices(len(positions_um), k=1)
    distance_um = np.hypot(*(positions_um[a] - positions_um[b]).T)
    values = ci[a, b]
    keep = np.isfinite(values) & (distance_um > 0)
    return _bin_pairs(distance_um[keep], values[keep], bin_width_um)


# --------------------------------------------------------------------------- virtual electrodes


def electrode_grid(n_rows: int, n_cols: int, pitch_um: float, *, hexagonal: bool = False,
                   origin_um: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
    """Positions of a square or hexagonal electrode array.

    Parameters
    ----------
    n_rows, n_cols : int
        Electrodes per column and per row, >= 1.
    pitch_um : float
        Distance between neighbouring electrodes, um, > 0.
    hexagonal : bool
        Offset every other row by half a pitch and space rows by
        pitch * sqrt(3) / 2, so that each electrode has six neighbours at
        ``pitch_um``.
    origin_um : (float, float)
        Position (x, y) of the first electrode, um.

    Returns
    -------
    ndarray, shape (n_rows * n_cols, 2)
        x, y in um, row by row.
    """
    for name, value in (("n_rows", n_rows), ("n_cols", n_cols)):
        if not (isinstance(value, (int, np.integer)) and value >= 1):
            raise ParameterError(f"{name} must be an integer >= 1, got {value!r}")
    _check_positive("pitch_um", pitch_um)
    row, col = np.divmod(np.arange(n_rows * n_cols), n_cols)
    x = col * pitch_um + (0.5 * pitch_um * (row % 2) if hexagonal else 0.0)
    y = row * pitch_um * (math.sqrt(3) / 2 if hexagonal else 1.0)
    return np.column_stack([x + origin_um[0], y + origin_um[1]])


def virtual_electrodes(movie: Movie, positions_um: np.ndarray, origin_um: tuple[float, float] = (0.0, 0.0), *,
                       rate_hz: float = 20.0, mode: str = "poisson", seed: int = 0,
                       threshold: float | None = None) -> MEARecording:
    """Sample a movie at electrode positions, turning activity into spike trains.

    Each electrode reads the nearest pixel and fires at ``rate_hz`` while
    that pixel is active: as a Poisson process (``mode="poisson"``) or
    regularly with a random phase per electrode (``mode="regular"``). The
    result is deterministic given ``seed``.

    Parameters
    ----------
    movie : Movie
    positions_um : ndarray, shape (n, 2)
        Electrode x, y positions in um (e.g. a recording's ``positions_um``).
    origin_um : (float, float)
        Position (x, y) in um of the centre of pixel (row 0, col 0); x runs
        along columns, y along rows.
    rate_hz : float
        Firing rate of an electrode on an active pixel, Hz, > 0.
    mode : {"poisson", "regular"}
    seed : int
    threshold : float, optional
        Activity threshold as in :class:`AnalysisParams`.

    Returns
    -------
    MEARecording
        ``array_name="virtual"``, the movie's duration, and the sampling
        settings in ``metadata["virtual"]``.

    Raises
    ------
    ParameterError
        If an electrode lies outside the movie or an argument is out of range.
    """
    _check_positive("rate_hz", rate_hz)
    if mode not in ("poisson", "regular"):
        raise ParameterError(f"mode must be 'poisson' or 'regular', got {mode!r}")
    positions_um = np.asarray(positions_um, dtype=float)
    if positions_um.ndim != 2 or positions_um.shape[1] != 2:
        raise ParameterError(f"positions_um must have shape (n, 2), got {positions_um.shape}")
    t_frames, height, width = movie.frames.shape
    scale = movie.um_per_pixel
    col = np.rint((positions_um[:, 0] - origin_um[0]) / scale).astype(np.int64)
    row = np.rint((positions_um[:, 1] - origin_um[1]) / scale).astype(np.int64)
    outside = np.flatnonzero((col < 0) | (col >= width) | (row < 0) | (row >= height))
    if outside.size:
        k = outside[0]
        x_range = (origin_um[0] - scale / 2, origin_um[0] + (width - 0.5) * scale)
        y_range = (origin_um[1] - scale / 2, origin_um[1] + (height - 0.5) * scale)
        raise ParameterError(
            f"positions_um[{k}] = {tuple(positions_um[k])} lies outside the movie "
            f"({outside.size} electrodes do): x must be in [{x_range[0]:g}, {x_range[1]:g}) um "
            f"and y in [{y_range[0]:g}, {y_range[1]:g}) um"
        )
    active = _active(movie, threshold)[:, row, col]  # (T, n)
    frame, electrode = np.nonzero(active)
    period_s = movie.frame_period_s
    rng = np.random.default_rng(seed)
    if mode == "poisson":
        counts = rng.poisson(rate_hz * period_s, size=frame.size)
        times = np.repeat(frame * period_s, counts) + rng.uniform(0, period_s, counts.sum())
    else:
        phase_s = rng.uniform(0, 1 / rate_hz, size=len(positions_um))[electrode]
        # spikes at phase + k / rate inside [frame, frame + 1) periods
        first_k = np.ceil((frame * period_s - phase_s) * rate_hz)
        end_k = np.ceil(((frame + 1) * period_s - phase_s) * rate_hz)
        counts = (end_k - first_k).astype(np.int64)
        k = np.repeat(first_k, counts) + np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
        times = np.repeat(phase_s, counts) + k / rate_hz
    electrode = np.repeat(electrode, counts)
    order = np.lexsort((times, electrode))
    times, electrode = times[order], electrode[order]
    split = np.searchsorted(electrode, np.arange(1, len(positions_um)))
    return MEARecording(
        spike_times_s=tuple(np.split(times, split)),
        positions_um=positions_um,
        array_name="virtual",
        age=None,
        duration_s=t_frames * period_s,
        metadata={"virtual": {"rate_hz": float(rate_hz), "mode": mode, "seed": int(seed),
                              "origin_um": [float(origin_um[0]), float(origin_um[1])],
                              "um_per_pixel": scale, "frame_period_s": period_s}},
        source=None,
    )


# --------------------------------------------------------------------------- summary


def _nan_mean(values: np.ndarray) -> float:
    values = values[np.isfinite(values)]
    return float(values.mean()) if values.size else math.nan


def _nan_median(values: np.ndarray) -> float:
    values = values[np.isfinite(values)]
    return float(np.median(values)) if values.size else math.nan


def _nan_sd(values: np.ndarray) -> float:
    values = values[np.isfinite(values)]
    return float(values.std(ddof=1)) if values.size > 1 else math.nan


@dataclass(frozen=True, eq=False)
class Summary:
    """Summary statistics of one movie or recording (or a pooled set).

    Scalars carry their unit in their name; ``nan`` marks a statistic that
    is undefined (e.g. no waves). Arrays hold the distributions behind them.
    ``to_dict`` gives a JSON-ready dict.
    """

    name: str
    kind: str
    n_sites: int
    duration_s: float
    n_waves: int
    wave_frequency_per_min: float
    mean_iwi_s: float
    median_iwi_s: float
    sd_iwi_s: float
    mean_wave_duration_s: float
    mean_speed_um_per_s: float
    median_speed_um_per_s: float
    n_waves_with_speed: int
    mean_size_fraction: float
    participation_fraction: float
    fraction_bursts_in_waves: float
    direction_bias: float
    ci_closest_distance_um: float
    ci_closest: float
    n_bursts: int
    n_bursts_in_waves: int
    n_sites_participating: int
    iwi_s: np.ndarray = field(repr=False)
    wave_onset_s: np.ndarray = field(repr=False)
    wave_duration_s: np.ndarray = field(repr=False)
    wave_size_fraction: np.ndarray = field(repr=False)
    wave_speed_um_per_s: np.ndarray = field(repr=False)
    wave_direction_rad: np.ndarray = field(repr=False)
    ci_profile: CIProfile = field(repr=False)
    params: dict[str, Any] = field(repr=False, default_factory=dict)

    SCALARS: ClassVar[tuple[str, ...]] = (
        "n_sites", "duration_s", "n_waves", "wave_frequency_per_min", "mean_iwi_s", "median_iwi_s",
        "sd_iwi_s", "mean_wave_duration_s", "mean_speed_um_per_s", "median_speed_um_per_s",
        "n_waves_with_speed", "mean_size_fraction", "participation_fraction",
        "fraction_bursts_in_waves", "direction_bias", "ci_closest_distance_um", "ci_closest",
    )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: scalars, distributions and the CI profile; nan as None."""
        def clean(values: Any) -> Any:
            array = np.asarray(values, dtype=float)
            out = [None if not math.isfinite(v) else v for v in array.ravel().tolist()]
            return out if array.ndim else out[0]

        result: dict[str, Any] = {"name": self.name, "kind": self.kind}
        for name in self.SCALARS:
            value = getattr(self, name)
            result[name] = int(value) if isinstance(value, (int, np.integer)) else clean(value)
        result["waves"] = {
            "onset_s": clean(self.wave_onset_s),
            "duration_s": clean(self.wave_duration_s),
            "size_fraction": clean(self.wave_size_fraction),
            "speed_um_per_s": clean(self.wave_speed_um_per_s),
            "direction_rad": clean(self.wave_direction_rad),
        }
        result["iwi_s"] = clean(self.iwi_s)
        result["ci_vs_distance"] = {
            "distance_um": clean(self.ci_profile.distance_um),
            "mean_ci": clean(self.ci_profile.mean_ci),
            "sd_ci": clean(self.ci_profile.sd_ci),
            "n_pairs": [int(n) for n in self.ci_profile.n_pairs],
        }
        result["params"] = self.params
        return result


def _direction_bias(direction_rad: np.ndarray) -> float:
    direction_rad = direction_rad[np.isfinite(direction_rad)]
    return float(np.abs(np.exp(1j * direction_rad).mean())) if direction_rad.size else math.nan


def _closest_ci(profile: CIProfile) -> tuple[float, float]:
    if profile.distance_um.size == 0:
        return math.nan, math.nan
    return float(profile.distance_um[0]), float(profile.mean_ci[0])


def _make_summary(name: str, kind: str, n_sites: int, duration_s: float, n_bursts: int,
                  n_bursts_in_waves: int, n_participating: int, iwi_s: np.ndarray,
                  onset_s: np.ndarray, wave_duration_s: np.ndarray, size_fraction: np.ndarray,
                  speed: np.ndarray, direction: np.ndarray, profile: CIProfile,
                  params: dict[str, Any]) -> Summary:
    distance_um, ci = _closest_ci(profile)
    return Summary(
        name=name, kind=kind, n_sites=int(n_sites), duration_s=float(duration_s),
        n_waves=int(onset_s.size),
        wave_frequency_per_min=onset_s.size / duration_s * 60.0,
        mean_iwi_s=_nan_mean(iwi_s), median_iwi_s=_nan_median(iwi_s), sd_iwi_s=_nan_sd(iwi_s),
        mean_wave_duration_s=_nan_mean(wave_duration_s),
        mean_speed_um_per_s=_nan_mean(speed), median_speed_um_per_s=_nan_median(speed),
        n_waves_with_speed=int(np.count_nonzero(np.isfinite(speed))),
        mean_size_fraction=_nan_mean(size_fraction),
        participation_fraction=n_participating / n_sites if n_sites else math.nan,
        fraction_bursts_in_waves=n_bursts_in_waves / n_bursts if n_bursts else math.nan,
        direction_bias=_direction_bias(direction),
        ci_closest_distance_um=distance_um, ci_closest=ci,
        n_bursts=int(n_bursts), n_bursts_in_waves=int(n_bursts_in_waves),
        n_sites_participating=int(n_participating),
        iwi_s=iwi_s, wave_onset_s=onset_s, wave_duration_s=wave_duration_s,
        wave_size_fraction=size_fraction, wave_speed_um_per_s=speed,
        wave_direction_rad=direction, ci_profile=profile, params=params,
    )


def _ci_grid(movie: Movie, params: AnalysisParams) -> np.ndarray:
    """A centred square grid of up to 8 x 8 virtual electrodes inside the movie."""
    _, height, width = movie.frames.shape
    pitch_um = max(params.ci_grid_pitch_um, movie.um_per_pixel)
    n_cols = min(8, int((width - 1) * movie.um_per_pixel // pitch_um) + 1)
    n_rows = min(8, int((height - 1) * movie.um_per_pixel // pitch_um) + 1)
    centre = np.array([(width - 1) / 2, (height - 1) / 2]) * movie.um_per_pixel
    extent = np.array([n_cols - 1, n_rows - 1]) * pitch_um
    return electrode_grid(n_rows, n_cols, pitch_um, origin_um=tuple(centre - extent / 2))


def summarize(data: MEARecording | Movie, params: AnalysisParams | None = None, *,
              name: str | None = None, progress: bool | None = False) -> Summary:
    """Detect waves and compute the summary statistics of a recording or movie.

    Parameters
    ----------
    data : MEARecording or Movie
        For a movie, the correlation index is computed on a centred grid of
        up to 8 x 8 virtual electrodes (``ci_grid_pitch_um`` apart, Poisson
        spikes at ``virtual_rate_hz``, seed ``seed``).
    params : AnalysisParams, optional
    name : str, optional
        Label for tables and plots; default the file stem or ``"movie"``.
    progress : bool or None
        Show progress bars (None: only on a terminal).

    Returns
    -------
    Summary
        With ``wave_frequency_per_min``, ``mean_iwi_s``, ``mean_speed_um_per_s``,
        ``mean_size_fraction``, ``participation_fraction``, ``direction_bias``,
        ``ci_closest`` (the CI of the nearest distance bin) and more.
    """
    params = params or AnalysisParams()
    steps = tqdm(total=3, desc=name or "summary", disable=_no_bar(progress),
                 leave=False)
    if isinstance(data, Movie):
        kind, label = "movie", name or "movie"
        waves = detect_movie_waves(data, params)
        site_group = np.arange(data.frames.shape[1] * data.frames.shape[2])
        steps.update()
        spikes = virtual_electrodes(data, _ci_grid(data, params), rate_hz=params.virtual_rate_hz,
                                    seed=params.seed, threshold=params.activity_threshold)
    elif isinstance(data, MEARecording):
        kind, label = "mea", name or data.name
        waves = detect_mea_waves(data, params)
        site_group, _ = _electrodes(data.positions_um)
        steps.update()
        spikes = data
    else:
        raise ParameterError(f"data must be an MEARecording or a Movie, got {type(data).__name__}")
    _, iwi_s = inter_wave_intervals(waves)
    steps.update()
    ci = correlation_index(spikes.spike_times_s, spikes.duration_s, params.ci_window_s, progress=progress)
    profile = ci_by_distance(ci, spikes.positions_um, params.ci_bin_width_um)
    steps.update()
    steps.close()
    return _make_summary(
        label, kind, waves.n_site_groups, waves.recording_duration_s, waves.n_bursts,
        waves.n_bursts_in_waves, waves.participating_groups(site_group), iwi_s, waves.onset_s,
        waves.duration_s, waves.size_fraction, waves.speed_um_per_s, waves.direction_rad, profile,
        asdict(params),
    )


def combine_summaries(summaries: Sequence[Summary], name: str) -> Summary:
    """Pool several summaries (e.g. the movies of one store) into one.

    Counts and durations add up; distributions (intervals, waves, CI pairs)
    are concatenated and the statistics recomputed from them.

    Parameters
    ----------
    summaries : sequence of Summary
        At least one, all of one kind.
    name : str
        Label of the pooled summary.

    Returns
    -------
    Summary
    """
    if not summaries:
        raise ParameterError("summaries must hold at least one Summary, got none")
    kinds = {s.kind for s in summaries}
    if len(kinds) > 1:
        raise ParameterError(f"summaries must all be of one kind, got {sorted(kinds)}")

    def cat(attr: str) -> np.ndarray:
        return np.concatenate([getattr(s, attr) for s in summaries])

    width = summaries[0].params.get("ci_bin_width_um", AnalysisParams.ci_bin_width_um)
    profile = _bin_pairs(np.concatenate([s.ci_profile.pair_distance_um for s in summaries]),
                         np.concatenate([s.ci_profile.pair_ci for s in summaries]), width)
    return _make_summary(
        name, summaries[0].kind, sum(s.n_sites for s in summaries), sum(s.duration_s for s in summaries),
        sum(s.n_bursts for s in summaries), sum(s.n_bursts_in_waves for s in summaries),
        sum(s.n_sites_participating for s in summaries), cat("iwi_s"), cat("wave_onset_s"),
        cat("wave_duration_s"), cat("wave_size_fraction"), cat("wave_speed_um_per_s"),
        cat("wave_direction_rad"), profile, summaries[0].params,
    )
