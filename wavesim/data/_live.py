"""Waves simulated inside the training process and yielded as batches of clips."""

from __future__ import annotations

import contextlib
import dataclasses
import os
from typing import Any, Mapping

import numpy as np
import torch
from torch.utils.data import IterableDataset, get_worker_info

from ..errors import ParameterError
from ..lattice import Retina
from ..models import get_model, model_of
from ..parameters import check_value
from ..readout import Readout
from ..simulate import Simulation, Timing, movie_seeds
from ..warm_cache import default_warm_cache, warm_up
from ._clips import VALUE_SCALE
from ._frames import FrameTransform
from ._plan import rng_for
from ._sharded import distributed_rank_and_size

_TAG_PARAMS = 3
#: Frames per retina and clip round are produced in one chunk; this caps a chunk's memory.
_RETINAS_DEFAULT = {"cpu": 16, "cpu-events": 16, "cuda": 4096}


def draw_retina_params(base, ranges: Mapping[str, Any], seed: int, retinas: np.ndarray) -> list:
    """One parameter set per retina: ``base`` with each ranged parameter drawn uniformly.

    A pure function of (seed, retina index), so retina ``g`` has the same
    parameters whichever process or batch simulates it.
    """
    checked = model_of(base).params_cls.check_ranges(ranges)
    if "dt_s" in checked:
        raise ParameterError("dt_s cannot vary between retinas: the retinas of a batch step together.")
    out = []
    for g in np.asarray(retinas, dtype=np.int64):
        rng = rng_for(seed, 0, _TAG_PARAMS, int(g))
        values = {name: float(rng.uniform(low, high)) for name, (low, high) in sorted(checked.items())}
        out.append(dataclasses.replace(base, **values))
    return out


def resolve_cuda_device(device, *, current: int, count: int) -> int:
    """The index of the CUDA device that ``device`` names, given the current device and how many are visible.

    ``device`` is None or ``"cuda"`` (the current device: under torchrun,
    the rank's own once the training script has called
    ``torch.cuda.set_device``), an index, ``"cuda:N"`` or a
    ``torch.device``. A pure function, so the choice is testable without a GPU.

    Raises
    ------
    ParameterError
        For anything else, or an index that is not one of the ``count`` visible devices.
    """
    if device is None:
        index = current
    elif isinstance(device, (int, np.integer)) and not isinstance(device, bool):
        index = int(device)
    else:
        try:
            parsed = torch.device(device)
        except (RuntimeError, TypeError):
            parsed = None
        if parsed is None or parsed.type != "cuda":
            raise ParameterError(f"device must be None (the current CUDA device), an index, 'cuda' or 'cuda:N', "
                                 f"got {device!r}.")
        index = current if parsed.index is None else parsed.index
    if not 0 <= index < count:
        raise ParameterError(f"device {device!r}: there is no CUDA device {index}; {count} visible "
                             f"(indices 0 to {count - 1}, after CUDA_VISIBLE_DEVICES).")
    return index


def visible_cuda_devices() -> tuple[int, int]:
    """``(current device, visible devices)`` as torch sees them, or CuPy where torch has no CUDA."""
    if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1":
        return 0, 1  # the simulator's one device
    if torch.cuda.is_available():
        return torch.cuda.current_device(), torch.cuda.device_count()
    import cupy

    return cupy.cuda.runtime.getDevice(), cupy.cuda.runtime.getDeviceCount()


class LiveWaves(IterableDataset):
    """Batches of clips from retinas simulated on the fly, warmed up once and kept running.

    Each round advances every retina by one clip (``clip_frames`` frames at
    ``frame_stride``, back to back) and yields those clips in batches of
    ``batch_size``: dicts with ``clips`` (B, clip_frames, H, W) float32 and
    per clip ``retina`` (its global index) and ``first_frame`` (frames since
    the warm-up). On the ``cuda`` backend the clips are CUDA tensors on the
    simulation's GPU, made from the CuPy frames through DLPack with no copy
    to the host; on ``cpu`` they are CPU tensors. The simulation's GPU is
    ``device``, by default torch's current device: under torchrun, call
    ``torch.cuda.set_device(local_rank)`` before making the dataset and each
    rank simulates on its own GPU.

    Retina ``g`` runs with seed ``movie_seeds(seed, [g])``: without
    ``param_ranges`` its frames are movie ``g`` of a store generated with the
    same seed, parameters, retina, readout and warm-up.

    Parameters
    ----------
    params : parameters of a registered model, optional
        Base parameters (default: the default model's default preset, mouse).
    param_ranges : mapping of name -> (low, high), optional
        Parameters drawn per retina, uniformly, from (seed, retina index),
        so that training sees a family of wave statistics.
    n_retinas : int, optional
        Retinas simulated together (per rank and worker); default 4096 on
        ``cuda``, 16 on the CPU engines.
    retina, readout : Retina, Readout
        Default: the 3.2 mm square and 64 x 64 pixels of 50 um at 0.5 s per
        frame of May et al. (2025).
    warmup_s : float (s), optional
        Simulated time before the first clip (default: the model's, 900 s for amacrine, 0 for directional).
    clip_frames, frame_stride : int
    batch_size : int, optional
        Clips per batch (default ``n_retinas``); must divide ``n_retinas``.
    crop_px, crop, size_px : see :class:`~wavesim.data.FrameTransform`
    batches_per_epoch : int, optional
        Batches one iteration yields (default: without end); the next
        iteration continues the running simulation.
    seed : int
    backend : {"auto", "cpu", "cuda"}
    rank, world_size : int, optional
        Ranks simulate disjoint retinas (default from ``torch.distributed``).
    device : int, str or torch.device, optional
        The GPU of the ``cuda`` backend: an index, ``"cuda:N"``, or None
        and ``"cuda"`` for ``torch.cuda.current_device()``; only with ``cuda``.
    warm_cache : bool
        Start from warmed-up retinas of the warm-state cache where it holds
        them, and store the ones warmed up here (:mod:`wavesim.warm_cache`);
        the clips are the same either way.
    """

    def __init__(
        self,
        params=None,
        *,
        param_ranges: Mapping[str, Any] | None = None,
        n_retinas: int | None = None,
        retina: Retina | None = None,
        readout: Readout | None = None,
        warmup_s: float | None = None,
        clip_frames: int = 11,
        frame_stride: int = 1,
        batch_size: int | None = None,
        crop_px=None,
        crop: str = "random",
        size_px=None,
        batches_per_epoch: int | None = None,
        seed: int = 0,
        backend: str = "auto",
        rank: int | None = None,
        world_size: int | None = None,
        device=None,
        warm_cache: bool = True,
    ):
        from ..backends import resolve_backend

        self.params = params if params is not None else get_model().preset()
        model = model_of(self.params)
        if model.single_wave is not None and model.single_wave(self.params):
            raise ParameterError(
                f"LiveWaves runs each retina on and on, but these {model.name!r} parameters start one wave per "
                f"movie (mode='wave'); use mode='continuous' (e.g. preset 'continuous'), or write wave-mode movies "
                f"with 'wavesim generate' and stream them with WaveClips."
            )
        defaults = model.run_defaults
        self.param_ranges = model_of(self.params).params_cls.check_ranges(param_ranges or {})
        self.backend = resolve_backend(backend, model)
        self.n_retinas = _RETINAS_DEFAULT[self.backend] if n_retinas is None else n_retinas
        self.batch_size = self.n_retinas if batch_size is None else batch_size
        for name, value in (("n_retinas", self.n_retinas), ("batch_size", self.batch_size), ("clip_frames", clip_frames),
                            ("frame_stride", frame_stride)):
            if not isinstance(value, int) or value < 1:
                raise ParameterError(f"{name} must be a positive integer, got {value!r}.")
        if self.n_retinas % self.batch_size:
            raise ParameterError(f"batch_size ({self.batch_size}) must divide n_retinas ({self.n_retinas}).")
        if batches_per_epoch is not None and (not isinstance(batches_per_epoch, int) or batches_per_epoch < 1):
            raise ParameterError(f"batches_per_epoch must be a positive integer or None, got {batches_per_epoch!r}.")
        self.retina = retina or (model.default_retina() if defaults else Retina(width_um=3200, height_um=3200))
        self.readout = readout or (model.default_readout() if defaults else Readout(um_per_pixel=50,
                                                                                    frame_period_s=0.5))
        if warmup_s is None:
            warmup_s = defaults.get("warmup_s", 900.0)
        self.warmup_s = check_value("LiveWaves", "warmup_s", warmup_s, Timing.field_specs()["warmup_s"])
        self.clip_frames = clip_frames
        self.frame_stride = frame_stride
        self.transform = FrameTransform(crop_px=crop_px, crop=crop, size_px=size_px)
        self.batches_per_epoch = batches_per_epoch
        if not isinstance(seed, int) or not 0 <= seed < 2**63:
            raise ParameterError(f"seed must be an integer in [0, 2**63), got {seed!r}.")
        self.seed = seed
        self.rank, self.world_size = distributed_rank_and_size(rank, world_size)
        if self.backend != "cuda" and device is not None:
            raise ParameterError(f"device={device!r} picks the GPU of the cuda backend; this LiveWaves runs on "
                                 f"backend {self.backend!r}. Leave device unset, or use backend='cuda'.")
        #: Index of the GPU the simulation runs on (None on a CPU backend).
        self.device = None
        if self.backend == "cuda":
            current, count = visible_cuda_devices()
            self.device = resolve_cuda_device(device, current=current, count=count)
        self.warm_cache = bool(warm_cache)
        self._running = None

    def retina_indices(self, worker: int = 0, n_workers: int = 1) -> np.ndarray:
        """Global indices of the retinas a rank's worker simulates (disjoint across ranks and workers)."""
        first = (self.rank * n_workers + worker) * self.n_retinas
        return np.arange(first, first + self.n_retinas)

    def retina_params(self, worker: int = 0, n_workers: int = 1) -> list:
        """The parameters of each retina of a rank's worker."""
        retinas = self.retina_indices(worker, n_workers)
        if not self.param_ranges:
            return [self.params] * len(retinas)
        return draw_retina_params(self.params, self.param_ranges, self.seed, retinas)

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_running"] = None  # a simulation lives in the process that runs it
        return state

    def _on_device(self):
        """Make this dataset's GPU CuPy's (and so numba-cuda's) current device, restoring the previous one after."""
        if self.device is None or os.environ.get("NUMBA_ENABLE_CUDASIM") == "1":
            return contextlib.nullcontext()
        import cupy

        return cupy.cuda.Device(self.device)

    def _start(self, worker: int, n_workers: int):
        with self._on_device():
            return self._start_on_device(worker, n_workers)

    def _start_on_device(self, worker: int, n_workers: int):
        retinas = self.retina_indices(worker, n_workers)
        sim = Simulation(self.retina_params(worker, n_workers), movie_seeds(self.seed, retinas), retina=self.retina,
                         readout=self.readout, backend=self.backend)
        warm_up(sim, sim.steps_for(self.warmup_s), default_warm_cache(self.warm_cache))
        clip_span = self.clip_frames * self.frame_stride
        # One generator for the whole run keeps frame times on the store's grid.
        frames = sim.frames(2**62, chunk_frames=clip_span)
        return {"sim": sim, "frames": frames, "retinas": retinas, "key": (worker, n_workers)}

    def __iter__(self):
        info = get_worker_info()
        worker, n_workers = (info.id, info.num_workers) if info is not None else (0, 1)
        if info is not None and self.backend == "cuda":
            raise ParameterError(
                "LiveWaves on the cuda backend must run in the training process (CUDA cannot start in a "
                "forked DataLoader worker): use num_workers=0."
            )
        if self._running is None or self._running["key"] != (worker, n_workers):
            self._running = self._start(worker, n_workers)
        run = self._running
        produced = 0
        while self.batches_per_epoch is None or produced < self.batches_per_epoch:
            with self._on_device():
                first, chunk = next(run["frames"])
                clips = self._to_torch(chunk[:, :: self.frame_stride], run["sim"])
                offsets = self.transform.offsets(run["sim"].frame_shape, run["retinas"] * 2**32 + first, self.seed, 0)
                clips = self.transform.apply(clips, value_scale=VALUE_SCALE[self.readout.kind], offsets=offsets)
            first_frame = torch.full((self.batch_size,), first, dtype=torch.int64)
            for b in range(0, self.n_retinas, self.batch_size):
                if self.batches_per_epoch is not None and produced >= self.batches_per_epoch:
                    return
                yield {
                    "clips": clips[b : b + self.batch_size],
                    "retina": torch.from_numpy(run["retinas"][b : b + self.batch_size]),
                    "first_frame": first_frame,
                }
                produced += 1

    @staticmethod
    def _to_torch(frames, sim) -> torch.Tensor:
        if sim.xp is np:
            return torch.from_numpy(np.ascontiguousarray(frames))
        return torch.from_dlpack(frames)
