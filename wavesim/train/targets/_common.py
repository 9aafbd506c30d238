"""Helpers shared by the target movies: argument checks, grayscale conversion, area resizing."""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from ...errors import ParameterError
from ...validate import is_bool


# Rec. 709 luminance, the weights of skimage.color.rgb2gray.
_LUMA = np.array([0.2125, 0.7154, 0.0721])


def _int_at_least(name: str, value: Any, low: int) -> int:
    """``value`` as an int >= ``low`` (a Python or NumPy integer, not a bool: :func:`wavesim.validate.check_int`)."""
    if is_bool(value) or not isinstance(value, numbers.Integral) or value < low:
        raise ParameterError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


def _float_in(name: str, value: Any, low: float, high: float = math.inf, *, low_open: bool = True,
              high_open: bool = True) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ParameterError(f"{name} must be a number, got {value!r}") from None
    too_low = x <= low if low_open else x < low
    too_high = x >= high if high_open else x > high
    if not math.isfinite(x) or too_low or too_high:
        interval = f"{'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
        raise ParameterError(f"{name} must be in {interval}, got {value!r}")
    return x


def _range_in(name: str, value: Any, low: float) -> tuple[float, float]:
    try:
        a, b = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ParameterError(f"{name} must be a (low, high) pair, got {value!r}") from None
    if not (math.isfinite(a) and math.isfinite(b) and low < a <= b):
        raise ParameterError(f"{name} must be a (low, high) pair with {low} < low <= high, got {value!r}")
    return a, b


def _unit_gray(frames: np.ndarray, what: str, colour: bool) -> np.ndarray:
    """Grayscale float64 in [0, 1] from (..., H, W), or (..., H, W, 3|4) if ``colour``, of any real dtype.

    Unsigned integers are divided by their dtype's maximum and booleans map to
    0 and 1; signed integers and floats are kept when already within [0, 1]
    and otherwise rescaled from their min-max over the whole array (a
    constant array becomes 0).
    """
    frames = np.asarray(frames)
    if frames.dtype == bool:
        frames = frames.astype(np.float64)
    elif np.issubdtype(frames.dtype, np.unsignedinteger):
        frames = frames / np.iinfo(frames.dtype).max
    elif np.issubdtype(frames.dtype, np.integer) or np.issubdtype(frames.dtype, np.floating):
        frames = frames.astype(np.float64)
        if not np.isfinite(frames).all():
            raise ParameterError(f"{what} has NaN or infinite values")
        low, high = (frames.min(), frames.max()) if frames.size else (0.0, 1.0)
        if low < 0 or high > 1:
            frames = (frames - low) / (high - low) if high > low else np.zeros_like(frames)
    else:
        raise ParameterError(f"{what} must be of a real numeric dtype, got {frames.dtype}")
    if colour:
        frames = frames[..., :3] @ _LUMA  # alpha ignored
    return frames


def _area_weights(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, n_in) box-filter weights: each output pixel averages the input it overlaps."""
    edges = np.arange(n_out + 1) * (n_in / n_out)
    lo, hi = edges[:-1, None], edges[1:, None]
    i = np.arange(n_in)[None, :]
    overlap = np.clip(np.minimum(hi, i + 1) - np.maximum(lo, i), 0.0, None)
    return overlap / overlap.sum(axis=1, keepdims=True)


def _area_resize(frames: np.ndarray, height: int, width: int) -> np.ndarray:
    """Resize the last two axes by area averaging (exact box filter, any ratio)."""
    rows = _area_weights(frames.shape[-2], height)
    cols = _area_weights(frames.shape[-1], width)
    return np.einsum("ri,...ij,cj->...rc", rows, frames, cols, optimize=True)
