"""Statistics of movies that hold one wave each (the directional model's wave mode, as in May et al. 2025).

Each movie's wave is measured directly, without event detection: its length
(frames until nothing is lit), the fraction of the grid it reached, and a
plane fit of each reached pixel's first lit frame against its position,
which gives the speed (pixels per frame; the inverse of the time gradient's
length) and the direction of propagation. The direction bias of a set of
waves is ``B_wave``, the mean resultant length of their directions (Teh et
al. 2023, their eq. 26): 0 when directions cancel, 1 when all agree.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from numba import njit

from ..errors import ParameterError


@dataclasses.dataclass(frozen=True)
class SingleWaveStats:
    """Per-wave measurements of a batch of single-wave movies (one entry per movie).

    Attributes
    ----------
    length_frames : (M,) int
        Frames until the first frame with nothing lit (the movie's length if it never goes dark).
    ended : (M,) bool
        Whether the wave ended within the movie.
    area_fraction : (M,) float
        Fraction of the pixels lit at least once.
    speed_px_per_frame : (M,) float
        1 / |grad t| of the plane fit of first-lit frame against pixel position; NaN for waves under 3 pixels
        or with a flat fit.
    direction_rad : (M,) float
        Direction of propagation (the time gradient's), ``atan2(dy, dx)`` with y pointing down the rows.
    """

    length_frames: np.ndarray
    ended: np.ndarray
    area_fraction: np.ndarray
    speed_px_per_frame: np.ndarray
    direction_rad: np.ndarray

    @property
    def direction_bias(self) -> float:
        """B_wave: the mean resultant length of the wave directions (NaN directions left out)."""
        return direction_bias(self.direction_rad)

    def summary(self) -> dict[str, float]:
        """Mean and sd of each measurement, B_wave and the counts, as plain floats."""
        out: dict[str, float] = {"waves": int(self.length_frames.size), "ended": int(self.ended.sum())}
        for name in ("length_frames", "area_fraction", "speed_px_per_frame"):
            v = np.asarray(getattr(self, name), dtype=float)
            v = v[np.isfinite(v)]
            out[f"{name}_mean"] = float(v.mean()) if v.size else math.nan
            out[f"{name}_sd"] = float(v.std(ddof=1)) if v.size > 1 else math.nan
        out["direction_bias"] = self.direction_bias
        return out


def direction_bias(direction_rad) -> float:
    """Mean resultant length of a set of directions (radians); NaN entries are left out."""
    d = np.asarray(direction_rad, dtype=float)
    d = d[np.isfinite(d)]
    return float(np.abs(np.exp(1j * d).mean())) if d.size else math.nan


@njit(cache=True)
def _first_lit(movies):
    """Per movie: each pixel's first lit frame (-1: never) and the first frame with nothing lit (T: none)."""
    M, T, P = movies.shape
    first = np.full((M, P), -1, np.int64)
    length = np.full(M, T, np.int64)
    for m in range(M):
        for t in range(T):
            any_lit = False
            for p in range(P):
                if movies[m, t, p] != 0:
                    any_lit = True
                    if first[m, p] < 0:
                        first[m, p] = t
            if not any_lit and length[m] == T:
                length[m] = t
    return first, length


def single_wave_stats(movies: np.ndarray) -> SingleWaveStats:
    """Measure the wave of each movie of ``movies`` (M, T, H, W), binary (any nonzero value is lit).

    Raises
    ------
    ParameterError
        If ``movies`` is not 4-D.
    """
    movies = np.asarray(movies)
    if movies.ndim != 4:
        raise ParameterError(f"movies must be (movie, time, y, x), got an array of shape {movies.shape}.")
    M, T, H, W = movies.shape
    first, length = _first_lit(np.ascontiguousarray(movies).reshape(M, T, H * W))
    ended = length < T
    reached = first >= 0
    yy, xx = np.mgrid[0:H, 0:W]
    design_all = np.column_stack([np.ones(H * W), xx.ravel(), yy.ravel()])
    speed = np.full(M, np.nan)
    direction = np.full(M, np.nan)
    for m in range(M):
        sel = first[m] >= 0
        if sel.sum() < 3:
            continue
        coef, *_ = np.linalg.lstsq(design_all[sel], first[m, sel].astype(float), rcond=None)
        gx, gy = coef[1], coef[2]
        slowness = math.hypot(gx, gy)
        if slowness > 1e-12:
            speed[m] = 1.0 / slowness
            direction[m] = math.atan2(gy, gx)
    return SingleWaveStats(
        length_frames=length.astype(np.int64),
        ended=ended,
        area_fraction=reached.mean(axis=1),
        speed_px_per_frame=speed,
        direction_rad=direction,
    )
