"""From stored uint8 frames to training tensors: scale, z-score, crop, resize.

One implementation for clips read from stores (CPU tensors in a worker) and
live clips (CUDA tensors in the training process): torch ops only, batched,
no per-clip Python loop.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import ParameterError
from ._plan import hash_uniform

CROPS = ("random", "center")
_SALT_ROW, _SALT_COL = 11, 12


def _pair(value, name: str) -> tuple[int, int] | None:
    if value is None:
        return None
    if isinstance(value, (int, np.integer)):
        value = (int(value), int(value))
    try:
        h, w = (int(v) for v in value)
    except (TypeError, ValueError):
        raise ParameterError(f"{name} must be an int or a (height, width) pair of ints, got {value!r}.") from None
    if h < 1 or w < 1:
        raise ParameterError(f"{name} must be positive, got {value!r}.")
    return h, w


@dataclasses.dataclass(frozen=True)
class FrameTransform:
    """How uint8 frames become float tensors.

    Parameters
    ----------
    crop_px : int or (int, int), optional
        Cut a window of this (height, width) from each clip (the same window
        in all its frames).
    crop : {"random", "center"}
        Where the window lies: drawn per clip from (seed, epoch, clip id), or centred.
    size_px : int or (int, int), optional
        Resize (after cropping) to this size: area averaging when shrinking,
        bilinear when enlarging.
    """

    crop_px: tuple[int, int] | None = None
    crop: str = "random"
    size_px: tuple[int, int] | None = None

    def __post_init__(self):
        object.__setattr__(self, "crop_px", _pair(self.crop_px, "crop_px"))
        object.__setattr__(self, "size_px", _pair(self.size_px, "size_px"))
        if self.crop not in CROPS:
            raise ParameterError(f"crop must be one of {CROPS}, got {self.crop!r}.")

    def output_shape(self, frame_shape: tuple[int, int]) -> tuple[int, int]:
        """(height, width) of the frames this transform makes from frames of ``frame_shape``."""
        if self.crop_px is not None and (self.crop_px[0] > frame_shape[0] or self.crop_px[1] > frame_shape[1]):
            raise ParameterError(f"crop_px {self.crop_px} is larger than the frames, {tuple(frame_shape)}.")
        return self.size_px or self.crop_px or tuple(frame_shape)

    def offsets(self, frame_shape, ids: np.ndarray, seed: int, epoch: int) -> tuple[np.ndarray, np.ndarray] | None:
        """Top-left corner of each clip's crop, a pure function of (seed, epoch, id)."""
        if self.crop_px is None:
            return None
        room_y, room_x = frame_shape[0] - self.crop_px[0] + 1, frame_shape[1] - self.crop_px[1] + 1
        if self.crop == "center":
            return np.full(len(ids), (room_y - 1) // 2), np.full(len(ids), (room_x - 1) // 2)
        top = np.floor(hash_uniform(seed, epoch, ids, _SALT_ROW) * room_y).astype(np.int64)
        left = np.floor(hash_uniform(seed, epoch, ids, _SALT_COL) * room_x).astype(np.int64)
        return top, left

    def apply(self, frames: torch.Tensor, *, value_scale: float, offsets=None, mean=None, std=None) -> torch.Tensor:
        """(B, T, H, W) uint8 -> (B, T, h, w) float32 on the same device.

        ``value_scale``: the stored value that means 1 (1 binary, 255 calcium).
        ``mean``, ``std``: per-pixel (H, W) float tensors for z-scoring, or None.
        """
        x = frames
        if offsets is not None:
            top = torch.as_tensor(offsets[0], device=x.device)
            left = torch.as_tensor(offsets[1], device=x.device)
            x = crop(x, top, left, *self.crop_px)
            if mean is not None:
                mean = crop(mean[None, None], top, left, *self.crop_px)
                std = crop(std[None, None], top, left, *self.crop_px)
        x = x.to(torch.float32)
        if value_scale != 1:
            x = x * (1.0 / value_scale)
        if mean is not None:
            x = (x - mean) / std
        if self.size_px is not None and tuple(x.shape[-2:]) != self.size_px:
            shrink = self.size_px[0] <= x.shape[-2] and self.size_px[1] <= x.shape[-1]
            if shrink:
                x = F.interpolate(x, size=self.size_px, mode="area")
            else:
                x = F.interpolate(x, size=self.size_px, mode="bilinear", align_corners=False)
        return x


def crop(x: torch.Tensor, top: torch.Tensor, left: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Per-item windows of (B or 1, T, H, W) at (top[b], left[b]) -> (B, T, height, width), one gather."""
    n = top.shape[0]
    if bool((top == top[0]).all()) and bool((left == left[0]).all()):
        t, l = int(top[0]), int(left[0])
        window = x[..., t : t + height, l : l + width]
        return window.expand(n, *window.shape[1:]) if window.shape[0] != n else window
    device = x.device
    rows = top[:, None] + torch.arange(height, device=device)
    cols = left[:, None] + torch.arange(width, device=device)
    b = torch.arange(n, device=device)[:, None, None, None] if x.shape[0] == n else torch.zeros(1, dtype=torch.long, device=device)[:, None, None, None]
    t = torch.arange(x.shape[1], device=device)[None, :, None, None]
    return x[b, t, rows[:, None, :, None], cols[:, None, None, :]]
