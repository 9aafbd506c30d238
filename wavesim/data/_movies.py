"""A calcium-imaging movie of one's own, as a source of :class:`~wavesim.data.WavePairs`."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ..errors import ParameterError

#: Percentiles of the resampled movie that become 0 and 255 (robust to a few outlier pixels).
SCALE_PERCENTILES = (0.1, 99.9)


def _positive(name: str, value, optional: bool = False):
    if optional and value is None:
        return None
    is_number = isinstance(value, (int, float, np.number)) and not isinstance(value, (bool, np.bool_))
    if not (is_number and math.isfinite(value) and value > 0):
        raise ParameterError(f"{name} must be a finite number > 0, got {value!r}.")
    return float(value)


def _resample_space(frames: np.ndarray, factor: float) -> np.ndarray:
    """(T, H, W) float32 scaled by ``factor`` in both axes: area averaging to shrink, bilinear to enlarge."""
    import torch
    import torch.nn.functional as F

    height, width = (max(1, int(round(n * factor))) for n in frames.shape[1:])
    if (height, width) == frames.shape[1:]:
        return frames
    x = torch.from_numpy(frames)[:, None]
    mode = dict(mode="area") if factor < 1 else dict(mode="bilinear", align_corners=False)
    return F.interpolate(x, size=(height, width), **mode)[:, 0].numpy()


def _resample_time(frames: np.ndarray, ratio: float) -> np.ndarray:
    """(T, H, W) at ``ratio`` times the frame rate: the mean of each output frame's span of input frames when
    slowing down (so no wave is skipped), linear interpolation between neighbours when speeding up."""
    n_in = frames.shape[0]
    n_out = int(math.floor(n_in * ratio + 1e-9))
    if n_out < 2:
        raise ParameterError(f"resampled to {ratio:g} times its frame rate, the movie of {n_in} frames keeps "
                             f"{n_out}; give a higher train_frame_rate_hz or a longer movie.")
    if abs(ratio - 1) < 1e-12:
        return frames
    if ratio < 1:
        edges = np.floor(np.arange(n_out + 1) / ratio + 1e-9).astype(np.int64)
        sums = np.concatenate([np.zeros((1, *frames.shape[1:]), np.float64), np.cumsum(frames, axis=0, dtype=np.float64)])
        return ((sums[edges[1:]] - sums[edges[:-1]]) / (edges[1:] - edges[:-1])[:, None, None]).astype(np.float32)
    position = np.arange(n_out) / ratio
    low = np.floor(position).astype(np.int64)
    high = np.minimum(low + 1, n_in - 1)
    weight = (position - low).astype(np.float32)[:, None, None]
    return (1 - weight) * frames[low] + weight * frames[high]


class UserMovie:
    """A calcium-imaging (or any) wave movie, resampled and scaled, that :class:`~wavesim.data.WavePairs` takes.

    The movie is read (``.npy``, ``.tif``/``.tiff`` stacks through tifffile,
    or a zarr array; see :func:`wavesim.io.load_movie`), optionally
    resampled to the frame rate and pixel size of training, then scaled
    so that its 0.1st and 99.9th percentiles become 0 and 255 and stored as
    uint8, like a wavesim store's calcium readout: frame value / 255 is what
    the networks see, and wave detection (:class:`~wavesim.analysis.AnalysisParams`
    ``activity_threshold``, by default 127) works on these 0..255 values.

    Parameters
    ----------
    movie : str, Path or array_like
        A (T, H, W) array, or a file holding one.
    frame_rate_hz : float (Hz)
        Frames per second of the recording.
    um_per_pixel : float (um)
        Pixel size of the recording.
    train_frame_rate_hz : float (Hz), optional
        Resample in time to this rate: frames averaged over each new frame's
        span when slowing down, linear interpolation when speeding up.
    train_um_per_pixel : float (um), optional
        Resample in space to this pixel size (area averaging to coarser
        pixels, bilinear to finer ones).

    Attributes
    ----------
    frames : ndarray of uint8, (T, H, W)
        The resampled, scaled movie.
    um_per_pixel, frame_period_s : float
        Its pixel size (um) and frame period (s) after resampling.
    name : str
        The file name, or ``"array"``.

    Raises
    ------
    ParameterError
        For a rate or pixel size that is not a finite number > 0, a movie
        that is not (T, H, W) numbers, holds NaN or infinity, is constant,
        or keeps fewer than 2 frames after resampling.
    RecordingNotFoundError, RecordingFormatError
        For a missing or unreadable file.
    """

    readout = "calcium"

    def __init__(self, movie, frame_rate_hz: float, um_per_pixel: float, *, train_frame_rate_hz: float | None = None,
                 train_um_per_pixel: float | None = None):
        from ..io.recordings import load_movie

        frame_rate_hz = _positive("frame_rate_hz", frame_rate_hz)
        um_per_pixel = _positive("um_per_pixel", um_per_pixel)
        train_frame_rate_hz = _positive("train_frame_rate_hz", train_frame_rate_hz, optional=True)
        train_um_per_pixel = _positive("train_um_per_pixel", train_um_per_pixel, optional=True)
        self.name = Path(movie).name if isinstance(movie, (str, Path)) else "array"
        loaded = load_movie(movie, um_per_pixel, 1.0 / frame_rate_hz)
        if loaded.frames.dtype == bool:
            frames = loaded.frames.astype(np.float32)
        else:
            frames = loaded.frames.astype(np.float32, copy=False)
        if not np.isfinite(frames).all():
            raise ParameterError(f"movie {self.name} holds NaN or infinite values; replace them before training.")
        if frames.shape[0] < 2:
            raise ParameterError(f"movie {self.name} has {frames.shape[0]} frame; positive pairs need at least 2.")
        if train_um_per_pixel is not None:
            frames = _resample_space(np.ascontiguousarray(frames), um_per_pixel / train_um_per_pixel)
            um_per_pixel = train_um_per_pixel
        if train_frame_rate_hz is not None:
            frames = _resample_time(frames, train_frame_rate_hz / frame_rate_hz)
            frame_rate_hz = train_frame_rate_hz
        low, high = np.percentile(frames, SCALE_PERCENTILES)
        if not high > low:
            raise ParameterError(f"movie {self.name} is constant (or nearly: its {SCALE_PERCENTILES[0]}th and "
                                 f"{SCALE_PERCENTILES[1]}th percentiles are equal); it shows no waves.")
        scaled = np.clip((frames - low) * (255.0 / (high - low)), 0, 255)
        self.frames = np.rint(scaled).astype(np.uint8)
        self.um_per_pixel = um_per_pixel
        self.frame_period_s = 1.0 / frame_rate_hz

    @property
    def frame_shape(self) -> tuple[int, int]:
        return tuple(self.frames.shape[1:])

    @property
    def n_frames(self) -> int:
        return int(self.frames.shape[0])

    def __repr__(self) -> str:
        return (f"UserMovie({self.name!r}: {self.n_frames} frames of {self.frame_shape[0]} x {self.frame_shape[1]} "
                f"px, {self.um_per_pixel:g} um/px, {1 / self.frame_period_s:g} Hz)")
