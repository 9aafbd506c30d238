"""Target movies for training after wave pre-training, made offline with NumPy.

May, Dauphin & Gjorgjieva (2025, PLoS Comput Biol) pre-train predictors on
retinal waves and then train them on "target" movies: 64 x 64 grayscale clips
in [0, 1], 10 frames in and the 11th as the target. Their first target is a
camera moving forward along a corridor (rendered in Blender); further targets
show natural motion. This module makes comparable movies without Blender or
downloads:

- :func:`corridor_movie`: forward motion along a procedural corridor with
  patterned wall panels, ray cast per pixel in NumPy;
- :func:`natural_motion_movie`: a camera panning, zooming or jittering over a
  photograph bundled with scikit-image;
- :func:`load_video`: a user's own video (array or folder of frames);
- :func:`make_target_movies`: many movies of one kind, deterministic by seed;
- :class:`TargetClips` and :func:`split_movies`: clips for training and a
  train/validation split by movie.
"""

from __future__ import annotations

import functools
import math
import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import torch
from scipy import ndimage

from ..errors import ParameterError, RecordingFormatError, RecordingNotFoundError

__all__ = [
    "MOTIONS",
    "NATURAL_IMAGES",
    "TargetClips",
    "corridor_movie",
    "load_video",
    "make_target_movies",
    "natural_motion_movie",
    "split_movies",
]

#: Photographs whose files ship inside the scikit-image package (no download needed).
NATURAL_IMAGES = ("astronaut", "brick", "camera", "chelsea", "coffee", "coins", "grass", "gravel", "moon", "rocket")
#: Camera motions of :func:`natural_motion_movie`.
MOTIONS = ("pan", "zoom", "jitter", "mixed")
#: Frame files :func:`load_video` reads from a folder.
FRAME_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")

# Rec. 709 luminance, the weights of skimage.color.rgb2gray.
_LUMA = np.array([0.2125, 0.7154, 0.0721])
# Texture pyramid depth: halving 6 times covers footprints of up to 64 texels per sample.
_MIP_LEVELS = 6


# --------------------------------------------------------------------------- validation


def _int_at_least(name: str, value: Any, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
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


# --------------------------------------------------------------------------- corridor


def _panel_pattern(rng: np.random.Generator, yy: np.ndarray, xx: np.ndarray) -> np.ndarray:
    """One panel's random geometric pattern on grids of world coordinates (units)."""
    dark, light = rng.uniform(0.05, 0.45), rng.uniform(0.55, 0.95)
    if rng.random() < 0.5:
        dark, light = light, dark
    kind = rng.integers(4)
    if kind == 0:  # stripes
        angle, period = rng.uniform(0, np.pi), rng.uniform(0.15, 0.6)
        phase = (xx * np.cos(angle) + yy * np.sin(angle)) / period
        return np.where(phase % 1.0 < 0.5, dark, light)
    if kind == 1:  # checkerboard
        cell = rng.uniform(0.12, 0.4)
        return np.where((np.floor(xx / cell) + np.floor(yy / cell)) % 2 == 0, dark, light)
    out = np.full(xx.shape, dark)
    y0, y1, x0, x1 = yy.min(), yy.max(), xx.min(), xx.max()
    for _ in range(rng.integers(2, 7)):
        grey = rng.uniform(0.0, 1.0)
        cy, cx = rng.uniform(y0, y1), rng.uniform(x0, x1)
        if kind == 2:  # rectangles
            hy, hx = rng.uniform(0.05, 0.35, size=2) * (y1 - y0 + x1 - x0) / 2
            out[(np.abs(yy - cy) < hy) & (np.abs(xx - cx) < hx)] = grey
        else:  # discs
            r = rng.uniform(0.05, 0.3) * min(y1 - y0, x1 - x0) + 0.05
            out[(yy - cy) ** 2 + (xx - cx) ** 2 < r * r] = grey
    return out


def _wall_texture(rng: np.random.Generator, n_rows: int, n_cols: int, rows_per_unit: float,
                  cols_per_unit: float, panel_length_units: tuple[float, float]) -> np.ndarray:
    """A wall's texture (rows: height, columns: along the corridor) of panels on a plain background."""
    texture = np.full((n_rows, n_cols), rng.uniform(0.25, 0.6))
    y = (np.arange(n_rows) + 0.5) / rows_per_unit
    start = 0
    while start < n_cols:
        length = max(2, round(rng.uniform(*panel_length_units) * cols_per_unit))
        gap = max(1, round(rng.uniform(0.05, 0.2) * cols_per_unit))
        margin_top, margin_bottom = (round(m * n_rows) for m in rng.uniform(0.05, 0.2, size=2))
        rows = slice(margin_top, n_rows - margin_bottom)
        cols = slice(start + gap, min(start + length, n_cols))
        x = (np.arange(cols.start, cols.stop) + 0.5) / cols_per_unit
        if cols.stop > cols.start:
            yy, xx = np.meshgrid(y[rows], x, indexing="ij")
            texture[rows, cols] = _panel_pattern(rng, yy, xx)
        start += length
    return texture


def _ripmap(texture: np.ndarray) -> list[list[np.ndarray]]:
    """``maps[a][b]``: the texture box-averaged 2**a times along the corridor and 2**b times vertically.

    The two axes get separate levels because a wall seen at a grazing angle is
    squeezed far more along the corridor than vertically.
    """
    along = [texture]
    for _ in range(_MIP_LEVELS):
        along.append(0.5 * (along[-1][:, 0::2] + along[-1][:, 1::2]))
    maps = []
    for level in along:
        column = [level]
        for _ in range(_MIP_LEVELS):
            column.append(0.5 * (column[-1][0::2] + column[-1][1::2]))
        maps.append(column)
    return maps


def _bilinear_wrap(texture: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Bilinear samples at fractional texel indices, the texture tiled in both directions."""
    n_rows, n_cols = texture.shape
    r0, c0 = np.floor(rows), np.floor(cols)
    dr, dc = rows - r0, cols - c0
    r0, c0 = r0.astype(np.int64) % n_rows, c0.astype(np.int64) % n_cols
    r1, c1 = (r0 + 1) % n_rows, (c0 + 1) % n_cols
    top = texture[r0, c0] * (1 - dc) + texture[r0, c1] * dc
    bottom = texture[r1, c0] * (1 - dc) + texture[r1, c1] * dc
    return top * (1 - dr) + bottom * dr


def corridor_movie(n_frames: int, *, size_px: int = 64, speed_units_per_frame: float = 0.1,
                   fov_deg: float = 90.0, half_width_units: float = 1.0, wall_height_units: float = 2.0,
                   floor_and_ceiling: bool = True, floor_shade: float = 0.15, ceiling_shade: float = 0.3,
                   fog_depth_units: float = 12.0, fog_shade: float = 0.1, texels_per_unit: int = 16,
                   panel_length_units: tuple[float, float] = (1.0, 3.0), start_units: float = 0.0,
                   supersample: int = 2, seed: int = 0) -> np.ndarray:
    """A camera moving forward along a straight corridor with patterned walls.

    The first target task of May et al. (2025): forward self-motion makes an
    expanding optic flow, features moving outwards from the vanishing point in
    the centre of the image. The two side walls carry panels with random
    geometric patterns (stripes, checkerboards, rectangles, discs in random
    grey levels) drawn from ``seed``; floor and ceiling are flat and darker.
    Every pixel is ray cast: for a pixel at horizontal image offset ``x`` from
    the centre the wall at lateral distance ``w`` is hit at depth
    ``z = f * w / |x|`` (``f`` the focal length in pixels), at texture
    coordinate ``camera position + z`` along the corridor and height
    ``y * z / f`` for a vertical offset ``y``. Anti-aliasing: a texture
    pyramid with separate levels along and across the corridor, chosen from
    each sample's footprint, bilinear sampling, ``supersample**2`` samples
    per pixel, and exponential fog that hides the far, sub-pixel end.

    Parameters
    ----------
    n_frames : int
        Frames T.
    size_px : int
        Frame side in pixels.
    speed_units_per_frame : float
        Camera speed along the corridor, in corridor units (the wall's lateral
        distance is ``half_width_units``) per frame; negative moves backwards
        (contracting flow), 0 gives a still image.
    fov_deg : float
        Horizontal (and vertical) field of view in degrees, in (0, 180).
    half_width_units : float
        Lateral distance from the camera to either wall.
    wall_height_units : float
        Height of the walls; the camera sits at mid-height. Without floor and
        ceiling the walls' texture repeats vertically with this period.
    floor_and_ceiling : bool
        Draw a flat floor and ceiling; otherwise the walls extend without end.
    floor_shade, ceiling_shade : float
        Grey levels in [0, 1] of floor and ceiling.
    fog_depth_units : float
        Depth over which the contrast decays by a factor e towards ``fog_shade``.
    fog_shade : float
        Grey level in [0, 1] of the far end of the corridor.
    texels_per_unit : int
        Resolution of the wall textures along the corridor.
    panel_length_units : (float, float)
        Range of the panels' lengths along the corridor.
    start_units : float
        Camera position along the corridor at frame 0.
    supersample : int
        Samples per pixel along each image axis (averaged).
    seed : int
        Seeds the wall patterns.

    Returns
    -------
    numpy.ndarray
        (T, size_px, size_px) float32 in [0, 1].

    Raises
    ------
    wavesim.errors.ParameterError
        If a parameter is of the wrong type or out of range.
    """
    n_frames = _int_at_least("n_frames", n_frames, 1)
    size_px = _int_at_least("size_px", size_px, 2)
    supersample = _int_at_least("supersample", supersample, 1)
    texels_per_unit = _int_at_least("texels_per_unit", texels_per_unit, 2)
    speed = _float_in("speed_units_per_frame", speed_units_per_frame, -math.inf, low_open=True)
    fov = _float_in("fov_deg", fov_deg, 0.0, 180.0)
    half_width = _float_in("half_width_units", half_width_units, 0.0)
    height = _float_in("wall_height_units", wall_height_units, 0.0)
    fog_depth = _float_in("fog_depth_units", fog_depth_units, 0.0)
    start = _float_in("start_units", start_units, -math.inf)
    shades = {name: _float_in(name, value, 0.0, 1.0, low_open=False, high_open=False)
              for name, value in (("floor_shade", floor_shade), ("ceiling_shade", ceiling_shade),
                                  ("fog_shade", fog_shade))}
    panel_length = _range_in("panel_length_units", panel_length_units, 0.0)

    rng = np.random.default_rng(seed)
    # The texture covers the whole run plus the visible depth, so tiling only shows deep in the fog.
    period = 2 ** _MIP_LEVELS
    length_units = min(abs(speed) * (n_frames - 1) + 6 * fog_depth, 1024.0)
    n_cols = max(1, math.ceil(length_units * texels_per_unit / period)) * period
    n_rows = max(1, math.ceil(height * texels_per_unit / period)) * period
    rows_per_unit = n_rows / height
    walls = [_ripmap(_wall_texture(rng, n_rows, n_cols, rows_per_unit, texels_per_unit, panel_length))
             for _ in range(2)]

    # Static geometry: with the camera moving straight ahead only the coordinate along the corridor changes.
    n = size_px * supersample
    offsets = (np.arange(n) + 0.5) / supersample - size_px / 2
    focal = (size_px / 2) / math.tan(math.radians(fov) / 2)
    u = np.broadcast_to(offsets[None, :], (n, n))
    v = np.broadcast_to(-offsets[:, None], (n, n))  # upwards positive
    tiny = 1e-6
    z_wall = focal * half_width / np.maximum(np.abs(u), tiny)
    z_flat = focal * (height / 2) / np.maximum(np.abs(v), tiny) if floor_and_ceiling else np.full((n, n), np.inf)
    on_wall = (z_wall <= z_flat).ravel()
    depth = np.minimum(z_wall, z_flat).ravel()
    fog = np.exp(-depth / fog_depth)
    flat = np.where(v.ravel() > 0, shades["ceiling_shade"], shades["floor_shade"])

    wall_index = np.flatnonzero(on_wall)
    z = depth[wall_index]
    height_row = (height / 2 - v.ravel()[wall_index] * z / focal) * rows_per_unit
    # Texels of level 0 between neighbouring samples: |dz/du| = z**2 / (f w) along, z / f vertically.
    along_level = np.log2(np.maximum(z**2 / (focal * half_width) / supersample * texels_per_unit, 1.0))
    vertical_level = np.log2(np.maximum(z / focal / supersample * rows_per_unit, 1.0))
    along_level = np.minimum(np.rint(along_level), _MIP_LEVELS).astype(np.int64)
    vertical_level = np.minimum(np.rint(vertical_level), _MIP_LEVELS).astype(np.int64)
    side = (u.ravel()[wall_index] > 0).astype(np.int64)
    groups = (side * (_MIP_LEVELS + 1) + along_level) * (_MIP_LEVELS + 1) + vertical_level

    position = start + speed * np.arange(n_frames)
    movie = np.empty((n_frames, size_px, size_px), np.float32)
    chunk = max(1, 2**22 // (n * n))  # bounds the temporaries to a few tens of MB
    for t0 in range(0, n_frames, chunk):
        pos = position[t0 : t0 + chunk, None]
        samples = np.broadcast_to(fog * flat + (1 - fog) * shades["fog_shade"], (len(pos), n * n)).copy()
        values = np.empty((len(pos), wall_index.size))
        for group in np.unique(groups):
            members = np.flatnonzero(groups == group)
            s, rest = divmod(int(group), (_MIP_LEVELS + 1) ** 2)
            a, b = divmod(rest, _MIP_LEVELS + 1)
            cols = (pos + z[members]) * (texels_per_unit / 2**a) - 0.5
            rows = np.broadcast_to(height_row[members] / 2**b - 0.5, cols.shape)
            values[:, members] = _bilinear_wrap(walls[s][a][b], rows, cols)
        f = fog[wall_index]
        samples[:, wall_index] = f * values + (1 - f) * shades["fog_shade"]
        frames = samples.reshape(len(pos), size_px, supersample, size_px, supersample).mean(axis=(2, 4))
        movie[t0 : t0 + chunk] = frames
    return np.clip(movie, 0.0, 1.0, out=movie)


# --------------------------------------------------------------------------- images and videos


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


@functools.lru_cache(maxsize=None)
def _bundled_image(name: str) -> np.ndarray:
    """A photograph of :data:`NATURAL_IMAGES` as read-only grayscale float64 in [0, 1]."""
    from skimage import data

    raw = getattr(data, name)()
    image = _unit_gray(raw, f"skimage.data.{name}()", raw.ndim == 3)
    image.setflags(write=False)
    return image


def _image_gray(image: str | np.ndarray) -> np.ndarray:
    if isinstance(image, str):
        if image not in NATURAL_IMAGES:
            raise ParameterError(f"unknown image {image!r}; bundled images: {', '.join(NATURAL_IMAGES)}")
        return _bundled_image(image)
    array = np.asarray(image)
    if not (array.ndim == 2 or (array.ndim == 3 and array.shape[-1] in (3, 4))):
        raise ParameterError(f"image must be (H, W), (H, W, 3) or (H, W, 4), got shape {array.shape}")
    return _unit_gray(array, "image", array.ndim == 3)


def _reflect(x: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Reflect x into [lo, hi] (per axis); also returns -1 where the direction flipped, else 1."""
    flip = np.ones_like(x)
    above, below = x > hi, x < lo
    x = np.where(above, 2 * hi - x, np.where(below, 2 * lo - x, x))
    flip[above | below] = -1.0
    return np.clip(x, lo, hi), flip


def natural_motion_movie(image: str | np.ndarray | None = None, n_frames: int = 11, *, size_px: int = 64,
                         motion: str = "pan", seed: int = 0, view_fraction: float = 0.5,
                         velocity_px: tuple[float, float] | None = None, speed_px_per_frame: float = 1.0,
                         zoom: str | None = None, zoom_per_frame: float = 1.03, max_zoom: float = 3.0,
                         jitter_px: float = 0.3, segment_frames: tuple[int, int] = (6, 16),
                         return_motion: bool = False) -> np.ndarray | tuple[np.ndarray, dict[str, Any]]:
    """A camera moving over a photograph: pan, zoom, jitter or a mix of them.

    Natural-scene motion targets in the spirit of May et al. (2025). The
    photograph (grayscale, [0, 1]) is first area-averaged so that the view at
    magnification 1 spans ``view_fraction`` of its shorter side at
    ``size_px`` pixels; frames are then cubic-spline samples of that image,
    so motion is sub-pixel and smooth. The view never leaves the image: a pan
    that would leave it bounces off the edge, a zoom reverses at
    magnification 1 and ``max_zoom`` (never below 1, which would alias).

    Parameters
    ----------
    image : str, numpy.ndarray or None
        A name from :data:`NATURAL_IMAGES` (files shipped with scikit-image,
        read without network), an (H, W), (H, W, 3) or (H, W, 4) array of any
        real dtype, or None for a bundled image chosen by ``seed``.
    n_frames : int
        Frames T (default one clip of May et al.: 10 inputs and the target).
    size_px : int
        Frame side in pixels.
    motion : {"pan", "zoom", "jitter", "mixed"}
        ``"pan"``: constant velocity. ``"zoom"``: magnification changing by
        ``zoom_per_frame`` per frame about a fixed point near the centre
        (within ``size_px / 8``). ``"jitter"``: a random walk with steps of
        standard deviation ``jitter_px`` per axis, like fixational eye
        movements. ``"mixed"``: consecutive segments of random lengths in
        ``segment_frames``, each a pan (random direction, speed 0.5-1.5 times
        ``speed_px_per_frame``), a zoom (random direction) or jitter.
    seed : int
        Seeds the image choice, start, directions and random walks.
    view_fraction : float
        Side of the view at magnification 1 over the image's shorter side, in (0, 1].
    velocity_px : (float, float) or None
        Pan only: the scene's displacement in the movie, output pixels per
        frame, as (rows, columns), i.e. (down, right); the camera moves the
        opposite way. None: ``speed_px_per_frame`` in a random direction.
    speed_px_per_frame : float
        Pan speed when ``velocity_px`` is None.
    zoom : {"in", "out"} or None
        Zoom only: direction; "in" magnifies (expanding flow). None: random.
    zoom_per_frame : float
        Magnification ratio between consecutive frames, > 1.
    max_zoom : float
        Largest magnification, >= 1.
    jitter_px : float
        Standard deviation of a jitter step per axis, output pixels.
    segment_frames : (int, int)
        Mixed only: range of segment lengths in frames.
    return_motion : bool
        Also return the commanded motion.

    Returns
    -------
    movie : numpy.ndarray
        (T, size_px, size_px) float32 in [0, 1].
    motion : dict
        Only with ``return_motion``: ``"center_px"`` (T, 2) the view centre in
        pixels of the photograph (row, column); ``"magnification"`` (T,)
        relative to the view at magnification 1; ``"displacement_px"``
        (T - 1, 2) the displacement of the scene point under the frame centre
        between consecutive frames, output pixels (row, column);
        ``"motion"`` the motion of each of those T - 1 steps.

    Raises
    ------
    wavesim.errors.ParameterError
        If a parameter is out of range or ``image`` unknown or malformed.
    """
    n_frames = _int_at_least("n_frames", n_frames, 1)
    size_px = _int_at_least("size_px", size_px, 2)
    if motion not in MOTIONS:
        raise ParameterError(f"motion must be one of {MOTIONS}, got {motion!r}")
    if zoom not in (None, "in", "out"):
        raise ParameterError(f"zoom must be 'in', 'out' or None, got {zoom!r}")
    view_fraction = _float_in("view_fraction", view_fraction, 0.0, 1.0, high_open=False)
    speed = _float_in("speed_px_per_frame", speed_px_per_frame, 0.0, low_open=False)
    log_rate = math.log(_float_in("zoom_per_frame", zoom_per_frame, 1.0))
    log_max = math.log(_float_in("max_zoom", max_zoom, 1.0, low_open=False))
    jitter = _float_in("jitter_px", jitter_px, 0.0, low_open=False)
    seg_lo, seg_hi = _range_in("segment_frames", segment_frames, 0.0)
    if seg_lo != int(seg_lo) or seg_hi != int(seg_hi) or seg_lo < 1:
        raise ParameterError(f"segment_frames must be a (low, high) pair of integers >= 1, got {segment_frames!r}")
    seg_lo, seg_hi = int(seg_lo), int(seg_hi)
    if velocity_px is not None:
        if np.shape(velocity_px) != (2,):
            raise ParameterError(f"velocity_px must be a (rows, columns) pair, got {velocity_px!r}")
        velocity = np.array([_float_in(f"velocity_px[{i}]", v, -math.inf) for i, v in enumerate(velocity_px)])

    rng = np.random.default_rng(seed)
    if image is None:
        image = NATURAL_IMAGES[rng.integers(len(NATURAL_IMAGES))]
    gray = _image_gray(image)
    scale = size_px / (view_fraction * min(gray.shape))
    dims = np.maximum(np.rint(np.array(gray.shape) * scale).astype(int), size_px)
    work = _area_resize(gray, *dims)
    coefficients = ndimage.spline_filter(work, order=3, mode="mirror")

    def bounds(m: float) -> tuple[np.ndarray, np.ndarray]:
        half = (size_px / 2 - 0.5) / m
        return np.full(2, half), dims - 1 - half

    # Segments of (motion, steps, parameters); the first frame's state follows.
    steps = n_frames - 1
    lo, hi = bounds(1.0)
    log_mag = 0.0
    if motion == "mixed":
        segments, done = [], 0
        while done < steps:
            length = min(steps - done, int(rng.integers(seg_lo, seg_hi + 1)))
            kind = ("pan", "zoom", "jitter")[rng.integers(3)]
            angle = rng.uniform(0, 2 * np.pi)
            params = {"velocity": speed * rng.uniform(0.5, 1.5) * np.array([np.sin(angle), np.cos(angle)]),
                      "rate": log_rate * rng.choice([-1.0, 1.0]),
                      "fixed": rng.uniform(-size_px / 8, size_px / 8, size=2)}
            segments.append((kind, length, params))
            done += length
        center = rng.uniform(lo, hi)
    elif motion == "pan":
        if velocity_px is None:
            angle = rng.uniform(0, 2 * np.pi)
            velocity = speed * np.array([np.sin(angle), np.cos(angle)])
        travel = -velocity * steps  # camera displacement, working pixels at magnification 1
        fits = np.abs(travel) <= hi - lo
        # Start where the straight path fits when it can; otherwise at the edge it leaves from.
        first, last = lo - np.minimum(travel, 0), hi - np.maximum(travel, 0)
        center = np.where(fits, rng.uniform(first, np.maximum(last, first)), np.where(travel > 0, lo, hi))
        segments = [("pan", steps, {"velocity": velocity})]
    elif motion == "zoom":
        direction = {"in": 1.0, "out": -1.0, None: rng.choice([-1.0, 1.0])}[zoom]
        fixed = rng.uniform(-size_px / 8, size_px / 8, size=2)
        if direction < 0:
            log_mag = min(log_max, steps * log_rate)
        # Views about one fixed point at magnification >= 1 nest inside the view at 1: keep that one inside.
        center = rng.uniform(lo, hi) + fixed - fixed / math.exp(log_mag)
        segments = [("zoom", steps, {"rate": direction * log_rate, "fixed": fixed})]
    else:
        center = rng.uniform(lo, hi)
        segments = [("jitter", steps, {})]

    centers, log_mags, kinds = [center.copy()], [log_mag], []
    for kind, length, params in segments:
        velocity, rate = params.get("velocity"), params.get("rate", 0.0)
        for _ in range(length):
            m = math.exp(log_mag)
            if kind == "zoom":
                log_mag += rate
                if not 0.0 <= log_mag <= log_max:
                    log_mag = -log_mag if log_mag < 0 else 2 * log_max - log_mag
                    rate = -rate
                log_mag = min(max(log_mag, 0.0), log_max)
                # Keeps the scene point at output offset `fixed` from the centre in place.
                center = center + params["fixed"] / m - params["fixed"] / math.exp(log_mag)
                center = np.clip(center, *bounds(math.exp(log_mag)))
            else:
                step = velocity if kind == "pan" else rng.normal(0.0, jitter, size=2)
                center, flip = _reflect(center - step / m, *bounds(m))
                if kind == "pan":
                    velocity = velocity * flip
            centers.append(center.copy())
            log_mags.append(log_mag)
            kinds.append(kind)
    centers, magnification = np.array(centers), np.exp(np.array(log_mags))

    grid = (np.arange(size_px) + 0.5 - size_px / 2)[None, :] / magnification[:, None]
    rows = centers[:, 0, None, None] + grid[:, :, None]
    cols = centers[:, 1, None, None] + grid[:, None, :]
    rows, cols = np.broadcast_arrays(rows, cols)
    movie = ndimage.map_coordinates(coefficients, [rows, cols], order=3, mode="mirror", prefilter=False)
    movie = np.clip(movie, 0.0, 1.0).astype(np.float32)
    if not return_motion:
        return movie
    axis_scale = dims / np.array(gray.shape)
    info = {
        "center_px": (centers + 0.5) / axis_scale - 0.5,
        "magnification": magnification,
        "displacement_px": (centers[:-1] - centers[1:]) * magnification[1:, None],
        "motion": kinds,
    }
    return movie, info


def _natural_key(path: Path) -> list:
    """Sorts frame_2 before frame_10."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", path.name)]


def _read_frames(folder: Path, n_frames: int | None) -> np.ndarray:
    from PIL import Image

    files = sorted((p for p in folder.iterdir() if p.suffix.lower() in FRAME_SUFFIXES and p.is_file()),
                   key=_natural_key)
    if not files:
        raise RecordingFormatError(f"{folder} holds no frame images ({', '.join(FRAME_SUFFIXES)})")
    if n_frames is not None:
        if len(files) < n_frames:
            raise ParameterError(f"n_frames={n_frames} but {folder} holds only {len(files)} frame images")
        files = files[:n_frames]
    frames = []
    for path in files:
        try:
            with Image.open(path) as im:
                if im.mode not in ("1", "L", "I", "I;16", "F", "RGB", "RGBA"):
                    im = im.convert("RGB")
                frames.append(np.asarray(im))
        except OSError as exc:
            raise RecordingFormatError(f"cannot read frame {path}: {exc}") from exc
        if frames[-1].shape != frames[0].shape or frames[-1].dtype != frames[0].dtype:
            raise RecordingFormatError(f"frame {path} is {frames[-1].shape} {frames[-1].dtype}, "
                                       f"{files[0].name} is {frames[0].shape} {frames[0].dtype}")
    return np.stack(frames)


def load_video(source: np.ndarray | str | os.PathLike, *, size_px: int = 64,
               n_frames: int | None = None) -> np.ndarray:
    """A user's own video as a target movie: grayscale float32 in [0, 1], ``size_px`` square.

    Parameters
    ----------
    source : numpy.ndarray, str or os.PathLike
        A (T, H, W), (T, H, W, 3) or (T, H, W, 4) array of any real dtype, or
        a folder of frame images (png, jpg, bmp, tif) read in natural name
        order (``frame_2`` before ``frame_10``); other files are ignored.
    size_px : int
        Output side in pixels. Non-square frames are cropped to their central
        square first, then area-averaged (an exact box filter) to this size.
    n_frames : int or None
        Keep the first ``n_frames`` frames; None keeps all.

    Returns
    -------
    numpy.ndarray
        (T, size_px, size_px) float32 in [0, 1]. Unsigned integers are scaled
        by their dtype's maximum (uint8 by 255); floats and signed integers
        within [0, 1] are kept, others min-max rescaled over the whole video;
        colour becomes Rec. 709 luminance, alpha is ignored.

    Raises
    ------
    wavesim.errors.RecordingNotFoundError
        If ``source`` is a path that does not exist.
    wavesim.errors.RecordingFormatError
        If the folder holds no frame images, unreadable ones or ones of different sizes.
    wavesim.errors.ParameterError
        If the array has the wrong shape or dtype, or a parameter is out of range.
    """
    size_px = _int_at_least("size_px", size_px, 1)
    if n_frames is not None:
        n_frames = _int_at_least("n_frames", n_frames, 1)
    if isinstance(source, (str, os.PathLike)):
        folder = Path(source)
        if not folder.exists():
            raise RecordingNotFoundError(f"no video at {folder}")
        if not folder.is_dir():
            raise RecordingFormatError(f"{folder} is not a folder of frame images "
                                       "(load a .npy or other file to an array first)")
        video = _read_frames(folder, n_frames)
    else:
        video = np.asarray(source)
        if n_frames is not None:
            if len(video) < n_frames:
                raise ParameterError(f"n_frames={n_frames} but the video has only {len(video)} frames")
            video = video[:n_frames]
    if not (video.ndim == 3 or (video.ndim == 4 and video.shape[-1] in (3, 4))):
        raise ParameterError(f"a video must be (T, H, W), (T, H, W, 3) or (T, H, W, 4), got shape {video.shape}")
    if 0 in video.shape:
        raise ParameterError(f"the video is empty: shape {video.shape}")
    video = _unit_gray(video, "the video", video.ndim == 4)
    side = min(video.shape[1:])
    top, left = (video.shape[1] - side) // 2, (video.shape[2] - side) // 2
    video = _area_resize(video[:, top : top + side, left : left + side], size_px, size_px)
    return np.clip(video, 0.0, 1.0).astype(np.float32)


# --------------------------------------------------------------------------- datasets


def make_target_movies(kind: str, n_movies: int, n_frames: int, *, size_px: int = 64, seed: int = 0,
                       **kw: Any) -> np.ndarray:
    """Many target movies of one kind, deterministic for a seed.

    Movie ``i`` depends only on ``seed`` and ``i``, not on ``n_movies``.

    Parameters
    ----------
    kind : {"corridor", "natural"}
        ``"corridor"``: :func:`corridor_movie` with a different wall pattern
        per movie (the first task of May et al. 2025). ``"natural"``:
        :func:`natural_motion_movie`, cycling through the photographs in
        ``images`` and the motions in ``motions``, both in a seed-dependent order.
    n_movies : int
        Movies N.
    n_frames : int
        Frames T per movie.
    size_px : int
        Frame side in pixels.
    seed : int
        Seeds everything.
    **kw
        Passed to the generator. For ``"natural"`` also ``images`` (names from
        :data:`NATURAL_IMAGES` or arrays; default all of them) and
        ``motions`` (default :data:`MOTIONS`).

    Returns
    -------
    numpy.ndarray
        (N, T, size_px, size_px) float32 in [0, 1].
    """
    n_movies = _int_at_least("n_movies", n_movies, 1)
    seeds = np.random.SeedSequence(seed).generate_state(n_movies)
    if kind == "corridor":
        return np.stack([corridor_movie(n_frames, size_px=size_px, seed=int(s), **kw) for s in seeds])
    if kind == "natural":
        images, motions = list(kw.pop("images", NATURAL_IMAGES)), list(kw.pop("motions", MOTIONS))
        if not images or not motions:
            raise ParameterError("images and motions must not be empty")
        rng = np.random.default_rng(seed)
        image_order, motion_order = rng.permutation(len(images)), rng.permutation(len(motions))
        return np.stack([
            natural_motion_movie(images[image_order[i % len(images)]], n_frames, size_px=size_px,
                                 motion=motions[motion_order[i % len(motions)]], seed=int(s), **kw)
            for i, s in enumerate(seeds)
        ])
    raise ParameterError(f"kind must be 'corridor' or 'natural', got {kind!r}")


def _movies_array(movies: Any) -> np.ndarray:
    if isinstance(movies, torch.Tensor):
        movies = movies.detach().cpu().numpy()
    movies = np.asarray(movies, dtype=np.float32)
    if movies.ndim != 4:
        raise ParameterError(f"movies must be (N, T, H, W), got shape {movies.shape}")
    return movies


class TargetClips(torch.utils.data.Dataset):
    """Clips of target movies for next-frame prediction (May et al. 2025).

    Item ``i`` is a float32 tensor (clip_frames, H, W): the first
    ``clip_frames - 1`` frames are the inputs, the last the target. Clips
    start every ``clip_step`` frames within each movie and never span two movies.

    Parameters
    ----------
    movies : array-like
        (N, T, H, W) movies, converted to float32.
    clip_frames : int
        Frames per clip, >= 2 (11 in May et al.: 10 inputs and the target).
    clip_step : int
        Frames between the starts of consecutive clips of a movie.
    """

    def __init__(self, movies: Any, *, clip_frames: int = 11, clip_step: int = 1):
        self.movies = _movies_array(movies)
        self.clip_frames = _int_at_least("clip_frames", clip_frames, 2)
        self.clip_step = _int_at_least("clip_step", clip_step, 1)
        n_movies, n_frames = self.movies.shape[:2]
        if n_frames < self.clip_frames:
            raise ParameterError(f"movies have {n_frames} frames, fewer than clip_frames={self.clip_frames}")
        self.clips_per_movie = (n_frames - self.clip_frames) // self.clip_step + 1

    def __len__(self) -> int:
        return self.movies.shape[0] * self.clips_per_movie

    def clip(self, index: int) -> dict[str, int]:
        """Where clip ``index`` comes from: ``{"movie": ..., "first_frame": ...}``."""
        if not -len(self) <= index < len(self):
            raise IndexError(f"clip {index} out of range for {len(self)} clips")
        movie, k = divmod(index % len(self), self.clips_per_movie)
        return {"movie": movie, "first_frame": k * self.clip_step}

    def __getitem__(self, index: int) -> torch.Tensor:
        where = self.clip(index)
        first = where["first_frame"]
        return torch.from_numpy(self.movies[where["movie"], first : first + self.clip_frames].copy())


def split_movies(movies: Any, validation_fraction: float = 0.2, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Split movies (not clips) into training and validation sets.

    Splitting by movie keeps overlapping clips of one movie out of both sets,
    so the validation error measures generalisation to unseen movies.

    Parameters
    ----------
    movies : array-like
        (N, T, H, W) movies, N >= 2.
    validation_fraction : float
        Fraction of the movies for validation, in (0, 1); rounded, at least
        one movie in each set.
    seed : int
        Seeds which movies go to validation.

    Returns
    -------
    train, validation : numpy.ndarray
        (N_train, T, H, W) and (N_val, T, H, W) float32, each in the original movie order.
    """
    movies = _movies_array(movies)
    fraction = _float_in("validation_fraction", validation_fraction, 0.0, 1.0)
    n = movies.shape[0]
    if n < 2:
        raise ParameterError(f"need at least 2 movies to split, got {n}")
    n_val = min(max(round(n * fraction), 1), n - 1)
    validation = np.zeros(n, bool)
    validation[np.random.default_rng(seed).permutation(n)[:n_val]] = True
    return movies[~validation], movies[validation]
