"""Ligeralde et al.'s (2023) contrastive data flow: whole waves in memory, their batches, loss and shuffle controls.

Read from their released code (repository chung-neuroai-lab/retinal_waves_learning
at f39aa6d: ``src/train.py``, ``src/losses.py``, ``src/data.py``):

* the recording's frames are z-scored per pixel over the whole recording
  and then min-max scaled to [0, 1] over all of it (their ``StandardScaler``
  and min-max, :func:`load_wave_frames`);
* a wave is a run of frames; the waves are concatenated in time order and
  a batch is a run of whole, consecutive waves, closed once it holds more
  than ``frame_limit`` frames and a multiple of 4 (their
  ``get_retinal_waves_batch_size``, :func:`wave_batches`); every batch is
  one forward pass, so all its frames share the batch-norm statistics;
* each frame's positives are the frames ``frame_separation`` frames before
  and after it in its wave, summed in the numerator; the denominator sums
  the frames of the other waves of the batch only: the anchor's own wave's
  other frames are neither positive nor negative (their ``SimCLR_Loss``
  with ``chop_variable_waves_size_into_segments``, :func:`wave_contrastive_loss`);
* the controls shuffle the data, not the weights: ``temporal`` permutes all
  frames of the set, ``spatial`` the pixels of every frame, each channel of
  the three-channel frame with its own permutation, ``spatiotemporal``
  both, in that order (their ``handling_retinal_wave_shuffling``,
  :func:`shuffle_frames`). The wave bookkeeping (which slot belongs to
  which wave) is left as it was, so a shuffle changes only what it names.
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from wavesim.errors import ParameterError
from wavesim.validate import check_int, check_number

__all__ = ["SHUFFLES", "WaveFrames", "load_wave_frames", "shuffle_frames", "split_waves", "wave_batches",
           "wave_contrastive_loss", "wave_pair_batches"]

#: The data controls of :func:`shuffle_frames` ("unshuffled" is the data as they are).
SHUFFLES = ("unshuffled", "temporal", "spatial", "spatiotemporal")
#: Their frames: 32 x 32 pixels.
FRAME_PX = 32
# Salts of the per-wave draws of the pairs option.
_SALT_ANCHOR, _SALT_POSITIVE = 31, 32


@dataclasses.dataclass(frozen=True)
class WaveFrames:
    """The frames of whole waves, wave after wave in time order, as one tensor.

    Attributes
    ----------
    frames : torch.Tensor
        (T, C, 32, 32) float32; C = 1 (grayscale, repeated to three channels
        by the network) or 3 (after a spatial shuffle, which shuffles the
        channels separately).
    wave : ndarray of int64, (T,)
        Which wave each slot belongs to: 0, 1, ... in order, each wave's
        slots contiguous.
    time : ndarray of int64, (T,)
        Each slot's frame number in its movie: positives are slots of one
        wave ``frame_separation`` apart in time.
    source : str
        Where the frames came from, for reports.
    """

    frames: torch.Tensor
    wave: np.ndarray
    time: np.ndarray
    source: str = ""

    def __post_init__(self):
        n = self.frames.shape[0]
        if self.frames.dim() != 4 or self.wave.shape != (n,) or self.time.shape != (n,):
            raise ParameterError(f"WaveFrames needs (T, C, H, W) frames with one wave and time per frame, got frames "
                                 f"{tuple(self.frames.shape)}, wave {self.wave.shape}, time {self.time.shape}")
        if n and (np.diff(self.wave) < 0).any():
            raise ParameterError("WaveFrames.wave must be non-decreasing: each wave's frames contiguous, in order")

    @property
    def lengths(self) -> np.ndarray:
        """Frames per wave, (n_waves,) int64."""
        if not len(self.wave):
            return np.zeros(0, dtype=np.int64)
        return np.bincount(self.wave - self.wave[0]).astype(np.int64)

    @property
    def n_waves(self) -> int:
        return int(len(self.lengths))

    def select(self, waves: np.ndarray) -> "WaveFrames":
        """The frames of the waves ``waves`` (sorted indices into :attr:`lengths`), renumbered from 0."""
        waves = np.asarray(waves, dtype=np.int64)
        starts = np.concatenate([[0], np.cumsum(self.lengths)])
        slots = np.concatenate([np.arange(starts[w], starts[w + 1]) for w in waves]) if waves.size else \
            np.zeros(0, dtype=np.int64)
        renumbered = np.repeat(np.arange(waves.size), self.lengths[waves])
        return WaveFrames(self.frames[torch.from_numpy(slots)], renumbered, self.time[slots], self.source)

    def to(self, device) -> "WaveFrames":
        """The same waves with their frames on ``device``."""
        return dataclasses.replace(self, frames=self.frames.to(device))


def _resize(frames: np.ndarray) -> torch.Tensor:
    """(T, H, W) float frames as (T, 1, 32, 32), area-averaged where they are larger."""
    tensor = torch.from_numpy(np.ascontiguousarray(frames, dtype=np.float32))[:, None]
    if tensor.shape[-2:] != (FRAME_PX, FRAME_PX):
        tensor = F.interpolate(tensor, size=(FRAME_PX, FRAME_PX), mode="area")
    return tensor


def normalise_recording(frames: torch.Tensor) -> torch.Tensor:
    """Their normalisation: z-score every pixel over all frames, then min-max scale the whole set to [0, 1].

    As scikit-learn's ``StandardScaler`` (population sd; a pixel that never
    changes is centred and left unscaled), then ``(x - min) / (max - min)``.
    """
    flat = frames.reshape(frames.shape[0], -1).double()
    mean = flat.mean(dim=0)
    sd = flat.std(dim=0, unbiased=False)
    sd = torch.where(sd > 0, sd, torch.ones_like(sd))
    z = (flat - mean) / sd
    low, high = z.min(), z.max()
    if not high > low:
        raise ParameterError("the recording's frames are all the same after z-scoring: there is nothing to scale "
                             "to [0, 1]; use movies with waves in them.")
    return ((z - low) / (high - low)).float().reshape(frames.shape)


def load_wave_frames(sources, *, analysis=None, normalise: bool = True) -> WaveFrames:
    """Every wave of wavesim stores or user movies, as their code holds a recording's waves.

    All complete movies are read in order, reduced to 32 x 32 pixels (area
    averaging) and, with ``normalise``, scaled as one recording by
    :func:`normalise_recording`. A wave's frames are those it dominates
    (:func:`wavesim.analysis.frame_wave_labels`, on the movie at its own
    resolution), in time order; waves are ordered by movie, then by onset.

    Parameters
    ----------
    sources : path, UserMovie, or a sequence of them
        wavesim stores (binary or calcium) and :class:`~wavesim.data.UserMovie` recordings.
    analysis : AnalysisParams, optional
        Wave detection settings.
    normalise : bool
        Their per-pixel z-scoring and min-max scaling; False: the frames' values / their scale ([0, 1]).

    Returns
    -------
    WaveFrames
    """
    from ..analysis import AnalysisParams, frame_wave_labels
    from ..data._pairs import _sources
    from ..io.recordings import Movie

    analysis = analysis or AnalysisParams()
    movies, labels = [], []
    resolved = _sources(sources)
    for source in resolved:
        for m in source.movies:
            frames = source.movie(m)
            labels.append(frame_wave_labels(Movie(frames, source.um_per_pixel, source.frame_period_s), analysis))
            movies.append(_resize(frames.astype(np.float32) / source.value_scale))
    recording = torch.cat(movies) if movies else torch.zeros(0, 1, FRAME_PX, FRAME_PX)
    if normalise and len(recording):
        recording = normalise_recording(recording)
    slots, waves, times, offset, n_waves = [], [], [], 0, 0
    for movie_labels in labels:
        for w in np.unique(movie_labels[movie_labels >= 0]):
            own = np.flatnonzero(movie_labels == w)
            slots.append(own + offset)
            times.append(own)
            waves.append(np.full(own.size, n_waves))
            n_waves += 1
        offset += movie_labels.size
    if n_waves < 2:
        raise ParameterError(f"found {n_waves} wave(s) in {', '.join(s.label for s in resolved)}: contrastive "
                             f"training on waves needs at least 2 (other waves are the negatives); use longer "
                             f"or more movies, or lower analysis.min_size_fraction.")
    slots = np.concatenate(slots)
    return WaveFrames(recording[torch.from_numpy(slots)], np.concatenate(waves), np.concatenate(times),
                      source=", ".join(str(s.label) for s in resolved))


def split_waves(waves: WaveFrames, train_fraction: float, rng: np.random.Generator) -> tuple[WaveFrames, WaveFrames]:
    """Their validation split: a random ``1 - train_fraction`` of the waves held out (int of the count), both sorted.

    Returns
    -------
    (WaveFrames, WaveFrames)
        Training and validation waves (validation empty when ``train_fraction`` is 1).
    """
    train_fraction = check_number("train_fraction", train_fraction)
    if not 0 < train_fraction <= 1:
        raise ParameterError(f"train_fraction must be in (0, 1] (their TRAIN_PROP: 0.9), got {train_fraction!r}")
    order = rng.permutation(waves.n_waves)
    n_val = int(waves.n_waves * (1 - train_fraction))
    return waves.select(np.sort(order[n_val:])), waves.select(np.sort(order[:n_val]))


def shuffle_frames(waves: WaveFrames, shuffle: str, generator: torch.Generator) -> WaveFrames:
    """One of their data controls; the wave bookkeeping stays, only the frames' content moves.

    Parameters
    ----------
    waves : WaveFrames
    shuffle : {"unshuffled", "temporal", "spatial", "spatiotemporal"}
        ``temporal``: the frames of the whole set permuted (each slot of a
        wave gets a random frame of any wave); ``spatial``: the three
        channels of every frame each with a permutation of their own of the
        pixels (so the frames become three-channel); ``spatiotemporal``:
        temporal, then spatial.
    generator : torch.Generator
        Source of the permutations (CPU).

    Returns
    -------
    WaveFrames
    """
    if shuffle not in SHUFFLES:
        raise ParameterError(f"shuffle must be one of {SHUFFLES}, got {shuffle!r}")
    frames = waves.frames
    if shuffle in ("temporal", "spatiotemporal"):
        frames = frames[torch.randperm(frames.shape[0], generator=generator).to(frames.device)]
    if shuffle in ("spatial", "spatiotemporal"):
        n, _, h, w = frames.shape
        flat = frames.expand(n, 3, h, w).reshape(n, 3, h * w)
        # argsort of uniform noise: an independent uniform permutation per frame and channel
        order = torch.rand(n, 3, h * w, generator=generator).argsort(dim=-1).to(frames.device)
        frames = flat.gather(-1, order).reshape(n, 3, h, w)
    return dataclasses.replace(waves, frames=frames)


def wave_batches(lengths: Sequence[int], frame_limit: int = 3000) -> list[tuple[int, int]]:
    """Their batches of whole consecutive waves: (first wave, one past the last wave) per batch.

    Waves are added in order; a batch closes before wave i once the waves
    before it hold more than ``frame_limit`` frames and a multiple of 4. As
    in their loop, the last wave of the set is never in a batch (the loop
    closes the final batch one wave early), and the final batch takes what
    is left otherwise. A batch of a single wave (possible only at the end)
    is left out: it has no negatives (their loss would be infinite there).

    Parameters
    ----------
    lengths : sequence of int
        Frames per wave, in order.
    frame_limit : int
        Their ``BATCH_SIZE_LIMIT`` (3000).

    Returns
    -------
    list of (int, int)
    """
    lengths = [int(n) for n in lengths]
    frame_limit = check_int("frame_limit", frame_limit, low=1, what="frames")
    batches, left, total = [], 0, 0  # total: frames of waves left ... right - 1
    for right in range(len(lengths)):
        if total > frame_limit and total % 4 == 0:
            batches.append((left, right))
            left, total = right, lengths[right]
            continue
        if right == len(lengths) - 1:
            batches.append((left, right))
            break
        total += lengths[right]
    batches = [(first, stop) for first, stop in batches if stop - first >= 2]
    if not batches:
        raise ParameterError(f"{len(lengths)} waves make no batch of two or more waves (their batching leaves the "
                             f"last wave out): give more waves")
    return batches


def wave_contrastive_loss(z: torch.Tensor, wave, time, *, temperature: float = 0.5,
                          frame_separation: int = 1) -> torch.Tensor:
    """Their SimCLR loss on a batch of whole waves.

    For each frame i with at least one positive,
    ``-log( sum_pos exp(s_ij / t) / sum_neg exp(s_ij / t) )`` with s the
    cosine similarity; positives are the frames of i's wave exactly
    ``frame_separation`` frames away in time (both neighbours), negatives
    every frame of another wave. The loss is the mean over those frames.
    Computed with log-sum-exp (their code exponentiates directly; the same
    value where theirs does not overflow).

    Parameters
    ----------
    z : torch.Tensor
        (B, D) projections of the batch's frames (normalised here).
    wave, time : array_like of int, (B,)
        Each frame's wave and frame number.
    temperature : float
        Their tau, 0.5.
    frame_separation : int
        Their FRAME_SEPARATION, 1.

    Returns
    -------
    torch.Tensor
        Scalar loss.
    """
    if z.dim() != 2:
        raise ParameterError(f"z must be (B, D) projections, got shape {tuple(z.shape)}")
    wave = torch.as_tensor(np.asarray(wave), device=z.device)
    time = torch.as_tensor(np.asarray(time), device=z.device)
    if wave.shape != (z.shape[0],) or time.shape != (z.shape[0],):
        raise ParameterError(f"wave and time need one entry per row of z ({z.shape[0]}), got {tuple(wave.shape)} "
                             f"and {tuple(time.shape)}")
    temperature = check_number("temperature", temperature, low=0, low_open=True)
    same = wave[:, None] == wave[None, :]
    if same.all():
        raise ParameterError("the batch holds one wave: there are no negatives (frames of other waves)")
    positive = same & ((time[:, None] - time[None, :]).abs() == frame_separation)
    anchors = positive.any(dim=1)
    if not anchors.any():
        raise ParameterError(f"no frame of the batch has a frame of its wave {frame_separation} frame(s) away: "
                             "there are no positives")
    unit = F.normalize(z, dim=1)
    logits = unit @ unit.T / temperature
    log_positive = logits.masked_fill(~positive, float("-inf")).logsumexp(dim=1)
    log_negative = logits.masked_fill(same, float("-inf")).logsumexp(dim=1)
    return -(log_positive - log_negative)[anchors].mean()


def wave_pair_batches(waves: WaveFrames, batch_size: int, *, seed: int, epoch: int,
                      frame_separation: int = 1) -> list[tuple[np.ndarray, np.ndarray]]:
    """wavesim's earlier pairs option on the same data: one (anchor, positive) pair per wave, ``batch_size`` waves a batch.

    Per epoch the waves come in a random order (from ``seed`` and
    ``epoch``); each wave gives an anchor, uniform among its frames with a
    positive ``frame_separation`` away, and one of those positives; the
    last, partial batch is dropped. Trained with NT-Xent on two forward
    passes (:func:`~wavesim.train.losses.nt_xent_loss`): the other pairs'
    frames are the negatives. A pure function of (seed, epoch), so that a
    run resumes exactly.

    Returns
    -------
    list of (ndarray, ndarray)
        Slot indices (into ``waves.frames``) of the anchors and positives of each batch.
    """
    from ..data._plan import hash_uniform

    batch_size = check_int("batch_size", batch_size, low=2, what="waves per batch")
    starts = np.concatenate([[0], np.cumsum(waves.lengths)])
    eligible = []
    for w in range(waves.n_waves):
        times = waves.time[starts[w]:starts[w + 1]]
        near = np.abs(times[:, None] - times[None, :]) == frame_separation
        if near.any():
            eligible.append((w, near))
    if len(eligible) < batch_size:
        raise ParameterError(f"{len(eligible)} waves have frames {frame_separation} apart, fewer than batch_size "
                             f"({batch_size}); lower the batch size.")
    ids = np.array([w for w, _ in eligible])
    u_anchor = hash_uniform(seed, epoch, ids, _SALT_ANCHOR)
    u_positive = hash_uniform(seed, epoch, ids, _SALT_POSITIVE)
    anchors, positives = np.empty(ids.size, np.int64), np.empty(ids.size, np.int64)
    for k, (w, near) in enumerate(eligible):
        rows = np.flatnonzero(near.any(axis=1))
        a = rows[int(u_anchor[k] * rows.size)]
        candidates = np.flatnonzero(near[a])
        anchors[k] = starts[w] + a
        positives[k] = starts[w] + candidates[int(u_positive[k] * candidates.size)]
    order = np.random.default_rng([seed, epoch]).permutation(ids.size)
    return [(anchors[order[i:i + batch_size]], positives[order[i:i + batch_size]])
            for i in range(0, ids.size - batch_size + 1, batch_size)]
