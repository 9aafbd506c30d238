"""A user's own video as a target movie: an array or a folder of frame images."""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

from ...errors import ParameterError, RecordingFormatError, RecordingNotFoundError
from ._common import _area_resize, _int_at_least, _unit_gray

__all__ = ["FRAME_SUFFIXES", "load_video", "read_target_movie"]


#: Frame files :func:`load_video` reads from a folder.
FRAME_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")


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


def read_target_movie(path, *, size_px: int = 64, frame_rate_hz: float | None = None,
                      train_frame_rate_hz: float | None = None) -> np.ndarray:
    """A user's movie file or folder as a target movie (:func:`load_video`), optionally at another frame rate.

    Parameters
    ----------
    path : str or os.PathLike
        A folder of frame images, a ``.npy`` array (T, H, W) or (T, H, W, 3|4),
        or a (T, H, W) ``.tif``/``.tiff`` stack or zarr array
        (:func:`wavesim.io.load_movie`).
    size_px : int
        Output side in pixels (central square, area-averaged).
    frame_rate_hz, train_frame_rate_hz : float (Hz), optional
        Give both to resample in time as :class:`~wavesim.data.UserMovie`
        does: the mean of each new frame's span when slowing down, linear
        interpolation when speeding up.

    Returns
    -------
    numpy.ndarray
        (T, size_px, size_px) float32 in [0, 1].

    Raises
    ------
    wavesim.errors.RecordingNotFoundError, wavesim.errors.RecordingFormatError
        For a missing or unreadable file.
    wavesim.errors.ParameterError
        For a bad shape, or only one of the two frame rates.
    """
    from ...data._movies import _positive, _resample_time
    from ...io.recordings import load_movie

    path = Path(path)
    if (frame_rate_hz is None) != (train_frame_rate_hz is None):
        raise ParameterError("give both frame_rate_hz (the movie's) and train_frame_rate_hz (training's) to "
                             "resample a movie in time, or neither.")
    if not path.exists():
        raise RecordingNotFoundError(f"no movie at {path}")
    if path.is_dir():
        video = load_video(path, size_px=size_px)
    elif path.suffix.lower() == ".npy":
        video = load_video(np.load(path), size_px=size_px)
    else:
        video = load_video(load_movie(path, 1.0, 1.0).frames, size_px=size_px)
    if frame_rate_hz is not None:
        ratio = _positive("train_frame_rate_hz", train_frame_rate_hz) / _positive("frame_rate_hz", frame_rate_hz)
        video = np.asarray(_resample_time(video, ratio), dtype=np.float32)
    return video
