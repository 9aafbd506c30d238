"""Clip sets and their batches: fixed sets of clips in memory, streams of wave clips and pairs, epochs.

:func:`make_clip_sets` simulates a :class:`~wavesim.train.waves.WaveSource`
into May et al.'s fixed training and validation sets (:class:`ClipSet`);
:func:`wave_clip_batches` and :func:`pair_batches` turn a stream of waves
(:class:`~wavesim.data.WaveClips`, :class:`~wavesim.data.LiveWaves`,
:class:`~wavesim.data.WavePairs`) into batches without end; the epochs of
:func:`~wavesim.train.protocols.fit_next_frame` come from ``EpochBatches``.
"""

from __future__ import annotations

from typing import Iterable, Iterator

import numpy as np
import torch
import torch.distributed as dist
from tqdm.auto import tqdm

from ..data import FrameTransform
from ..errors import ParameterError
from ..models import model_of
from ..simulate import wave_sequence
from .waves import WaveSource

__all__ = ["ClipSet", "EpochBatches", "make_clip_sets", "pair_batches", "shuffle_clip_frames", "wave_clip_batches"]


class ClipSet(torch.utils.data.Dataset):
    """A fixed set of clips held in memory; item ``i`` is clip ``i``, a (T, H, W) float32 tensor.

    Parameters
    ----------
    clips : torch.Tensor or array_like
        (N, T, H, W) clips.
    """

    def __init__(self, clips):
        clips = torch.as_tensor(clips, dtype=torch.float32)
        if clips.dim() != 4 or clips.shape[0] < 1 or clips.shape[1] < 2:
            raise ParameterError(f"clips must have shape (N, T, H, W) with N >= 1 and T >= 2, got {tuple(clips.shape)}")
        self.clips = clips

    def __len__(self) -> int:
        return self.clips.shape[0]

    def __getitem__(self, index):
        return self.clips[index]


def wave_clip_batches(source: Iterable, device: torch.device, *, shuffle_frames: bool = False,
                      seed: int = 0) -> Iterator[torch.Tensor]:
    """(B, T, H, W) float clips on ``device`` from a WaveClips/LiveWaves iterable (repeated without end).

    With ``shuffle_frames`` each clip's frames come in a random order (the
    ``shuffled_frames`` control), drawn from ``seed``.
    """
    generator = torch.Generator().manual_seed(seed)
    for batch in epochs_of(source):
        clips = clips_of(batch)
        if shuffle_frames:
            clips = shuffle_clip_frames(clips, generator)
        yield clips.to(device, non_blocking=True)


def clips_of(batch) -> torch.Tensor:
    return batch["clips"] if isinstance(batch, dict) else batch


def shuffle_clip_frames(clips: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Each (B, T, ...) clip's frames in an order of its own, from ``generator`` (the ``shuffled_frames`` control)."""
    order = torch.argsort(torch.rand(clips.shape[:2], generator=generator), dim=1).to(clips.device)
    return torch.gather(clips, 1, order[:, :, None, None].expand_as(clips))


def epochs_of(source: Iterable) -> Iterator:
    """The batches of ``source``, epoch after epoch (``set_epoch`` where it has one), without end."""
    epoch = 0
    while True:
        if hasattr(source, "set_epoch"):
            source.set_epoch(epoch)
        got_any = False
        for batch in source:
            got_any = True
            yield batch
        if not got_any:
            raise ParameterError("the data source yielded no batch.")
        epoch += 1


class EpochBatches:
    """One pass over a clip set per call: a map-style dataset through a seeded DataLoader, or a
    batch iterable (WaveClips...) with ``set_epoch``.

    Training batches come shuffled. With ``distributed``, a map-style set is
    shared among the ranks: for training by a DistributedSampler, which pads
    with repeats so that every rank takes as many steps; for validation each
    clip once, as validation runs no collective per batch. Iterable sets
    shard themselves; validation leaves out the repeats they flag as padded.
    """

    def __init__(self, clips, batch_size: int, seed: int, *, training: bool, distributed: bool = False):
        self.clips = clips
        self.training = training
        self.loader = self.sampler = None
        if isinstance(clips, torch.utils.data.Dataset) and not isinstance(clips, torch.utils.data.IterableDataset):
            if len(clips) == 0:
                raise ParameterError("a clip set is empty.")
            order = dict(shuffle=training, generator=torch.Generator().manual_seed(seed))
            if distributed:
                rank, world_size = dist.get_rank(), dist.get_world_size()
                if training:
                    self.sampler = torch.utils.data.DistributedSampler(clips, world_size, rank, shuffle=True, seed=seed)
                    order = dict(sampler=self.sampler)
                else:
                    order = dict(sampler=range(rank, len(clips), world_size))
            self.loader = torch.utils.data.DataLoader(clips, batch_size=batch_size, **order)

    def __call__(self, epoch: int) -> Iterator[torch.Tensor]:
        if self.loader is not None:
            if self.sampler is not None:
                self.sampler.set_epoch(epoch)
            yield from self.loader
            return
        if hasattr(self.clips, "set_epoch"):
            self.clips.set_epoch(epoch)
        got_any = False
        for batch in self.clips:
            got_any = True
            clips = clips_of(batch)
            if not self.training and isinstance(batch, dict) and "padded" in batch:
                clips = clips[~batch["padded"].to(torch.bool)]
                if clips.shape[0] == 0:
                    continue
            yield clips
        if not got_any:
            raise ParameterError("a clip source yielded no batch in an epoch.")


def pair_batches(source: Iterable, device: torch.device) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """(anchor, positive) (B, H, W) frames on ``device`` from a WavePairs iterable, repeated without end."""
    for batch in epochs_of(source):
        frames = batch["frames"].to(device, non_blocking=True)
        yield frames[:, 0], frames[:, 1]


def make_clip_sets(source: WaveSource, seed: int, *, backend: str = "auto",
                   progress: bool = False) -> tuple[ClipSet, ClipSet]:
    """Simulate the training and validation sets of ``source``: two :class:`ClipSet` of (T, H, W) float32 clips.

    The clips are on the CPU. The validation retinas run from a seed
    derived from ``seed``, so no retina contributes to both sets.

    Parameters
    ----------
    source : WaveSource
        The waves and the sets' sizes.
    seed : int
        Seed of the training retinas.
    backend : str
        Simulation backend (``"auto"``, ``"cpu"``, ``"cuda"``...).
    progress : bool
        Show progress bars.

    Returns
    -------
    (ClipSet, ClipSet)
        ``source.training_clips`` and ``source.validation_clips`` clips of ``source.clip_frames`` frames.
    """
    if not isinstance(source, WaveSource):
        raise ParameterError(f"source must be a WaveSource, got {type(source).__name__}")
    validation_seed = int(np.random.SeedSequence([seed, 1]).generate_state(1, np.uint64)[0] >> np.uint64(1))
    return (_simulate(source, source.training_clips, seed, backend, progress, "training waves"),
            _simulate(source, source.validation_clips, validation_seed, backend, progress, "validation waves"))


def _single_wave_clips(source: WaveSource, params, n_clips: int, seed: int, backend: str) -> torch.Tensor:
    """Clips of single waves put back to back, as the released script's dataset is cut into sequences.

    Waves (each until nothing is lit, :func:`wavesim.simulate.wave_sequence`) follow one another;
    consecutive runs of ``clip_frames`` frames are the clips, so a clip may span the end of one
    wave and the start of the next, as in the paper's concatenated data.
    """
    frames = wave_sequence(params, seed, n_clips * source.clip_frames, backend=backend)
    clips = torch.from_numpy(frames).reshape(n_clips, source.clip_frames, *frames.shape[1:])
    return FrameTransform(size_px=source.size_px).apply(clips, value_scale=1)


def _simulate(source: WaveSource, n_clips: int, seed: int, backend: str, progress: bool, label: str) -> ClipSet:
    params = source.params()
    model = model_of(params)
    if model.single_wave is not None and model.single_wave(params):
        return ClipSet(_single_wave_clips(source, params, n_clips, seed, backend))
    n_retinas = min(source.n_retinas, n_clips)
    # rank 0 of 1: the fixed sets are the same in every process, distributed or not
    waves = source.live_waves(batch_size=n_retinas, seed=seed, backend=backend, rank=0, world_size=1)
    clips, got = [], 0
    with tqdm(total=n_clips, desc=label, unit="clip", disable=not progress, leave=False) as bar:
        for batch in waves:
            clips.append(batch["clips"][: n_clips - got].float().cpu())
            got += clips[-1].shape[0]
            bar.update(clips[-1].shape[0])
            if got == n_clips:
                break
    return ClipSet(torch.cat(clips))
