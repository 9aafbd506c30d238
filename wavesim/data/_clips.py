"""Clips from wavesim stores, as an IterableDataset of batches."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import ParameterError, StoreError
from ..validate import check_int
from ..io.store import WaveStore, open_store
from ._frames import FrameTransform
from ._plan import EpochPlan
from ._sharded import ShardedDataset, as_tensor, worker_pid_cache

#: Stored value that means 1, by readout.
VALUE_SCALE = {"binary": 1.0, "calcium": 255.0}


@dataclasses.dataclass(frozen=True)
class StoreInfo:
    """What a dataset needs to know of a store, read once in the main process."""

    path: str
    movies: tuple[int, ...]
    n_frames: int
    frame_shape: tuple[int, int]
    chunk_frames: int
    readout: str
    um_per_pixel: float
    frame_period_s: float
    #: Per complete movie, the frames its single wave lasts (``length_frames`` records), or None.
    wave_frames: tuple[int, ...] | None = None

    @classmethod
    def read(cls, path) -> "StoreInfo":
        store = open_store(path)
        movies = store.complete_movies()
        lengths = store.records().get("length_frames") if movies else None
        return cls(
            path=str(Path(path)),
            movies=tuple(movies),
            n_frames=store.n_frames,
            frame_shape=tuple(store.frame_shape),
            chunk_frames=int(store.movies.chunks[1]),
            readout=store.readout,
            um_per_pixel=store.um_per_pixel,
            frame_period_s=store.frame_period_s,
            wave_frames=None if lengths is None else tuple(int(lengths[m]) for m in movies),
        )


def _as_paths(stores) -> list:
    if isinstance(stores, (str, Path)):
        return [stores]
    stores = list(stores)
    if not stores:
        raise ParameterError("stores must name at least one wavesim store.")
    return stores


def pixel_statistics(stores, *, progress: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Per-pixel mean and standard deviation over every frame of the complete movies of ``stores``.

    Values are in the units the datasets yield (stored value / 255 for a
    calcium readout). Pixels that never vary get a standard deviation of 1,
    so z-scoring leaves them at 0 instead of dividing by 0. This is the
    per-pixel normalisation of Ligeralde et al. (2023).
    """
    from tqdm.auto import tqdm

    infos = [StoreInfo.read(p) for p in _as_paths(stores)]
    shapes = {i.frame_shape for i in infos}
    if len(shapes) != 1:
        raise ParameterError(f"per-pixel statistics need stores of one frame shape; got {sorted(shapes)}.")
    total = np.zeros(shapes.pop(), dtype=np.float64)
    total_sq = np.zeros_like(total)
    count = 0
    for info in tqdm(infos, disable=not progress, desc="pixel statistics"):
        store = open_store(info.path)
        scale = VALUE_SCALE[info.readout]
        for m in info.movies:
            frames = store.read_movie(m).astype(np.float64) / scale
            total += frames.sum(axis=0)
            total_sq += np.square(frames).sum(axis=0)
            count += frames.shape[0]
    if count == 0:
        raise StoreError("the stores hold no complete movie to compute statistics from.")
    mean = total / count
    std = np.sqrt(np.maximum(total_sq / count - mean**2, 0.0))
    std[std < 1e-6] = 1.0
    return mean.astype(np.float32), std.astype(np.float32)


class WaveClips(ShardedDataset):
    """Clips of wave movies from one or more wavesim stores, in batches.

    Each batch is a dict: ``clips`` (B, clip_frames, H, W) float32 (0/1 for a
    binary readout, stored value / 255 for calcium, or z-scored), and per
    clip its provenance: ``store`` (index into :attr:`store_paths`),
    ``movie``, ``first_frame``, ``clip_id`` and ``padded`` (a repeat added by
    ``remainder="pad"``); with ``wave_labels``, ``wave`` (B, clip_frames):
    the wave each frame belongs to within its movie (-1: none), from
    :func:`wavesim.analysis.frame_wave_labels`. Also ``epoch``, ``worker`` and
    ``worker_batch``, which :meth:`state_dict` uses.

    Resumable mid-epoch through :meth:`loader` (``loader.state_dict()``) or
    torchdata's ``StatefulDataLoader(ds, batch_size=None, ...)``, whose
    workers save and restore their own places (:mod:`wavesim.data._state`).

    Use it as ``ds.loader(num_workers=...)`` or ``DataLoader(ds, batch_size=None, ...)``.

    Parameters
    ----------
    stores : path or sequence of paths
        Stores made by ``wavesim generate``. Only movies complete when the
        dataset is made are read (a store still being written is safe).
    clip_frames : int
        Frames per clip (May et al. 2025: 11, ten inputs and a target).
    frame_stride : int
        Take every ``frame_stride``-th frame.
    clip_step : int, optional
        Frames between the first frames of consecutive clips of a movie
        (default: the clip's span, so clips do not overlap).
    batch_size : int
    crop_px, crop, size_px : see :class:`~wavesim.data.FrameTransform`.
    zscore : bool or (mean, std)
        Z-score each pixel with statistics over the whole dataset
        (:func:`pixel_statistics`, computed here if ``True``), before cropping.
    wave_labels : bool
        Add each frame's wave (computed once per movie when the dataset is made).
    within_waves : bool
        Stores of single-wave movies (``length_frames`` records, e.g. the
        directional model's wave mode): only clips that end before the
        movie's wave does, so no clip holds the dark padding after it.
    shuffle : bool
        Shuffle the order of reads and, within windows of ``shuffle_window``
        clips, the clips (the shuffle buffer).
    shuffle_window : int
    seed : int
        With the epoch, fixes order, crops and everything else drawn at random.
    rank, world_size : int, optional
        This process's share under distributed training; default from
        ``torch.distributed`` if initialised, else a single process.
    remainder : {"drop", "pad", "error"}
        Clips that do not divide evenly among ranks are left out, or ranks
        are padded with repeats, so that every rank yields the same count;
        or (``"error"``) such a world size is refused when the dataset is made.
    drop_last : bool
        Leave out a rank's last batch if it is short.
    """

    def __init__(
        self,
        stores,
        *,
        clip_frames: int = 11,
        frame_stride: int = 1,
        clip_step: int | None = None,
        batch_size: int = 32,
        crop_px=None,
        crop: str = "random",
        size_px=None,
        zscore=False,
        wave_labels: bool = False,
        within_waves: bool = False,
        shuffle: bool = True,
        shuffle_window: int = 2048,
        seed: int = 0,
        rank: int | None = None,
        world_size: int | None = None,
        remainder: str = "drop",
        drop_last: bool = False,
    ):
        super().__init__(batch_size=batch_size, shuffle=shuffle, shuffle_window=shuffle_window, seed=seed, rank=rank,
                         world_size=world_size, remainder=remainder, drop_last=drop_last)
        self.clip_frames = check_int("clip_frames", clip_frames, low=1)
        self.frame_stride = check_int("frame_stride", frame_stride, low=1)
        self.span_frames = (self.clip_frames - 1) * self.frame_stride + 1
        self.clip_step = self.span_frames if clip_step is None else check_int("clip_step", clip_step, low=1)
        self.transform = FrameTransform(crop_px=crop_px, crop=crop, size_px=size_px)
        self.stores = [StoreInfo.read(p) for p in _as_paths(stores)]
        self.within_waves = bool(within_waves)
        if self.within_waves:
            plain = [s.path for s in self.stores if s.wave_frames is None]
            if plain:
                raise ParameterError(
                    f"within_waves needs stores of single-wave movies (with length_frames records, e.g. "
                    f"'wavesim generate --model directional'); {', '.join(plain)} has none."
                )
        self.store_paths = [s.path for s in self.stores]
        shapes = {self.transform.output_shape(s.frame_shape) for s in self.stores}
        if len(shapes) != 1:
            raise ParameterError(
                f"the stores' frames have different shapes {sorted({s.frame_shape for s in self.stores})}; "
                f"pass crop_px or size_px to bring them to one."
            )
        self.frame_shape = shapes.pop()
        for s in self.stores:
            if s.n_frames < self.span_frames:
                raise ParameterError(
                    f"{s.path} has movies of {s.n_frames} frames, shorter than one clip "
                    f"({clip_frames} frames at stride {frame_stride} span {self.span_frames})."
                )
        self._build_units()
        if self.n_items == 0:
            raise StoreError(f"the stores hold no complete movie: {', '.join(self.store_paths)}.")
        self.plan()  # a sharding that cannot work fails here, not at the first batch
        self._stats = self._zscore_stats(zscore)
        self._labels = self._wave_labels() if wave_labels else None
        self._handles: dict = {}

    # ------------------------------------------------------------------ layout

    def clips_per_movie(self, store: int, movie_frames: int | None = None) -> int:
        """Clips of a movie of ``store`` (of ``movie_frames`` frames, default the store's)."""
        frames = self.stores[store].n_frames if movie_frames is None else movie_frames
        return max(0, (frames - self.span_frames) // self.clip_step + 1)

    def _build_units(self) -> None:
        """Units are the clips whose first frames fall in one chunk-sized block of a movie."""
        sizes, unit_store, unit_movie, unit_first = [], [], [], []
        for i, s in enumerate(self.stores):
            block = max(s.chunk_frames, self.clip_step)
            for j, m in enumerate(s.movies):
                # Within waves: only clips that end before the movie's wave does.
                n = self.clips_per_movie(i, min(s.wave_frames[j], s.n_frames) if self.within_waves else None)
                if n == 0:
                    continue
                unit_of_clip = (np.arange(n) * self.clip_step) // block
                per_unit = np.bincount(unit_of_clip)
                first_clip = np.concatenate([[0], np.cumsum(per_unit)[:-1]])
                sizes.append(per_unit)
                unit_store.append(np.full(per_unit.size, i))
                unit_movie.append(np.full(per_unit.size, m))
                unit_first.append(first_clip)
        cat = (lambda parts: np.concatenate(parts).astype(np.int64)) if sizes else (lambda parts: np.zeros(0, np.int64))
        self._unit_sizes = cat(sizes)
        self._unit_store, self._unit_movie, self._unit_first_clip = cat(unit_store), cat(unit_movie), cat(unit_first)
        self._unit_item_start = np.concatenate([[0], np.cumsum(self._unit_sizes)[:-1]]).astype(np.int64)

    def locate(self, clip_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(unit, store, movie, first_frame) of each clip id."""
        clip_ids = np.asarray(clip_ids, dtype=np.int64)
        unit = np.searchsorted(self._unit_item_start, clip_ids, side="right") - 1
        first = (self._unit_first_clip[unit] + clip_ids - self._unit_item_start[unit]) * self.clip_step
        return unit, self._unit_store[unit], self._unit_movie[unit], first

    def clip(self, clip_id: int) -> dict[str, Any]:
        """Provenance of one clip: store path, movie, first frame and the frame indices it holds."""
        _, store, movie, first = (int(a[0]) for a in self.locate(np.array([clip_id])))
        return {
            "store": self.store_paths[store],
            "movie": movie,
            "first_frame": first,
            "frames": list(range(first, first + self.span_frames, self.frame_stride)),
        }

    # ------------------------------------------------------------------ normalisation and labels

    def _zscore_stats(self, zscore):
        if zscore is False or zscore is None:
            return None
        if zscore is True:
            mean, std = pixel_statistics(self.store_paths)
        else:
            try:
                mean, std = (np.asarray(a, dtype=np.float32) for a in zscore)
            except (TypeError, ValueError):
                raise ParameterError("zscore must be True, False, or a (mean, std) pair of per-pixel arrays.") from None
        shape = self.stores[0].frame_shape
        if any(s.frame_shape != shape for s in self.stores) or mean.shape != shape or std.shape != shape:
            raise ParameterError(f"zscore needs stores of one frame shape and (mean, std) of that shape, {shape}.")
        if not (std > 0).all():
            raise ParameterError("zscore std must be positive everywhere.")
        return mean, std

    def _wave_labels(self) -> dict[tuple[int, int], np.ndarray]:
        from ..io.recordings import Movie
        from ..analysis import frame_wave_labels

        labels = {}
        for i, s in enumerate(self.stores):
            store = open_store(s.path)
            for m in s.movies:
                movie = Movie(store.read_movie(m), s.um_per_pixel, s.frame_period_s)
                labels[(i, m)] = frame_wave_labels(movie).astype(np.int32)
        return labels

    # ------------------------------------------------------------------ reading

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_handles"] = {}  # store handles are per process
        return state

    def _store(self, i: int) -> WaveStore:
        return worker_pid_cache(self._handles, i, lambda: open_store(self.store_paths[i]))

    def _read_units(self, units: np.ndarray) -> dict[int, tuple[int, np.ndarray]]:
        """Frames of each unit: ``unit -> (first frame read, (n, H, W) uint8)``."""
        cache = worker_pid_cache(self._handles, "units", dict)
        wanted = {int(u) for u in np.unique(units)}
        for u in list(cache):
            if u not in wanted:
                del cache[u]
        for u in wanted - cache.keys():
            lo = int(self._unit_first_clip[u]) * self.clip_step
            hi = (int(self._unit_first_clip[u] + self._unit_sizes[u]) - 1) * self.clip_step + self.span_frames
            # read_movie checks the chunks, so a damaged store raises StoreCorruptError, not zeros.
            cache[u] = lo, self._store(int(self._unit_store[u])).read_movie(int(self._unit_movie[u]), lo, hi)
        return cache

    def _make_batch(self, plan: EpochPlan, positions: np.ndarray, window: int) -> dict[str, Any]:
        window_ids, _ = plan.item_ids(plan.window_positions(window))
        units = self._read_units(self.locate(window_ids)[0])
        ids, padded = plan.item_ids(positions)
        unit, store, movie, first = self.locate(ids)
        frame_offsets = np.arange(0, self.span_frames, self.frame_stride)
        kinds = {(self.stores[int(s)].frame_shape, self.stores[int(s)].readout) for s in np.unique(store)}
        if len(kinds) == 1:
            shape0 = kinds.pop()[0]
            frames = np.empty((len(ids), self.clip_frames, *shape0), dtype=np.uint8)
            for k, (u, f) in enumerate(zip(unit, first)):
                lo, data = units[int(u)]
                frames[k] = data[f - lo + frame_offsets]
            clips = self._transform(as_tensor(frames), ids, store, plan.epoch)
        else:
            clips = torch.cat(
                [
                    self._transform(as_tensor(units[int(u)][1][f - units[int(u)][0] + frame_offsets][None]),
                                    ids[k : k + 1], store[k : k + 1], plan.epoch)
                    for k, (u, f) in enumerate(zip(unit, first))
                ]
            )
        batch = {
            "clips": clips,
            "store": as_tensor(store),
            "movie": as_tensor(movie),
            "first_frame": as_tensor(first),
            "clip_id": as_tensor(ids),
            "padded": as_tensor(padded),
        }
        if self._labels is not None:
            batch["wave"] = as_tensor(
                np.stack([self._labels[(int(s), int(m))][f + frame_offsets] for s, m, f in zip(store, movie, first)])
            ).long()
        return batch

    def _transform(self, frames: torch.Tensor, ids: np.ndarray, store: np.ndarray, epoch: int) -> torch.Tensor:
        info = self.stores[int(store[0])]
        mean = std = None
        if self._stats is not None:
            mean, std = (torch.from_numpy(a) for a in self._stats)
        offsets = self.transform.offsets(info.frame_shape, ids, self.seed, epoch)
        return self.transform.apply(frames, value_scale=VALUE_SCALE[info.readout], offsets=offsets, mean=mean, std=std)

