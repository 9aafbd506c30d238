"""A camera panning, zooming or jittering over a photograph bundled with scikit-image."""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np
from scipy import ndimage

from ...errors import ParameterError
from ._common import _area_resize, _float_in, _int_at_least, _range_in, _unit_gray

__all__ = ["MOTIONS", "NATURAL_IMAGES", "natural_motion_movie"]


#: Photographs whose files ship inside the scikit-image package (no download needed).
NATURAL_IMAGES = ("astronaut", "brick", "camera", "chelsea", "coffee", "coins", "grass", "gravel", "moon", "rocket")
#: Camera motions of :func:`natural_motion_movie`.
MOTIONS = ("pan", "zoom", "jitter", "mixed")


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
