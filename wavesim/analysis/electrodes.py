"""Electrode arrays, and virtual electrodes that turn a movie into spike trains.

Movies are compared with MEA recordings by sampling them at electrode
positions: the correlation index of a movie comes from such virtual spike
trains.
"""

from __future__ import annotations

import math

import numpy as np

from wavesim.analysis.bursts import _active
from wavesim.analysis.params import check_argument
from wavesim.errors import ParameterError
from wavesim.io.recordings import MEARecording, Movie

__all__ = ["electrode_grid", "virtual_electrodes"]


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

