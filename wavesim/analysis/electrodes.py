"""Electrode arrays, and virtual electrodes that turn a movie into spike trains.

Movies are compared with MEA recordings by sampling them at electrode
positions: the correlation index of a movie comes from such virtual spike
trains.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from wavesim.analysis.bursts import _active, _active_runs, _flatten_trains, detect_spike_bursts
from wavesim.analysis.params import AnalysisParams
from wavesim.analysis.params import check_argument
from wavesim.analysis.synchrony import SharedSynchrony, synchronous_bursts
from wavesim.errors import ParameterError
from wavesim.io.recordings import MEARecording, Movie

__all__ = ["BurstElectrodes", "centred_grid_um", "electrode_grid", "electrode_spikes", "estimate_burst_electrodes",
           "grid_virtual_electrodes", "virtual_electrodes"]

#: Spike-generation modes of virtual electrodes.
ELECTRODE_MODES = ("poisson", "regular", "burst", "synchronous")


def electrode_grid(n_rows: int, n_cols: int, pitch_um: float, *, hexagonal: bool = False,
                   origin_um: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
    """Positions of a square or hexagonal electrode array.

    Parameters
    ----------
    n_rows, n_cols : int
        Electrodes per column and per row, 1 to 1e6.
    pitch_um : float
        Distance between neighbouring electrodes, um (range of
        :attr:`AnalysisParams.ci_grid_pitch_um`).
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

    Raises
    ------
    ParameterError
        If an argument is out of range.
    """
    n_rows = check_argument("electrode_grid", "n_rows", n_rows, "count")
    n_cols = check_argument("electrode_grid", "n_cols", n_cols, "count")
    check_argument("electrode_grid", "pitch_um", pitch_um, "ci_grid_pitch_um")
    row, col = np.divmod(np.arange(n_rows * n_cols), n_cols)
    x = col * pitch_um + (0.5 * pitch_um * (row % 2) if hexagonal else 0.0)
    y = row * pitch_um * (math.sqrt(3) / 2 if hexagonal else 1.0)
    return np.column_stack([x + origin_um[0], y + origin_um[1]])


def virtual_electrodes(movie: Movie, positions_um: np.ndarray, origin_um: tuple[float, float] = (0.0, 0.0), *,
                       rate_hz: float = 20.0, mode: str = "poisson", seed: int = 0,
                       threshold: float | None = None, burst_decay_s: float | None = None,
                       synchrony: SharedSynchrony | None = None) -> MEARecording:
    """Sample a movie at electrode positions, turning activity into spike trains.

    Each electrode reads the nearest pixel and fires while that pixel is
    active, as :func:`electrode_spikes` describes for each ``mode``. The
    result is deterministic given ``seed``.

    Parameters
    ----------
    movie : Movie
    positions_um : ndarray, shape (n, 2)
        Electrode x, y positions in um (e.g. a recording's ``positions_um``).
    origin_um : (float, float)
        Position (x, y) in um of the centre of pixel (row 0, col 0); x runs
        along columns, y along rows.
    rate_hz, mode, seed, burst_decay_s, synchrony
        As for :func:`electrode_spikes`.
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
    trains = electrode_spikes(_active(movie, threshold)[:, row, col], movie.frame_period_s, positions_um,
                              rate_hz=rate_hz, mode=mode, seed=seed, burst_decay_s=burst_decay_s,
                              synchrony=synchrony)
    settings = {"rate_hz": float(rate_hz), "mode": mode, "seed": int(seed)}
    if mode in ("burst", "synchronous"):
        settings["burst_decay_s"] = float(burst_decay_s)
    if mode == "synchronous":
        settings["synchrony"] = dataclasses.asdict(synchrony)
    return MEARecording(
        spike_times_s=trains,
        positions_um=positions_um,
        array_name="virtual",
        age=None,
        duration_s=t_frames * movie.frame_period_s,
        metadata={"virtual": {**settings, "origin_um": [float(origin_um[0]), float(origin_um[1])],
                              "um_per_pixel": scale, "frame_period_s": movie.frame_period_s}},
        source=None,
    )


def electrode_spikes(active: np.ndarray, frame_period_s: float, positions_um: np.ndarray, *, rate_hz: float = 20.0,
                     mode: str = "poisson", seed: int = 0, burst_decay_s: float | None = None,
                     synchrony: SharedSynchrony | None = None) -> tuple[np.ndarray, ...]:
    """Spike trains of electrodes from whether each one's pixel is active in each frame.

    An electrode fires while its pixel is active: at ``rate_hz`` as a
    Poisson process (``mode="poisson"``); regularly with a random phase per
    electrode (``mode="regular"``); as a ganglion cell's burst at the
    arrival of a wave (``mode="burst"``), a Poisson process whose rate
    starts at ``rate_hz`` when the pixel turns active and decays as
    ``exp(-t / burst_decay_s)`` until it turns off; or as such a burst whose
    rate is also multiplied by a gain shared with the other active
    electrodes nearby (``mode="synchronous"``, :class:`SharedSynchrony`), so
    that electrodes active in the same wave fire with shared fine timing.

    Parameters
    ----------
    active : ndarray of bool, shape (T, n)
        Whether electrode ``e``'s pixel is active in frame ``t``.
    frame_period_s : float (s)
    positions_um : ndarray, shape (n, 2)
        Electrode positions (um): the shared gain's correlation falls with their distance.
    rate_hz : float (1/s)
        Firing rate on an active pixel, or at a burst's start (range of
        :attr:`AnalysisParams.virtual_rate_hz`).
    mode : {"poisson", "regular", "burst", "synchronous"}
    seed : int
    burst_decay_s : float (s), optional
        Decay time of the burst rate; needed for ``"burst"`` and
        ``"synchronous"`` (e.g. from :func:`estimate_burst_electrodes`).
    synchrony : SharedSynchrony, optional
        Needed for ``"synchronous"`` (e.g. from
        :func:`~wavesim.analysis.synchrony.estimate_shared_synchrony`).

    Returns
    -------
    tuple of ndarray
        Sorted spike times (s) of each electrode.

    Raises
    ------
    ParameterError
        If an argument is out of range or one that ``mode`` needs is missing.
    """
    check_argument("electrode_spikes", "rate_hz", rate_hz, "virtual_rate_hz")
    if mode not in ELECTRODE_MODES:
        raise ParameterError(f"mode must be one of {ELECTRODE_MODES}, got {mode!r}")
    if mode in ("burst", "synchronous"):
        if burst_decay_s is None:
            raise ParameterError(f"mode {mode!r} needs burst_decay_s (s), e.g. from "
                                 f"estimate_burst_electrodes(recording).")
        check_argument("electrode_spikes", "burst_decay_s", burst_decay_s, "burst_decay_s")
    if mode == "synchronous" and synchrony is None:
        raise ParameterError("mode 'synchronous' needs synchrony (a SharedSynchrony), e.g. from "
                             "estimate_shared_synchrony(recording.spike_times_s, recording.positions_um, ...).")
    n = active.shape[1]
    period_s = frame_period_s
    rng = np.random.default_rng(seed)
    if mode == "poisson":
        frame, electrode = np.nonzero(active)
        counts = rng.poisson(rate_hz * period_s, size=frame.size)
        times = np.repeat(frame * period_s, counts) + rng.uniform(0, period_s, counts.sum())
    elif mode == "burst":
        # one burst per run of active frames: rate r exp(-t / tau) over the run's duration D
        # holds r tau (1 - exp(-D / tau)) spikes on average, drawn by inverting the truncated exponential
        electrode, start, end = _active_runs(active)
        kept = 1.0 - np.exp(-(end - start) * period_s / burst_decay_s)
        counts = rng.poisson(rate_hz * burst_decay_s * kept)
        u = rng.uniform(0.0, 1.0, counts.sum())
        times = np.repeat(start * period_s, counts) - burst_decay_s * np.log1p(-u * np.repeat(kept, counts))
    elif mode == "synchronous":
        electrode, start, end = _active_runs(active)
        electrode, counts, times = synchronous_bursts(electrode, start * period_s, end * period_s, positions_um,
                                                      rate_hz, burst_decay_s, synchrony, rng)
    else:
        frame, electrode = np.nonzero(active)
        phase_s = rng.uniform(0, 1 / rate_hz, size=n)[electrode]
        # spikes at phase + k / rate inside [frame, frame + 1) periods
        first_k = np.ceil((frame * period_s - phase_s) * rate_hz)
        end_k = np.ceil(((frame + 1) * period_s - phase_s) * rate_hz)
        counts = (end_k - first_k).astype(np.int64)
        k = np.repeat(first_k, counts) + np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
        times = np.repeat(phase_s, counts) + k / rate_hz
    electrode = np.repeat(electrode, counts)
    order = np.lexsort((times, electrode))
    times, electrode = times[order], electrode[order]
    return tuple(np.split(times, np.searchsorted(electrode, np.arange(1, n))))


@dataclasses.dataclass(frozen=True)
class BurstElectrodes:
    """The burst electrode model of a recording (:func:`estimate_burst_electrodes`).

    Attributes
    ----------
    rate_hz : float (1/s)
        Rate at a burst's start.
    decay_s : float (s)
        Decay time of the rate within a burst.
    n_bursts, n_spikes : int
        The bursts and the spikes in their windows that the estimate rests on.
    """

    rate_hz: float
    decay_s: float
    n_bursts: int
    n_spikes: int


def estimate_burst_electrodes(spike_times_s, params: AnalysisParams | None = None) -> BurstElectrodes:
    """The peak rate and decay time of a recording's bursts, for virtual electrodes in ``mode="burst"``.

    Bursts are detected as by :func:`~wavesim.analysis.detect_spike_bursts`
    and each is looked at from its first spike over T = the shorter of its
    duration (first to last spike) and the median burst duration, so that
    two waves' bursts merged into one count as one. Given the first spike
    (and the last, where it ends the window), the spikes inside the window
    of a Poisson process with rate r exp(-t / tau) are independent draws
    from that exponential truncated at T, whatever decided where the burst
    was cut; the decay time is their maximum-likelihood estimate over all
    bursts. The peak rate makes the model's expected spike count,
    r tau (1 - exp(-T / tau)) summed over the bursts, equal the spikes in
    their windows. Where the spikes do not thin out (no finite maximum), the
    decay time is the largest allowed, a nearly constant rate.

    Parameters
    ----------
    spike_times_s : sequence of array_like
        One array of spike times (s) per channel, e.g. ``recording.spike_times_s``.
    params : AnalysisParams, optional
        Burst detection settings.

    Returns
    -------
    BurstElectrodes

    Raises
    ------
    ParameterError
        If the recording holds no burst with three spikes or more.
    """
    from scipy.optimize import brentq

    from wavesim.analysis.params import spec_range

    bursts = detect_spike_bursts(spike_times_s, params)
    times, channel = _flatten_trains(spike_times_s)
    span = (times.max() - min(times.min(), 0.0) + 1.0) if times.size else 1.0
    key = channel * span + times  # sorted: by channel, then time
    first = np.searchsorted(key, bursts.site * span + bursts.onset_s, "left")
    stop = np.searchsorted(key, bursts.site * span + bursts.end_s, "right")
    n = stop - first
    keep = n >= 3
    if not keep.any():
        raise ParameterError("the recording holds no burst of three spikes or more to estimate a burst model from.")
    first, n = first[keep], n[keep]
    window_s = np.minimum(times[first + n - 1] - times[first], np.median(times[first + n - 1] - times[first]))
    later = np.repeat(first, n - 1) + np.arange((n - 1).sum()) - np.repeat(np.cumsum(n - 1) - (n - 1), n - 1) + 1
    since_first_s = times[later] - np.repeat(times[first], n - 1)
    per_spike_window_s = np.repeat(window_s, n - 1)
    inside = since_first_s < per_spike_window_s  # leaves out a last spike that ends its window
    since_first_s, per_spike_window_s = since_first_s[inside], per_spike_window_s[inside]
    if since_first_s.size == 0:
        raise ParameterError("the recording's bursts hold no spikes between their first and last to estimate a "
                             "burst model from.")
    # spikes in the windows: the first, those inside, and the last where it ends its window
    n_in_windows = first.size + since_first_s.size + int(np.sum(window_s == times[first + n - 1] - times[first]))
    low, high = spec_range("burst_decay_s")

    def score(tau):  # derivative of the log-likelihood, times tau^2 / n: zero at the estimate
        with np.errstate(over="ignore"):  # T / expm1(T / tau) -> 0 as tau -> 0
            return since_first_s.mean() - tau + np.mean(per_spike_window_s / np.expm1(per_spike_window_s / tau))

    decay_s = high if score(high) >= 0 else (low if score(low) <= 0 else brentq(score, low, high, xtol=1e-6))
    expected = decay_s * -np.expm1(-window_s / decay_s)
    rate_hz = float(n_in_windows / expected.sum())
    return BurstElectrodes(rate_hz=rate_hz, decay_s=float(decay_s), n_bursts=int(first.size), n_spikes=n_in_windows)


def centred_grid_um(frame_shape_px: tuple[int, int], um_per_pixel: float, n_rows: int, n_cols: int,
                    pitch_um: float) -> np.ndarray:
    """A square electrode grid centred on a movie's frame, in the frame's pixel-centre coordinates.

    Parameters
    ----------
    frame_shape_px : (int, int)
        Frame height and width, pixels.
    um_per_pixel : float (um)
    n_rows, n_cols : int
        Electrodes per column and per row (as :func:`electrode_grid`).
    pitch_um : float (um)
        Distance between neighbouring electrodes.

    Returns
    -------
    ndarray, shape (n_rows * n_cols, 2)
        x, y in um, with pixel (i, j) centred at ((j + 0.5), (i + 0.5)) x
        um_per_pixel, as a store's ``x`` and ``y`` coordinates; row by row.

    Raises
    ------
    ParameterError
        If an argument is out of range, or the grid reaches beyond the
        outermost pixel centres.
    """
    positions_um = electrode_grid(n_rows, n_cols, pitch_um)
    height_px, width_px = frame_shape_px
    grid_um = np.array([n_cols - 1, n_rows - 1]) * pitch_um
    frame_um = (np.array([width_px, height_px]) - 1) * um_per_pixel
    if np.any(grid_um > frame_um + 1e-9 * um_per_pixel):
        raise ParameterError(
            f"a grid of {n_rows} rows x {n_cols} columns of electrodes {pitch_um:g} um apart spans {grid_um[0]:g} um "
            f"in x and {grid_um[1]:g} um in y, more than the movie's pixel centres ({frame_um[0]:g} um in x, "
            f"{frame_um[1]:g} um in y): use fewer rows or columns, or a smaller pitch"
        )
    centre_um = np.array([width_px, height_px]) * um_per_pixel / 2
    return positions_um + (centre_um - grid_um / 2)


def grid_virtual_electrodes(movie: Movie, n_rows: int = 8, n_cols: int = 8, pitch_um: float = 100.0, *,
                            rate_hz: float = 20.0, seed: int = 0, threshold: float | None = None) -> MEARecording:
    """Virtual spike trains of a square electrode grid centred on a movie.

    :func:`virtual_electrodes` at the positions of :func:`centred_grid_um`:
    each electrode reads its nearest pixel and fires Poisson spikes at
    ``rate_hz`` while that pixel is active. Write the result with
    :func:`wavesim.io.write_recording` to give it to other tools.

    Parameters
    ----------
    movie : Movie
    n_rows, n_cols : int
    pitch_um : float (um)
    rate_hz : float (1/s)
    seed : int
    threshold : float, optional
        Activity threshold as in :class:`AnalysisParams`.

    Returns
    -------
    MEARecording
        Positions in the movie's pixel-centre coordinates (um);
        ``array_name`` ``virtual_{n_rows}x{n_cols}_{pitch}um``.

    Raises
    ------
    ParameterError
        As :func:`centred_grid_um` and :func:`virtual_electrodes`.

    Examples
    --------
    >>> frames = np.zeros((40, 20, 20), np.uint8); frames[10:20] = 1
    >>> recording = grid_virtual_electrodes(Movie(frames, 50.0, 0.5), 4, 4, 200.0, seed=1)
    >>> recording.n_channels, recording.duration_s
    (16, 20.0)
    """
    positions_um = centred_grid_um(movie.frames.shape[1:], movie.um_per_pixel, n_rows, n_cols, pitch_um)
    half_pixel_um = movie.um_per_pixel / 2
    recording = virtual_electrodes(movie, positions_um, (half_pixel_um, half_pixel_um), rate_hz=rate_hz,
                                   seed=seed, threshold=threshold)
    return dataclasses.replace(recording, array_name=f"virtual_{n_rows}x{n_cols}_{pitch_um:g}um")
