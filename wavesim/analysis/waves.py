"""Waves: detection in movies and MEA recordings, frame labels and inter-wave intervals.

Movies: space-time connected components (``scipy.ndimage.label`` with the
full 3x3x3 neighbourhood: a pixel active in frame t joins any of its 8
neighbours, or itself, active in frame t-1, t or t+1).
MEA: single-linkage clustering of bursts in space and time: two bursts
belong to one wave when their electrodes lie within ``neighbour_radius_um``
and their onsets within ``max_onset_lag_s``.
In both, an event must recruit at least ``min_size_fraction`` of the sites
(pixels or electrodes), and at least 3, to count as a wave. Speeds,
directions and initiation points come from :mod:`wavesim.analysis.fronts`:
both speed estimators are kept for every wave, and ``speed_um_per_s`` is
the one ``AnalysisParams.speed_method`` names (local by default).
Inter-wave intervals (IWI) are, per site, the intervals between the onsets
of consecutive waves that recruited it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from wavesim.analysis.bursts import Bursts, _active, _window_pairs, detect_pixel_bursts, detect_spike_bursts
from wavesim.analysis.fronts import _fit_front, local_wave_speed
from wavesim.analysis.params import AnalysisParams
from wavesim.io.recordings import MEARecording, Movie, median_pitch_um

__all__ = ["Waves", "detect_mea_waves", "detect_movie_waves", "frame_wave_labels", "inter_wave_intervals"]

_MIN_WAVE_SITES = 3  # a plane fit needs three sites
_RADIUS_PER_PITCH = 2.5
# movies: the local fits' default radius, in pixels and at least in um (synthetic fronts of
# 100-800 um/s at 20-50 um and 0.1-0.5 s per frame are measured within 2% from 150 um on)
_LOCAL_RADIUS_PIXELS = 4
_LOCAL_RADIUS_MIN_UM = 150.0


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
        Wave speed by ``AnalysisParams.speed_method``: ``local_speed_um_per_s``
        (default) or ``front_speed_um_per_s``; um/s, nan where undefined.
    local_speed_um_per_s : ndarray
        Median over the wave's sites of the local speeds
        (:func:`~wavesim.analysis.fronts.local_wave_speed`), um/s.
    front_speed_um_per_s : ndarray
        Speed of the whole-wave front fit, um/s.
    local_speed_radius_um : float
        Radius of the local plane fits, um.
    fit_r2 : ndarray
        Adjusted R^2 of the whole-wave front model that gave
        ``front_speed_um_per_s`` (nan where neither model can be judged:
        3 sites, or 4 sites for the circle).
    front : ndarray of str
        ``"plane"`` or ``"radial"``: the whole-wave front model with the
        larger adjusted R^2.
    direction_rad : ndarray
        Direction of propagation from the plane fit, radians
        counter-clockwise from +x (+y is down for movies: row order).
    initiation_um : ndarray, shape (n_waves, 2)
        Initiation point (x, y) in um.
    centroid_um : ndarray, shape (n_waves, 2)
        Mean position (x, y) of the wave's recruited sites (pixels or
        channels), um.
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
    local_speed_um_per_s: np.ndarray
    front_speed_um_per_s: np.ndarray
    local_speed_radius_um: float
    fit_r2: np.ndarray
    front: np.ndarray
    direction_rad: np.ndarray
    initiation_um: np.ndarray
    centroid_um: np.ndarray
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

    def waves_per_group(self, site_group: np.ndarray, n_groups: int) -> np.ndarray:
        """Number of waves that recruit each pixel or electrode.

        Parameters
        ----------
        site_group : ndarray of int
            The group (pixel or electrode) of each site; channels on one
            electrode share a group.
        n_groups : int
            Number of groups.

        Returns
        -------
        ndarray of int64, shape (n_groups,)
            A group recruited twice in one wave (two channels) counts once.
        """
        keys = np.unique(self.member_wave.astype(np.int64) * n_groups + site_group[self.member_site])
        return np.bincount(keys % n_groups, minlength=n_groups).astype(np.int64)


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
    local_radius_um: float,
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

    front_speed = np.full(n_waves, np.nan)
    local_speed = np.full(n_waves, np.nan)
    r2 = np.full(n_waves, np.nan)
    front = np.full(n_waves, "", dtype=object)
    direction = np.full(n_waves, np.nan)
    initiation = np.full((n_waves, 2), np.nan)
    member_positions_um = site_positions_um[member_site]
    centroid = np.stack([np.bincount(member_wave, weights=member_positions_um[:, k], minlength=n_waves)
                         for k in range(2)], axis=1) / np.maximum(np.diff(starts), 1)[:, None]
    for w in range(n_waves):
        rows = slice(starts[w], starts[w + 1])
        positions_um = site_positions_um[member_site[rows]]
        front_speed[w], r2[w], front[w], direction[w], initiation[w] = _fit_front(
            positions_um, member_onset_s[rows], params
        )
        local_speed[w] = local_wave_speed(positions_um, member_onset_s[rows], local_radius_um)
    return Waves(
        onset_s=onset_s,
        duration_s=duration_s,
        n_sites=n_sites,
        size_fraction=n_sites / n_site_groups,
        area_um2=n_sites * group_area_um2,
        speed_um_per_s=local_speed if params.speed_method == "local" else front_speed,
        local_speed_um_per_s=local_speed,
        front_speed_um_per_s=front_speed,
        local_speed_radius_um=float(local_radius_um),
        fit_r2=r2,
        front=front.astype(str),
        direction_rad=direction,
        initiation_um=initiation,
        centroid_um=centroid.reshape(n_waves, 2),
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



def _electrodes(positions_um: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Electrode index of each channel (channels sharing a position share one), and the electrodes' positions."""
    unique, inverse = np.unique(positions_um, axis=0, return_inverse=True)
    return inverse.ravel(), unique


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
    electrode, electrode_positions_um = _electrodes(positions_um)
    n_electrodes = len(electrode_positions_um)
    pitch_um = median_pitch_um(positions_um)
    radius_um = params.neighbour_radius_um or _RADIUS_PER_PITCH * pitch_um
    local_radius_um = params.local_speed_radius_um or _RADIUS_PER_PITCH * pitch_um
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
        len(bursts), int(np.count_nonzero(is_wave[cluster])), params, local_radius_um,
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
        params.local_speed_radius_um or max(_LOCAL_RADIUS_PIXELS * movie.um_per_pixel, _LOCAL_RADIUS_MIN_UM),
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
