"""Positive pairs of frames within one wave, for contrastive pre-training (Ligeralde et al. 2023)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ParameterError, StoreError
from ..validate import check_int
from ..analysis import AnalysisParams
from ..io.store import open_store
from ._clips import VALUE_SCALE, StoreInfo
from ._frames import FrameTransform
from ._movies import UserMovie
from ._plan import EpochPlan, hash_uniform
from ._sharded import ShardedDataset, as_tensor, worker_pid_cache

_SALT_ANCHOR, _SALT_POSITIVE = 21, 22


class _StoreSource:
    """Frames of a wavesim store's complete movies."""

    def __init__(self, path):
        self.info = StoreInfo.read(path)
        self.label = self.info.path
        self.movies = self.info.movies
        self.frame_shape = self.info.frame_shape
        self.value_scale = VALUE_SCALE[self.info.readout]
        self.um_per_pixel, self.frame_period_s = self.info.um_per_pixel, self.info.frame_period_s

    def movie(self, m: int) -> np.ndarray:
        return open_store(self.info.path).read_movie(m)

    def reader(self):
        """What reads frames in a worker: the opened store (checks the chunks: a damaged store raises, never zeros)."""
        return open_store(self.info.path)


class _MovieSource:
    """Frames of a :class:`~wavesim.data.UserMovie`, held in memory; its one movie is movie 0."""

    def __init__(self, movie: UserMovie):
        self.user_movie = movie
        self.label = movie.name
        self.movies = (0,)
        self.frame_shape = movie.frame_shape
        self.value_scale = VALUE_SCALE["calcium"]
        self.um_per_pixel, self.frame_period_s = movie.um_per_pixel, movie.frame_period_s

    def movie(self, m: int) -> np.ndarray:
        return self.user_movie.frames

    def reader(self):
        return self

    def read_frames(self, m: int, frames: np.ndarray) -> np.ndarray:
        return self.user_movie.frames[frames]


def _sources(stores) -> list:
    if isinstance(stores, (str, Path, UserMovie)):
        stores = [stores]
    stores = list(stores)
    if not stores:
        raise ParameterError("WavePairs needs at least one wavesim store or UserMovie.")
    return [_MovieSource(s) if isinstance(s, UserMovie) else _StoreSource(s) for s in stores]


class WavePairs(ShardedDataset):
    """Pairs of nearby frames of one wave, one pair per wave and epoch, in batches.

    Ligeralde et al. (2023) pre-train with positive pairs of nearby frames
    within one wave and take frames of other waves as negatives. Each item
    here is a wave (of :func:`wavesim.analysis.detect_movie_waves`, computed once
    per movie when the dataset is made); each epoch draws, from (seed,
    epoch, wave), an anchor frame the wave dominates
    (:func:`wavesim.analysis.frame_wave_labels`) and a positive frame of the
    same wave at most ``max_offset_frames`` away, or exactly
    ``frame_separation`` frames away (before or after) when that is given:
    their released code's "chopped" wave segments, positives one frame
    apart. A batch holds distinct waves, so its other pairs are frames of
    other waves: the negatives of an NT-Xent loss.

    The frames come from wavesim stores (binary or calcium readout) or from
    recordings of one's own (:class:`~wavesim.data.UserMovie`: a TIFF stack
    or .npy with its frame rate and pixel size), all of one frame shape.

    Batches are dicts: ``frames`` (B, 2, H, W) float32 (anchor, positive;
    the same crop for both), ``store``, ``movie``, ``wave`` (index within
    the movie), ``wave_id`` (unique over the dataset), ``anchor_frame``,
    ``positive_frame``, ``padded``, and ``epoch``, ``worker``,
    ``worker_batch`` as for :class:`~wavesim.data.WaveClips`, whose sharding,
    shuffling and resume parameters these are too.

    Parameters
    ----------
    stores : path, UserMovie, or a sequence of them
        wavesim stores and user movies (for a user movie, ``store`` in a
        batch is its index in this sequence and ``movie`` is 0).
    max_offset_frames : int
        Largest distance in frames between the anchor and the positive.
    frame_separation : int, optional
        Exact distance in frames between the anchor and the positive
        (replaces ``max_offset_frames``); 1 in Ligeralde et al.'s code.
    analysis : AnalysisParams, optional
        Wave detection settings (activity threshold, minimum wave size).
    """

    def __init__(self, stores, *, max_offset_frames: int = 2, frame_separation: int | None = None,
                 analysis: AnalysisParams | None = None,
                 batch_size: int = 256, crop_px=None, crop: str = "random", size_px=None, shuffle: bool = True,
                 shuffle_window: int = 4096, seed: int = 0, rank: int | None = None, world_size: int | None = None,
                 remainder: str = "drop", drop_last: bool = False):
        super().__init__(batch_size=batch_size, shuffle=shuffle, shuffle_window=shuffle_window, seed=seed, rank=rank,
                         world_size=world_size, remainder=remainder, drop_last=drop_last)
        self.max_offset_frames = check_int("max_offset_frames", max_offset_frames, low=1, what="frames")
        self.frame_separation = check_int("frame_separation", frame_separation, low=1, optional=True, what="frames")
        self.analysis = analysis or AnalysisParams()
        self.transform = FrameTransform(crop_px=crop_px, crop=crop, size_px=size_px)
        self.sources = _sources(stores)
        self.store_paths = [s.label for s in self.sources]
        shapes = {self.transform.output_shape(s.frame_shape) for s in self.sources}
        if len(shapes) != 1 or len({(s.frame_shape, s.value_scale) for s in self.sources}) != 1:
            kinds = ", ".join(f"{s.label}: {s.frame_shape[0]} x {s.frame_shape[1]} px" for s in self.sources)
            raise ParameterError(f"WavePairs needs stores and movies of one frame shape and one readout (binary or "
                                 f"calcium; user movies count as calcium), got {kinds}.")
        self.frame_shape = shapes.pop()
        self._find_waves()
        if self.n_items == 0:
            apart = (f"exactly {self.frame_separation}" if self.frame_separation is not None
                     else f"at most {self.max_offset_frames}")
            raise StoreError(
                f"no wave with two frames {apart} apart in the complete movies of "
                f"{', '.join(self.store_paths)}; use longer movies or lower analysis.min_size_fraction."
            )
        self.plan()  # a sharding that cannot work fails here, not at the first batch
        self._handles: dict = {}

    def _find_waves(self) -> None:
        """Per eligible wave: its movie and the frames it dominates, in CSR form."""
        from ..io.recordings import Movie
        from ..analysis import frame_wave_labels

        sizes, unit_store, unit_movie, wave_index, frames, ptr = [], [], [], [], [], [0]
        for i, s in enumerate(self.sources):
            for m in s.movies:
                labels = frame_wave_labels(Movie(s.movie(m), s.um_per_pixel, s.frame_period_s), self.analysis)
                n = 0
                for w in np.unique(labels[labels >= 0]):
                    own = np.flatnonzero(labels == w)
                    if own.size >= 2 and self._near(own).any():
                        wave_index.append(int(w))
                        frames.append(own)
                        ptr.append(ptr[-1] + own.size)
                        n += 1
                sizes.append(n)
                unit_store.append(i)
                unit_movie.append(m)
        self._unit_sizes = np.asarray(sizes, dtype=np.int64)
        self._unit_store = np.asarray(unit_store, dtype=np.int64)
        self._unit_movie = np.asarray(unit_movie, dtype=np.int64)
        self._item_unit = np.repeat(np.arange(len(sizes)), self._unit_sizes)
        self._item_wave = np.asarray(wave_index, dtype=np.int64)
        self._frames = np.concatenate(frames).astype(np.int64) if frames else np.zeros(0, np.int64)
        self._frame_ptr = np.asarray(ptr, dtype=np.int64)

    def _fingerprint(self) -> dict:
        # a resumed epoch must pair frames as the saved one did
        return {**super()._fingerprint(), "max_offset_frames": self.max_offset_frames,
                "frame_separation": self.frame_separation}

    def _near(self, own: np.ndarray) -> np.ndarray:
        """(n, n) bool: which frames of a wave (sorted frame numbers ``own``) may pair with which."""
        distance = np.abs(own[:, None] - own[None, :])
        if self.frame_separation is not None:
            return distance == self.frame_separation
        near = distance <= self.max_offset_frames
        np.fill_diagonal(near, False)
        return near

    def pair_frames(self, wave_ids: np.ndarray, epoch: int) -> tuple[np.ndarray, np.ndarray]:
        """(anchor, positive) frame of each wave id in ``epoch``: a pure function of (seed, epoch, id)."""
        anchors, positives = [], []
        u_anchor = hash_uniform(self.seed, epoch, wave_ids, _SALT_ANCHOR)
        u_positive = hash_uniform(self.seed, epoch, wave_ids, _SALT_POSITIVE)
        for k, item in enumerate(wave_ids):
            own = self._frames[self._frame_ptr[item] : self._frame_ptr[item + 1]]
            near = self._near(own)
            eligible = np.flatnonzero(near.any(axis=1))
            a = eligible[int(u_anchor[k] * eligible.size)]
            candidates = np.flatnonzero(near[a])
            anchors.append(own[a])
            positives.append(own[candidates[int(u_positive[k] * candidates.size)]])
        return np.asarray(anchors, dtype=np.int64), np.asarray(positives, dtype=np.int64)

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_handles"] = {}
        return state

    def _make_batch(self, plan: EpochPlan, positions: np.ndarray, window: int) -> dict[str, Any]:
        ids, padded = plan.item_ids(positions)
        unit = self._item_unit[ids]
        store, movie = self._unit_store[unit], self._unit_movie[unit]
        anchor, positive = self.pair_frames(ids, plan.epoch)
        source = self.sources[0]
        frames = np.empty((len(ids), 2, *source.frame_shape), dtype=np.uint8)
        for s, m in {(int(s), int(m)) for s, m in zip(store, movie)}:
            rows = np.flatnonzero((store == s) & (movie == m))
            wanted = np.unique(np.concatenate([anchor[rows], positive[rows]]))
            handle = worker_pid_cache(self._handles, s, self.sources[s].reader)
            data = handle.read_frames(m, wanted)
            frames[rows, 0] = data[np.searchsorted(wanted, anchor[rows])]
            frames[rows, 1] = data[np.searchsorted(wanted, positive[rows])]
        offsets = self.transform.offsets(source.frame_shape, ids, self.seed, plan.epoch)
        clips = self.transform.apply(as_tensor(frames), value_scale=source.value_scale, offsets=offsets)
        return {
            "frames": clips,
            "store": as_tensor(store),
            "movie": as_tensor(movie),
            "wave": as_tensor(self._item_wave[ids]),
            "wave_id": as_tensor(ids),
            "anchor_frame": as_tensor(anchor),
            "positive_frame": as_tensor(positive),
            "padded": as_tensor(padded),
        }

