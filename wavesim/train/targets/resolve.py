"""``resolve``: train and validation clips of a target task named on the command line (a synthetic target or a user's video)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ...errors import ParameterError
from .dataset import TargetClips, make_target_movies, split_movies
from .video import load_video

#: The synthetic targets (:func:`~wavesim.train.targets.make_target_movies`).
TARGETS = ("corridor", "natural")


def target_clips(target: str, *, n_movies: int, n_frames: int, size_px: int, seed: int, validation_fraction: float):
    """Train and validation clips of a target: ``corridor``, ``natural``, a .npy video or a folder of frames."""
    if target in TARGETS:
        movies = make_target_movies(target, n_movies, n_frames, size_px=size_px, seed=seed)
    else:
        path = Path(target)
        if not path.exists():
            raise ParameterError(f"--target must be one of {TARGETS}, a .npy video or a folder of frames; {path} does not exist.")
        video = load_video(np.load(path) if path.suffix == ".npy" else path, size_px=size_px)
        per_movie = max(11, video.shape[0] // n_movies)
        movies = np.stack([video[i * per_movie : (i + 1) * per_movie] for i in range(video.shape[0] // per_movie)])
    train, validation = split_movies(movies, validation_fraction, seed)
    return TargetClips(train), TargetClips(validation)
