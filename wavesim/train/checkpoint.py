"""Checkpoints that load safely: weights and plain metadata only, read with ``weights_only=True``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from .._version import __version__
from ..errors import CheckpointError, CheckpointNotFoundError, ParameterError
from .models import ContrastiveNet, RecurrentPredictor

FORMAT = "wavesim-checkpoint"
FORMAT_VERSION = 3
# Version 1 predates the batch norms of the next-frame network; its checkpoints load without them.
# Versions 1 and 2 predate the ResNet-18's ImageNet-stem default: stem None meant the CIFAR stem then.
READABLE_VERSIONS = (1, 2, 3)
TASKS = ("next_frame", "contrastive")


def build_model(task: str, model_config: dict[str, Any], *,
                generator: torch.Generator | None = None) -> torch.nn.Module:
    """The network of ``task`` with ``model_config`` as its keyword arguments.

    ``generator`` draws its initial weights (None: torch's global generator).
    """
    if task == "next_frame":
        return RecurrentPredictor(**model_config, generator=generator)
    if task == "contrastive":
        return ContrastiveNet(**model_config, generator=generator)
    raise ParameterError(f"task must be one of {TASKS}, got {task!r}.")


def save_checkpoint(path, model: torch.nn.Module, *, task: str, model_config: dict[str, Any],
                    metadata: dict[str, Any] | None = None) -> Path:
    """Write the weights, the task, the model's keyword arguments and JSON-like metadata.

    Written to a temporary name and renamed, so an interrupted save never
    leaves a half-written checkpoint at ``path``.
    """
    if task not in TASKS:
        raise ParameterError(f"task must be one of {TASKS}, got {task!r}.")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "wavesim_version": __version__,
        "task": task,
        "model_config": dict(model_config),
        "metadata": dict(metadata or {}),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
    }
    partial = path.with_name(path.name + ".partial")
    torch.save(payload, partial)
    partial.replace(path)
    return path


def load_checkpoint(path, device: str | torch.device = "cpu") -> tuple[torch.nn.Module, dict[str, Any]]:
    """Rebuild the network of a checkpoint; returns ``(model, payload without the weights)``.

    Raises
    ------
    CheckpointNotFoundError
        If ``path`` does not exist (also a ``FileNotFoundError``).
    CheckpointError
        If the file is not a wavesim checkpoint, is of another format
        version, or holds objects that ``weights_only`` loading refuses.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointNotFoundError(f"No checkpoint at {path}" + (" (it is a folder)." if path.is_dir() else "."))
    try:
        payload = torch.load(path, map_location=device, weights_only=True)
    except Exception as exc:  # torch raises several types for foreign or unsafe files
        # torch's message goes on with advice to drop weights_only (unsafe); its first sentence names the problem.
        first = str(exc).strip().splitlines()[0].split(". ")[0].rstrip(".") if str(exc).strip() else type(exc).__name__
        raise CheckpointError(f"{path} is not a wavesim checkpoint that loads safely (weights only): {first}") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a wavesim checkpoint.")
    if payload.get("format_version") not in READABLE_VERSIONS:
        raise CheckpointError(f"{path} has checkpoint format version {payload.get('format_version')!r}; "
                              f"this wavesim reads {', '.join(map(str, READABLE_VERSIONS))}.")
    if payload["format_version"] == 1 and payload.get("task") == "next_frame":
        payload["model_config"] = {"batch_norm": False, **payload["model_config"]}
    config = payload["model_config"]
    if payload["format_version"] < 3 and payload.get("task") == "contrastive" and config.get("stem") is None \
            and config.get("encoder", "resnet18") == "resnet18":
        payload["model_config"] = {**config, "stem": "cifar"}
    model = build_model(payload["task"], payload["model_config"])
    model.load_state_dict(payload.pop("state_dict"))
    return model.to(device), payload
