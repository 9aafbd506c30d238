"""May et al. (2025): the fixed wave sets, the target clips (corridor or a user's movies), seeds, and their cache.

Every data set is a pure function of the configuration and its seed: a
resumed run rebuilds it (or reads it from ``OUT/data``) and checks its
digest against the one the run recorded, so a resumed run trains on the
very same clips.
"""

from __future__ import annotations

import hashlib
import os
import zlib
from pathlib import Path

import numpy as np
import torch

from ..errors import ParameterError
from ..train.folds import FoldedClips, cut_clips
from ._may_config import WAVE_SETS, MayConfig

#: Frames per clip: 10 inputs and the target.
CLIP_FRAMES = 11


def derived_seed(root: int, *parts) -> int:
    """A seed for one purpose (``parts``, strings and integers) derived from the run's root seed."""
    words = [int(root)] + [zlib.crc32(p.encode()) if isinstance(p, str) else int(p) for p in parts]
    return int(np.random.SeedSequence(words).generate_state(1, np.uint64)[0] >> np.uint64(1))


def digest(tensor: torch.Tensor) -> str:
    """SHA-256 of a tensor's dtype, shape and bytes."""
    array = np.ascontiguousarray(tensor.detach().cpu().numpy())
    h = hashlib.sha256(str((array.dtype.str, array.shape)).encode())
    h.update(array.tobytes())
    return h.hexdigest()


def wave_set(config: MayConfig, name: str, *, backend: str = "auto", progress: bool = False):
    """The fixed training and validation clips of wave set ``name`` (:data:`WAVE_SETS`).

    Returns
    -------
    clips : torch.Tensor
        (N_train + N_validation, 11, size_px, size_px) float32, training clips first.
    train_ids, validation_ids : numpy.ndarray
        Their indices in ``clips``.
    """
    from ..train.clip_sets import make_clip_sets
    from ..train.waves import WaveSource

    model, preset = WAVE_SETS[name]
    warmup_s = config.amacrine_warmup_s if model == "amacrine" else None
    source = WaveSource(wave_model=model, wave_preset=preset, warmup_s=warmup_s, size_px=config.size_px,
                        clip_frames=CLIP_FRAMES,
                        training_clips=config.wave_training_clips, validation_clips=config.wave_validation_clips,
                        n_retinas=config.wave_retinas)
    train, validation = make_clip_sets(source, derived_seed(config.seed, "waves", name), backend=backend,
                                       progress=progress)
    clips = torch.cat([train.clips, validation.clips])
    n = len(train)
    return clips, np.arange(n), np.arange(n, len(clips))


def corridor_clips(config: MayConfig) -> FoldedClips:
    """The corridor clips at the configuration's counts: movies of ``clips_per_segment`` clips each, split."""
    from ..train.targets import make_target_movies

    n_movies = (config.fold_clips + config.test_clips) // config.clips_per_segment
    movies = make_target_movies("corridor", n_movies, config.clips_per_segment * CLIP_FRAMES,
                                size_px=config.size_px, seed=derived_seed(config.seed, "corridor"),
                                workers=min(8, os.cpu_count() or 1))
    return _folded(config, movies)


def movie_clips(config: MayConfig, paths, *, frame_rate_hz=None, train_frame_rate_hz=None) -> FoldedClips:
    """A user's movies through the same clip cutting, folds and test split as the corridor.

    Each movie (:func:`~wavesim.train.targets.read_target_movie`) is cut into
    consecutive clips of 11 frames; runs of ``clips_per_segment`` clips are
    the segments that folds and the test set take whole.
    """
    from ..train.targets import read_target_movie

    if not paths:
        raise ParameterError("give at least one target movie.")
    movies = [read_target_movie(p, size_px=config.size_px, frame_rate_hz=frame_rate_hz,
                                train_frame_rate_hz=train_frame_rate_hz) for p in paths]
    return _folded(config, movies)


def _folded(config: MayConfig, movies) -> FoldedClips:
    clips, segments = cut_clips(movies, CLIP_FRAMES, config.clips_per_segment)
    return FoldedClips(clips, segments, n_folds=config.n_folds, fold_clips=config.fold_clips,
                       test_clips=config.test_clips, seed=derived_seed(config.seed, "split"))


class DataCache:
    """Data sets kept in ``folder`` as ``NAME.pt`` and checked against the digests a run recorded.

    Parameters
    ----------
    folder : Path
        Where the files go (``OUT/data``).
    digests : dict
        Name -> digest of the run; filled in as sets are first built, checked when they are built again.
    """

    def __init__(self, folder: Path, digests: dict):
        self.folder = Path(folder)
        self.digests = digests

    def get(self, name: str, build) -> dict:
        """The set ``name``: read from the cache, or ``build()`` (a dict with a ``clips`` tensor) and saved.

        Raises
        ------
        wavesim.errors.ParameterError
            If the set differs from the one the run started with (another
            wavesim, another machine's arithmetic, or edited files).
        """
        path = self.folder / f"{name}.pt"
        data = torch.load(path, weights_only=True) if path.is_file() else None
        if data is None:
            data = build()
            self.folder.mkdir(parents=True, exist_ok=True)
            partial = path.with_name(path.name + ".partial")
            torch.save(data, partial)
            partial.replace(path)
        found = digest(data["clips"])
        expected = self.digests.setdefault(name, found)
        if found != expected:
            raise ParameterError(f"the {name} clips differ from those this run started with (digest {found[:12]} "
                                 f"against {expected[:12]}); a resumed run must see the same data: resume with "
                                 f"the wavesim version and files it started with, or start a new run.")
        return data
