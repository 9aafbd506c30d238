"""Training on several processes started by torchrun: the launch, each rank's device, the process group, DDP.

``torchrun --nproc_per_node N script ...`` starts N copies of a script with
``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK`` (and the rendezvous address) in
their environment. Each copy trains on its own device (``cuda:LOCAL_RANK``,
or the CPU), joins the process group (``nccl`` on CUDA, ``gloo`` on the
CPU) and wraps its network in :class:`~torch.nn.parallel.DistributedDataParallel`,
which averages the gradients over the ranks in every backward pass, so the
weights stay equal on every rank. The datasets of :mod:`wavesim.data` read
the rank and world size from the initialised group and give each rank its
own, equally long, share of the data.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from typing import Iterator, Mapping

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from ..errors import ParameterError
from .settings import resolve_device

#: What torchrun sets in each process it starts.
TORCHRUN_VARIABLES = ("RANK", "WORLD_SIZE", "LOCAL_RANK")


@dataclasses.dataclass(frozen=True)
class Launch:
    """This process's place in a torchrun launch."""

    rank: int
    world_size: int
    local_rank: int

    @property
    def is_main(self) -> bool:
        """Rank 0 writes checkpoints, logs and progress; the others only train."""
        return self.rank == 0


def torchrun_launch(environ: Mapping[str, str] | None = None) -> Launch | None:
    """The torchrun launch this process belongs to, read from its environment; None when started alone.

    Raises
    ------
    ParameterError
        If only some of ``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK`` are set, or they are not consistent integers.
    """
    environ = os.environ if environ is None else environ
    present = [k for k in TORCHRUN_VARIABLES if k in environ]
    if not present:
        return None
    if len(present) < len(TORCHRUN_VARIABLES):
        missing = [k for k in TORCHRUN_VARIABLES if k not in environ]
        raise ParameterError(f"the environment sets {', '.join(present)} but not {', '.join(missing)}; start "
                             f"distributed training with torchrun, which sets all of {', '.join(TORCHRUN_VARIABLES)}.")
    try:
        rank, world_size, local_rank = (int(environ[k]) for k in TORCHRUN_VARIABLES)
    except ValueError:
        raise ParameterError("RANK, WORLD_SIZE and LOCAL_RANK must be integers, got "
                             + ", ".join(f"{k}={environ[k]!r}" for k in TORCHRUN_VARIABLES) + ".") from None
    if world_size < 1 or not 0 <= rank < world_size or local_rank < 0:
        raise ParameterError(f"torchrun's environment must have 0 <= RANK < WORLD_SIZE and LOCAL_RANK >= 0, got "
                             f"RANK={rank}, WORLD_SIZE={world_size}, LOCAL_RANK={local_rank}.")
    return Launch(rank, world_size, local_rank)


def rank_device(device: str | None, launch: Launch | None) -> torch.device:
    """The device this process trains on: the one asked for, and under torchrun ``cuda:LOCAL_RANK`` for CUDA.

    ``device`` is resolved by :func:`~wavesim.train.settings.resolve_device`.

    Raises
    ------
    ParameterError
        Under torchrun, for a numbered CUDA device (every rank would take the
        same GPU), or a ``LOCAL_RANK`` beyond the GPUs torch sees.
    """
    resolved = resolve_device(device)
    if launch is None or resolved.type != "cuda":
        return resolved
    if resolved.index is not None:
        raise ParameterError(f"device {device!r}: under torchrun each rank trains on its own GPU (cuda:LOCAL_RANK); "
                             f"give 'cuda' or 'auto', and choose the GPUs with CUDA_VISIBLE_DEVICES.")
    if launch.local_rank >= torch.cuda.device_count():
        raise ParameterError(f"LOCAL_RANK {launch.local_rank} has no GPU: torch sees {torch.cuda.device_count()}; "
                             f"start at most that many processes per node (--nproc_per_node).")
    return torch.device("cuda", launch.local_rank)


@contextlib.contextmanager
def process_group(launch: Launch | None, device: torch.device) -> Iterator[None]:
    """Join torchrun's process group for the block (``nccl`` on CUDA, ``gloo`` on the CPU); nothing when alone.

    The group is destroyed when the block ends, also on an error, so that no
    rank is left waiting on it.
    """
    if launch is None:
        yield
        return
    dist.init_process_group("nccl" if device.type == "cuda" else "gloo", rank=launch.rank, world_size=launch.world_size)
    try:
        yield
    finally:
        dist.destroy_process_group()


def distribute(model: torch.nn.Module, device: torch.device) -> torch.nn.Module:
    """``model`` wrapped in DistributedDataParallel when a process group is running, else ``model``."""
    if not (dist.is_available() and dist.is_initialized()):
        return model
    return DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)


def unwrap(model: torch.nn.Module) -> torch.nn.Module:
    """The network inside a DistributedDataParallel wrapper (``model`` itself otherwise)."""
    return model.module if isinstance(model, DistributedDataParallel) else model


def sum_over_ranks(model: torch.nn.Module, *values: float) -> tuple[float, ...]:
    """``values`` summed over the ranks when ``model`` is distributed (every rank must call it), else unchanged."""
    if not isinstance(model, DistributedDataParallel):
        return values
    device = next(model.parameters()).device
    total = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(total)
    return tuple(float(v) for v in total.tolist())


def share_buffers(model: torch.nn.Module) -> None:
    """Give every rank rank 0's buffers (batch-norm running statistics) when ``model`` is distributed.

    DistributedDataParallel does this at the start of each forward pass;
    validation, which runs the bare network, does it here first, so that
    every rank evaluates its share with the weights rank 0 saves.
    """
    if isinstance(model, DistributedDataParallel):
        for buffer in model.module.buffers():
            dist.broadcast(buffer, 0)
