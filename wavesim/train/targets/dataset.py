"""Many target movies of one kind, their train/validation split by movie, and their clips."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ...errors import ParameterError
from ._common import _float_in, _int_at_least
from .corridor import corridor_movie
from .natural_motion import MOTIONS, NATURAL_IMAGES, natural_motion_movie

__all__ = ["TargetClips", "make_target_movies", "split_movies"]


def _corridor(args):
    n_frames, size_px, seed, kw = args
    return corridor_movie(n_frames, size_px=size_px, seed=seed, **kw)


def make_target_movies(kind: str, n_movies: int, n_frames: int, *, size_px: int = 64, seed: int = 0,
                       workers: int = 1, **kw: Any) -> np.ndarray:
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
    workers : int
        Processes that render corridor movies side by side (the movies are the same for any number).
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
    workers = _int_at_least("workers", workers, 1)
    seeds = np.random.SeedSequence(seed).generate_state(n_movies)
    if kind == "corridor":
        jobs = [(n_frames, size_px, int(s), kw) for s in seeds]
        if workers == 1 or n_movies == 1:
            return np.stack([_corridor(job) for job in jobs])
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(min(workers, n_movies)) as pool:
            return np.stack(list(pool.map(_corridor, jobs)))
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
