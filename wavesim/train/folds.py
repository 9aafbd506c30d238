"""Target clips with ids, split into a held-out test set and k cross-validation folds (May et al. 2025).

May et al. cut their corridor movie into clips of 11 frames (10 inputs and
the target) and trained each of 5 replicate networks on one of 5 folds (800
training and 200 validation clips), keeping 500 clips apart as a test set.
:class:`FoldedClips` does the same with any movies: it cuts them into
consecutive clips, numbers the clips (their ids, the keys of the per-clip
paired tests in :mod:`wavesim.train.evaluate.stats`), and splits them by *segment*,
a run of consecutive clips of one movie, so that clips that share frames or
follow one another never fall on both sides of a split.
"""

from __future__ import annotations

import numpy as np
import torch

from ..errors import ParameterError
from ..validate import check_int, check_seed

__all__ = ["FoldedClips", "cut_clips"]


def cut_clips(movies, clip_frames: int = 11, clips_per_segment: int = 10):
    """Cut movies into consecutive, non-overlapping clips and group them into segments.

    Parameters
    ----------
    movies : sequence of array_like
        Movies of shape (T_i, H, W) (float in [0, 1]); their lengths may differ.
    clip_frames : int
        Frames per clip (11: 10 inputs and the target).
    clips_per_segment : int
        Consecutive clips of one movie that form a segment, the unit a split moves.

    Returns
    -------
    clips : numpy.ndarray
        (N, clip_frames, H, W) float32, movie by movie, in time order.
    segments : numpy.ndarray
        (N,) int64, the segment of each clip. A movie's last, incomplete
        segment is dropped with its frames beyond the last whole clip.

    Raises
    ------
    wavesim.errors.ParameterError
        If movies differ in frame shape or none holds one whole segment.
    """
    clip_frames = check_int("clip_frames", clip_frames, low=2)
    clips_per_segment = check_int("clips_per_segment", clips_per_segment, low=1)
    frames_per_segment = clip_frames * clips_per_segment
    pieces, shapes = [], set()
    for movie in movies:
        movie = np.asarray(movie, dtype=np.float32)
        if movie.ndim != 3:
            raise ParameterError(f"each movie must be (T, H, W), got shape {movie.shape}.")
        shapes.add(movie.shape[1:])
        n_segments = movie.shape[0] // frames_per_segment
        if n_segments:
            pieces.append(movie[: n_segments * frames_per_segment].reshape(-1, clip_frames, *movie.shape[1:]))
    if len(shapes) > 1:
        raise ParameterError(f"movies must share one frame shape, got {sorted(shapes)}.")
    if not pieces:
        raise ParameterError(f"no movie holds one segment of {clips_per_segment} clips of {clip_frames} frames "
                             f"({frames_per_segment} frames); give longer movies or a smaller clips_per_segment.")
    clips = np.concatenate(pieces)
    return clips, np.arange(len(clips), dtype=np.int64) // clips_per_segment


class FoldedClips:
    """Clips numbered 0..N-1, split by segment into a test set and ``n_folds`` folds.

    Segments are shuffled with ``seed``; the first ones make the test set
    (``test_clips`` clips), the next ones the folds (``fold_clips`` clips
    in all, the same number in each fold), each fold in turn the
    validation set of one replicate and the other folds its training set.
    Clips beyond ``test_clips + fold_clips`` are not used.

    Parameters
    ----------
    clips : array_like
        (N, T, H, W) float clips.
    segments : array_like
        (N,) segment of each clip (:func:`cut_clips`); all segments the same size.
    n_folds : int
        Cross-validation folds (5).
    fold_clips : int
        Clips shared among the folds (1,000: 800 training and 200 validation per fold).
    test_clips : int
        Held-out test clips (500); 0 for none.
    seed : int
        Seeds the shuffle of the segments.

    Raises
    ------
    wavesim.errors.ParameterError
        If the counts are not whole segments (``fold_clips`` whole segments
        per fold), or there are not enough clips.
    """

    def __init__(self, clips, segments, *, n_folds: int = 5, fold_clips: int = 1000, test_clips: int = 500,
                 seed: int = 0):
        self.clips = torch.as_tensor(np.asarray(clips, dtype=np.float32))
        segments = np.asarray(segments, dtype=np.int64)
        if self.clips.dim() != 4 or segments.shape != (self.clips.shape[0],):
            raise ParameterError(f"clips must be (N, T, H, W) and segments (N,), got {tuple(self.clips.shape)} and "
                                 f"{segments.shape}.")
        self.n_folds = check_int("n_folds", n_folds, low=2)
        fold_clips = check_int("fold_clips", fold_clips, low=self.n_folds)
        test_clips = check_int("test_clips", test_clips, low=0)
        names, sizes = np.unique(segments, return_counts=True)
        if len(set(sizes.tolist())) != 1:
            raise ParameterError(f"all segments must hold the same number of clips, got sizes {sorted(set(sizes))}.")
        size = int(sizes[0])
        if fold_clips % (size * self.n_folds) or test_clips % size:
            raise ParameterError(f"fold_clips ({fold_clips}) must be a multiple of n_folds x segment size "
                                 f"({self.n_folds} x {size}) and test_clips ({test_clips}) of the segment size; "
                                 f"change the counts or the segment size.")
        if fold_clips + test_clips > len(segments):
            raise ParameterError(f"{fold_clips} fold clips and {test_clips} test clips need "
                                 f"{fold_clips + test_clips} clips, got {len(segments)}; make more movies.")
        order = names[np.random.default_rng(check_seed("seed", seed)).permutation(len(names))]
        n_test = test_clips // size
        per_fold = fold_clips // (size * self.n_folds)

        def ids_of(chosen):
            return np.flatnonzero(np.isin(segments, chosen))

        self.test_ids = ids_of(order[:n_test])
        self.fold_ids = [ids_of(order[n_test + k * per_fold: n_test + (k + 1) * per_fold])
                         for k in range(self.n_folds)]

    def fold(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(training ids, validation ids) of fold ``k``: the validation set is fold ``k``, training the others."""
        k = check_int("fold", k, low=0, high=self.n_folds - 1)
        train = np.sort(np.concatenate([ids for j, ids in enumerate(self.fold_ids) if j != k]))
        return train, self.fold_ids[k]

    def __repr__(self) -> str:
        return (f"FoldedClips({self.clips.shape[0]} clips of {tuple(self.clips.shape[1:])}: {self.n_folds} folds of "
                f"{len(self.fold_ids[0])}, {len(self.test_ids)} test clips)")
