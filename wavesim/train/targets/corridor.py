"""A camera moving forward along a procedural corridor with patterned wall panels, ray cast per pixel.

The first target of May, Dauphin & Gjorgjieva (2025), rendered there in
Blender, here in NumPy.
"""

from __future__ import annotations

import math

import numpy as np

from ._common import _float_in, _int_at_least, _range_in

__all__ = ["corridor_movie"]


# Texture pyramid depth: halving 6 times covers footprints of up to 64 texels per sample.
_MIP_LEVELS = 6


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
