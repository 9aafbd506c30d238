"""Render wave movies to animated GIF (or MP4) files for viewing.

A movie is a stack of uint8 frames on a pixel grid with a known size of one
pixel (um) and one frame period (s). Each rendered frame shows the movie
through a colour map, enlarged with nearest-neighbour sampling, above a
strip with the time stamp and a scale bar.

The colour map is applied as a palette: frames become palette indices with
one lookup table, so no per-frame figure or colour quantisation is needed and
hundreds of frames render in a few seconds.
"""

from __future__ import annotations

import math
import os
import pathlib

import numpy as np

from ..errors import MissingDependencyError, ParameterError
from ..validate import check_int

__all__ = ["render_movie", "render_store_movie"]

#: Smallest width (px) of the movie area in the rendered frames.
MIN_WIDTH_PX = 320
#: Fastest playback rate chosen by default (frames/s); GIF viewers slow down
#: frames shorter than 20 ms, so faster movies would play at the wrong speed.
MAX_DEFAULT_FPS = 20.0
#: Palette layout: indices 0..N_LEVELS-1 are colour-map levels, then black
#: and white for the annotation strip.
N_LEVELS = 254
BLACK = 254
WHITE = 255
COLORMAP = "magma"


def _palette(cmap_name: str = COLORMAP) -> list[int]:
    """Return a flat 256-entry RGB palette: colour-map levels, black, white."""
    from matplotlib import colormaps  # imported lazily: matplotlib is slow to import

    rgb = colormaps[cmap_name](np.linspace(0.0, 1.0, N_LEVELS))[:, :3]
    levels = np.round(rgb * 255).astype(np.uint8)
    extra = np.array([[0, 0, 0], [255, 255, 255]], dtype=np.uint8)
    return np.concatenate([levels, extra]).ravel().tolist()


def _nice_length_um(target_um: float) -> float:
    """Return the largest round length (1, 2, 2.5 or 5 times a power of ten) <= target_um."""
    exponent = math.floor(math.log10(target_um))
    best = 10.0 ** exponent
    for mantissa in (1.0, 2.0, 2.5, 5.0, 10.0):
        candidate = mantissa * 10.0 ** exponent
        if candidate <= target_um * (1 + 1e-9):
            best = candidate
    return best


def _time_decimals(frame_period_s: float) -> int:
    """Return the fewest decimals (1 to 3) that show every frame's time distinctly."""
    for decimals in (1, 2, 3):
        if abs(round(frame_period_s, decimals) - frame_period_s) <= 1e-9 * frame_period_s:
            return decimals
    return 3


def _check_positive(name: str, value, allow_none: bool = False) -> None:
    """Raise ParameterError unless value is a finite real number > 0."""
    if value is None and allow_none:
        return
    ok = (
        isinstance(value, (int, float, np.integer, np.floating))
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value > 0
    )
    if not ok:
        raise ParameterError(f"{name} must be a finite number > 0, got {value!r}")


def _output_suffix(path: pathlib.Path) -> str:
    """Return ``.gif`` or ``.mp4``, the format of ``path``, once its writer is known to be installed."""
    suffix = path.suffix.lower()
    if suffix not in (".gif", ".mp4"):
        raise ParameterError(f"path must end in .gif or .mp4, got {str(path)!r}")
    if suffix == ".mp4":
        try:
            import imageio.v2  # noqa: F401  (checked here, used when writing)
            import imageio_ffmpeg  # noqa: F401  (the ffmpeg plugin imageio needs)
        except ImportError as err:
            raise MissingDependencyError(
                f"writing {str(path)!r} as MP4 needs imageio and imageio-ffmpeg "
                "(pip install imageio imageio-ffmpeg); use a .gif path instead"
            ) from err
    return suffix


def _load_font(size_px: int):
    """Return Pillow's default font, at size_px where FreeType is available."""
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size_px)
    except (TypeError, ImportError, OSError, ValueError):
        # Pillow without FreeType only has its fixed-size bitmap font.
        return ImageFont.load_default()


def render_movie(
    frames: np.ndarray,
    *,
    um_per_pixel: float,
    frame_period_s: float,
    path: str | os.PathLike,
    fps: float | None = None,
    scale_bar_um: float | None = None,
    upscale: int | None = None,
    start_time_s: float = 0.0,
    title: str | None = None,
) -> pathlib.Path:
    """Write a movie as an animated GIF (or MP4) with a time stamp and scale bar.

    Parameters
    ----------
    frames : numpy.ndarray
        Movie of shape (T, H, W), dtype uint8: binary movies hold 0/1,
        calcium-like movies 0..255. Displayed values are ``frames /
        max(1, frames.max())`` through the 'magma' colour map.
    um_per_pixel : float
        Size of one movie pixel (um), > 0.
    frame_period_s : float
        Simulated time between frames (s), > 0.
    path : str or os.PathLike
        Output file; ``.gif`` (Pillow) or ``.mp4`` (needs ``imageio`` and
        ``imageio-ffmpeg``). Missing parent folders are created.
    fps : float, optional
        Playback rate (frames/s). Default: real time (``1 / frame_period_s``)
        capped at 20 frames/s; faster-than-real-time playback is stated in
        the frame next to the time stamp.
    scale_bar_um : float, optional
        Length of the scale bar (um). Default: a round length (1, 2, 2.5 or 5
        times a power of ten) of at most a quarter of the movie width.
    upscale : int, optional
        Integer enlargement factor (nearest neighbour). Default: the smallest
        factor that makes the movie at least 320 px wide.
    start_time_s : float, default 0.0
        Simulated time of the first frame (s), for the time stamp.
    title : str, optional
        Text shown in a strip above the movie.

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    ParameterError
        On a malformed argument (also a ``ValueError``); the message names
        it, its value and what was expected.
    MissingDependencyError
        For an ``.mp4`` path when imageio with its ffmpeg plugin is missing
        (also an ``ImportError``).
    """
    from PIL import Image, ImageDraw

    if not isinstance(frames, np.ndarray) or frames.ndim != 3 or frames.dtype != np.uint8:
        got = (
            f"{type(frames).__name__} of shape {frames.shape} and dtype {frames.dtype}"
            if isinstance(frames, np.ndarray)
            else type(frames).__name__
        )
        raise ParameterError(f"frames must be a 3-D uint8 numpy array (T, H, W), got {got}")
    if min(frames.shape) == 0:
        raise ParameterError(f"frames must have at least one frame, row and column, got shape {frames.shape}")
    _check_positive("um_per_pixel", um_per_pixel)
    _check_positive("frame_period_s", frame_period_s)
    _check_positive("fps", fps, allow_none=True)
    _check_positive("scale_bar_um", scale_bar_um, allow_none=True)
    if not (isinstance(start_time_s, (int, float, np.integer, np.floating)) and math.isfinite(start_time_s)):
        raise ParameterError(f"start_time_s must be a finite number (s), got {start_time_s!r}")
    check_int("upscale", upscale, low=1, optional=True)
    if title is not None and not isinstance(title, str):
        raise ParameterError(f"title must be a str or None, got {type(title).__name__}")
    path = pathlib.Path(path)
    suffix = _output_suffix(path)

    n_frames, height, width = frames.shape
    scale = int(upscale) if upscale is not None else max(1, math.ceil(MIN_WIDTH_PX / width))
    movie_w, movie_h = width * scale, height * scale
    if fps is None:
        fps = min(MAX_DEFAULT_FPS, 1.0 / frame_period_s)
    if suffix == ".gif":
        # GIF frame delays are whole centiseconds; label the rate that plays.
        delay_ms = 10 * max(1, round(100 / fps))
        fps = 1000 / delay_ms
    speedup = fps * frame_period_s  # simulated seconds per second of playback

    font = _load_font(max(11, round(movie_w / 28)))
    text_h = font.getbbox("t = 0.0 s")[3]
    margin = max(4, text_h // 2)
    title_h = text_h + 2 * margin if title else 0
    strip_h = text_h + 2 * margin
    canvas_w, canvas_h = movie_w, title_h + movie_h + strip_h
    if suffix == ".mp4":
        # libx264 with yuv420p needs even frame sizes.
        canvas_w += canvas_w % 2
        canvas_h += canvas_h % 2

    movie_w_um = width * um_per_pixel
    if scale_bar_um is None:
        scale_bar_um = _nice_length_um(movie_w_um / 4)
    bar_px = round(scale_bar_um / um_per_pixel * scale)
    bar_label = f"{scale_bar_um:g} um"  # the default font has no µ glyph
    label_w = font.getlength(bar_label)
    if bar_px < 1 or bar_px + label_w + 3 * margin > movie_w / 2 + margin:
        raise ParameterError(
            f"scale_bar_um must give a bar from 1 px to about half the movie width "
            f"({movie_w_um:g} um), got {scale_bar_um!r} um ({bar_px} px of {movie_w} px); "
            "choose another scale_bar_um or a larger upscale"
        )

    # Parts that are the same in every frame: background, title, scale bar.
    template = Image.new("L", (canvas_w, canvas_h), BLACK)
    draw = ImageDraw.Draw(template)
    if title:
        draw.text((margin, margin), title, fill=WHITE, font=font)
    strip_top = title_h + movie_h
    bar_right = canvas_w - margin - label_w - margin
    bar_y = strip_top + margin + text_h // 2
    draw.rectangle(
        [bar_right - bar_px, bar_y - 1, bar_right - 1, bar_y + 1], fill=WHITE
    )
    draw.text((bar_right + margin, strip_top + margin), bar_label, fill=WHITE, font=font)
    template_px = np.asarray(template).copy()

    # One lookup from frame value to palette level normalises and colours at once.
    vmax = max(1, int(frames.max()))
    levels = np.minimum(np.arange(256) * (N_LEVELS - 1) // vmax, N_LEVELS - 1).astype(np.uint8)
    palette = _palette()
    decimals = _time_decimals(frame_period_s)
    speed_note = "" if abs(speedup - 1) < 0.01 else f"  ({speedup:.3g}x)"

    images = []
    for i in range(n_frames):
        canvas = template_px.copy()
        indexed = levels[frames[i]]
        canvas[title_h:title_h + movie_h, :movie_w] = indexed.repeat(scale, 0).repeat(scale, 1)
        image = Image.fromarray(canvas)
        t_s = start_time_s + i * frame_period_s
        ImageDraw.Draw(image).text(
            (margin, strip_top + margin), f"t = {t_s:.{decimals}f} s{speed_note}", fill=WHITE, font=font
        )
        image.putpalette(palette)
        images.append(image)

    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".gif":
        images[0].save(
            path,
            save_all=True,
            append_images=images[1:],
            duration=delay_ms,
            loop=0,
            optimize=False,
        )
    else:
        import imageio.v2 as imageio

        with imageio.get_writer(path, format="FFMPEG", mode="I", fps=fps, macro_block_size=1) as writer:
            for image in images:
                writer.append_data(np.asarray(image.convert("RGB")))
    return path


def render_store_movie(
    store,
    movie: int,
    *,
    path: str | os.PathLike,
    start_s: float = 0.0,
    duration_s: float | None = None,
    fps: float | None = None,
) -> pathlib.Path:
    """Render a time window of one complete movie of a wavesim store (see :func:`render_movie`).

    Parameters
    ----------
    store : WaveStore, str or os.PathLike
        The store, or its folder.
    movie : int
        Index of a completely written movie.
    path : str or os.PathLike
        Output ``.gif`` or ``.mp4`` file.
    start_s : float, default 0.0
        Start of the window within the recorded movie (s), >= 0 and before
        its end.
    duration_s : float, optional
        Length of the window (s), > 0; it is cut at the movie's end.
        Default: to the end of the movie.
    fps : float, optional
        Playback rate (frames/s), > 0; see :func:`render_movie`.

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    ParameterError
        If the window or ``fps`` is out of range, or ``path`` is neither
        ``.gif`` nor ``.mp4``.
    MissingDependencyError
        For an ``.mp4`` path without imageio-ffmpeg.
    MovieIndexError
        If ``movie`` is outside the store.
    StoreError
        If the movie is not completely written, or ``store`` is no store.
    """
    from .store import WaveStore, open_store

    # Check everything cheap before reading frames.
    _output_suffix(pathlib.Path(path))
    _check_positive("fps", fps, allow_none=True)
    if not (isinstance(start_s, (int, float, np.integer, np.floating)) and math.isfinite(start_s) and start_s >= 0):
        raise ParameterError(f"start_s must be a finite number of seconds >= 0, got {start_s!r}")
    _check_positive("duration_s", duration_s, allow_none=True)
    if not isinstance(store, WaveStore):
        store = open_store(store)
    period_s = store.frame_period_s
    length_s = store.n_frames * period_s
    # The frame shown at start_s; the tolerance keeps start_s = k * period_s on frame k.
    start = math.floor(start_s / period_s + 1e-9)
    if start >= store.n_frames:
        raise ParameterError(
            f"start_s = {start_s:g} s is at or past the end of movie {movie}, which lasts {length_s:g} s "
            f"({store.n_frames} frames of {period_s:g} s)"
        )
    stop = store.n_frames if duration_s is None else min(store.n_frames, start + max(1, round(duration_s / period_s)))
    frames = store.read_movie(movie, start, stop)
    return render_movie(
        frames,
        um_per_pixel=store.um_per_pixel,
        frame_period_s=period_s,
        path=path,
        fps=fps,
        start_time_s=start * period_s,
        title=f"{store.path.name} movie {movie}",
    )
