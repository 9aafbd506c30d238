"""Electrode arrays, and virtual electrodes that turn a movie into spike trains.

Movies are compared with MEA recordings by sampling them at electrode
positions: the correlation index of a movie comes from such virtual spike
trains.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from wavesim.analysis.bursts import _active
from wavesim.analysis.params import check_argument
from wavesim.errors import ParameterError
from wavesim.io.recordings import MEARecording, Movie

__all__ = ["centred_grid_um", "electrode_grid", "grid_virtual_electrodes", "virtual_electrodes"]


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
        Firing rate of an electrode on an active pixel, 1/s (range of
        :attr:`AnalysisParams.virtual_rate_hz`).
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
    check_argument("virtual_electrodes", "rate_hz", rate_hz, "virtual_rate_hz")
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
