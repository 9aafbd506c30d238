"""Running a network for evaluation: eval (or train) mode, no gradients, features in batches.

The evaluations of this package call a network through ``evaluating``,
which puts a module (or the module of a bound method) in the mode asked
for and restores its mode and buffers afterwards.
"""

import contextlib
import numbers

import numpy as np
import torch
from torch import nn

from wavesim.errors import ParameterError
from wavesim.validate import check_int, is_bool

__all__ = ["BATCH_NORM_MODES", "extract_features"]


def _owning_module(fn):
    """Return the module behind ``fn`` (itself, or the owner of a bound method), or None."""
    if isinstance(fn, nn.Module):
        return fn
    owner = getattr(fn, "__self__", None)
    return owner if isinstance(owner, nn.Module) else None


#: Batch-norm modes of the May et al. analyses: running statistics ("eval"), or each clip's own ("train").
BATCH_NORM_MODES = ("eval", "train")


def check_batch_norm(batch_norm):
    """``batch_norm`` itself, after checking it is one of :data:`BATCH_NORM_MODES`."""
    if batch_norm not in BATCH_NORM_MODES:
        raise ParameterError(f"batch_norm must be one of {BATCH_NORM_MODES}, got {batch_norm!r}")
    return batch_norm


@contextlib.contextmanager
def evaluating(fn, device, batch_norm="eval"):
    """Run ``fn``'s module in eval mode (or train mode) under no_grad on ``device``; yield the device used.

    With ``device=None`` the module's own device is used (CPU for plain
    functions); otherwise the module is moved there. Training mode is
    restored, and so are the buffers (batch-norm running statistics) that
    ``batch_norm="train"`` lets the forward passes change.
    """
    module = _owning_module(fn)
    if device is None:
        parameter = next(module.parameters(), None) if module is not None else None
        device = parameter.device if parameter is not None else torch.device("cpu")
    device = torch.device(device)
    was_training = module.training if module is not None else False
    buffers = {}
    if module is not None:
        module.to(device).train(batch_norm == "train")
        buffers = {name: b.detach().clone() for name, b in module.named_buffers()}
    try:
        with torch.no_grad():
            yield device
    finally:
        if module is not None:
            with torch.no_grad():
                for name, b in module.named_buffers():
                    b.copy_(buffers[name])
            module.train(was_training)


def as_float_tensor(name, array):
    """``array`` as a float32 tensor (detached from any graph)."""
    if isinstance(array, torch.Tensor):
        return array.detach().float()
    try:
        return torch.as_tensor(np.asarray(array, dtype=np.float32))
    except (TypeError, ValueError) as error:
        raise ParameterError(f"{name} must be an array of numbers: {error}") from None


def extract_features(fn, images, batch_size=256, device=None):
    """Return the features of ``images`` computed by ``fn`` in eval mode, without gradients.

    Parameters
    ----------
    fn : callable
        Maps a float32 tensor batch (B, ...) to features (B, ...), e.g. a model
        or a bound method such as ``ContrastiveNet.features``. If ``fn`` is, or
        is a method of, a ``torch.nn.Module``, the module is put in eval mode
        for the call and its training mode restored afterwards.
    images : numpy.ndarray or torch.Tensor
        Inputs of shape (N, ...), passed to ``fn`` in batches.
    batch_size : int
        Images per call of ``fn``.
    device : str, torch.device or None
        Where to run; None uses the module's device (CPU for plain functions).
        A module is moved to ``device`` when one is given.

    Returns
    -------
    numpy.ndarray
        Float32 features of shape (N, D), trailing dimensions flattened.
    """
    if not callable(fn):
        raise ParameterError(f"fn must be callable, got {type(fn).__name__}")
    batch_size = check_int("batch_size", batch_size, low=1)
    images = as_float_tensor("images", images)
    if images.dim() < 2 or images.shape[0] < 1:
        raise ParameterError(f"images must have shape (N, ...) with N >= 1, got {tuple(images.shape)}")
    chunks = []
    with evaluating(fn, device) as device:
        for start in range(0, images.shape[0], batch_size):
            out = fn(images[start : start + batch_size].to(device))
            chunks.append(out.reshape(out.shape[0], -1).float().cpu())
    return torch.cat(chunks).numpy()



def pixel_pair(name, value, low=1):
    """``value`` as a (row, column) pair of integers >= ``low``."""
    try:
        pair = tuple(int(v) for v in value)
    except (TypeError, ValueError):
        pair = ()
    if len(pair) != 2 or any(v < low for v in pair) or any(v != w for v, w in zip(pair, value)) \
            or any(is_bool(v) or not isinstance(v, numbers.Number) for v in value):
        raise ParameterError(f"{name} must be two integers >= {low} (row, column), got {value!r}")
    return pair
