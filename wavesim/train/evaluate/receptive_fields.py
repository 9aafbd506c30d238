"""Receptive fields of output units by activation maximisation, and their size (May et al. 2025)."""

import math

import numpy as np
import torch
from scipy.ndimage import gaussian_filter

from wavesim.errors import ParameterError
from wavesim.validate import check_int, check_number, check_seed

from .features import check_batch_norm, evaluating, pixel_pair

__all__ = ["activation_maximisation", "receptive_field", "receptive_field_size"]


def _zero_below_percentile(x, percentile, magnitude):
    """Zero the entries of each trial below its ``percentile`` (of ``|x|`` when ``magnitude``)."""
    if percentile <= 0:
        return x
    values = (x.abs() if magnitude else x).flatten(1)
    cut = torch.quantile(values, percentile / 100.0, dim=1)  # linear interpolation, as numpy.percentile
    return x * ~(values < cut[:, None]).view_as(x)


def activation_maximisation(fn, *, unit=None, channel=0, n_frames=10, frame_shape=(64, 64), n_trials=10, steps=100,
                            step_size=20.0, l2_decay=0.1, blur_sigma=(1.0, 1.0), blur_every=4,
                            norm_crop_percentile=30.0, contribution_crop_percentile=30.0, seed=0, device=None,
                            batch_norm="eval"):
    """Input clips that maximise one output unit: May et al.'s receptive-field method (after Yosinski et al. 2015).

    Each of ``n_trials`` clips starts uniform in [0, 1) and climbs the
    gradient of the unit's activation ``a = fn(clip)[channel, row, col]`` for
    ``steps`` steps; before step k's update the activation is measured, and
    the update is, in this order: ``x += step_size * da/dx``; ``x *= 1 -
    l2_decay``; every ``blur_every`` steps (k = 0, 4, 8...) a Gaussian blur
    over time and space (``scipy.ndimage.gaussian_filter``, sigma
    ``blur_sigma`` = (frames, pixels), edges reflected); entries below the
    ``norm_crop_percentile``-th percentile of the clip's values set to 0;
    entries whose magnitude is below the ``contribution_crop_percentile``-th
    percentile of the magnitudes set to 0. A trial returns the clip that
    gave its highest measured activation, clipped to [0, 1]. The defaults
    are those of the authors' ``receptive_field_calculation_cli.py``; unlike
    their loop, the clip kept is the one whose activation was measured
    (theirs keeps the clip one update later). By default the network runs
    in eval mode (batch norms on their running statistics); theirs ran in
    training mode, normalising by the statistics of the one clip
    (``batch_norm="train"``, which climbs one trial at a time).

    Parameters
    ----------
    fn : callable
        Maps (B, n_frames, H, W) float32 clips to (B, C, H, W) maps, e.g.
        :meth:`~wavesim.train.models.RecurrentPredictor.logits` (the output
        before the sigmoid, as the paper). Batch items must not interact
        (true in eval mode): all trials run as one batch (one at a time with
        ``batch_norm="train"``). Run in eval (or train) mode when ``fn`` is,
        or is a method of, a module; its mode and buffers are restored.
    unit : (int, int), optional
        (row, col) of the unit; default (H // 2, 3 W // 4), the paper's (32, 48) on 64 x 64.
    channel : int
        Channel of the unit in ``fn``'s output.
    n_frames : int
        Frames of the input clip (10 in the paper).
    frame_shape : (int, int)
        (H, W) in pixels.
    n_trials : int
        Independent starts (10 in the paper).
    steps : int
        Gradient steps per trial (100).
    step_size : float
        Gradient step, in input units per unit of gradient (20).
    l2_decay : float
        Fraction of the clip removed after each step, in [0, 1) (0.1).
    blur_sigma : (float, float)
        Gaussian widths (frames, pixels) of the blur; (0, 0) turns it off.
    blur_every : int
        Steps between blurs.
    norm_crop_percentile, contribution_crop_percentile : float
        Percentiles in [0, 100) of the two crops (30 and 30); 0 turns one off.
    seed : int
        Seed of the starting clips.
    device : str, torch.device or None
        See :func:`extract_features`.
    batch_norm : {"eval", "train"}
        The module's mode: batch norms on running statistics, or on each clip's own (May et al.'s).

    Returns
    -------
    dict
        ``clips``: (n_trials, n_frames, H, W) float32 in [0, 1], each trial's
        best clip; ``activation``: (n_trials,) the activation each gave;
        ``unit`` and ``channel``.
    """
    if not callable(fn):
        raise ParameterError(f"fn must be callable, got {type(fn).__name__}")
    height, width = pixel_pair("frame_shape", frame_shape)
    row, col = pixel_pair("unit", (height // 2, 3 * width // 4) if unit is None else unit, low=0)
    if row >= height or col >= width:
        raise ParameterError(f"unit {(row, col)} lies outside the {height} x {width} frame")
    n_frames, n_trials, steps, blur_every = (check_int(name, value, low=1) for name, value in (
        ("n_frames", n_frames), ("n_trials", n_trials), ("steps", steps), ("blur_every", blur_every)))
    step_size = check_number("step_size", step_size, low=0)
    l2_decay = check_number("l2_decay", l2_decay, low=0)
    if l2_decay >= 1:
        raise ParameterError(f"l2_decay must be in [0, 1), got {l2_decay!r}")
    sigma = tuple(check_number("blur_sigma", v, low=0) for v in blur_sigma) if np.ndim(blur_sigma) == 1 else ()
    if len(sigma) != 2:
        raise ParameterError(f"blur_sigma must be two numbers >= 0 (frames, pixels), got {blur_sigma!r}")
    crops = []
    for name, value in (("norm_crop_percentile", norm_crop_percentile),
                        ("contribution_crop_percentile", contribution_crop_percentile)):
        value = check_number(name, value, low=0)
        if value >= 100:
            raise ParameterError(f"{name} must be in [0, 100), got {value!r}")
        crops.append(value)
    seed = check_seed("seed", seed)
    generator = torch.Generator().manual_seed(seed)
    start = torch.rand(n_trials, n_frames, height, width, generator=generator)
    best = start.clone()
    best_activation = torch.full((n_trials,), -math.inf)
    # In train mode a batch norm mixes the clips of a batch: each trial climbs alone there.
    groups = [slice(i, i + 1) for i in range(n_trials)] if check_batch_norm(batch_norm) == "train" else [slice(None)]
    with evaluating(fn, device, batch_norm) as device:
        for group in groups:
            x = start[group].to(device)
            for k in range(steps):
                x.requires_grad_(True)
                with torch.enable_grad():
                    out = fn(x)
                    if out.dim() != 4 or out.shape[0] != x.shape[0] or not (0 <= channel < out.shape[1]) \
                            or out.shape[2] <= row or out.shape[3] <= col:
                        raise ParameterError(f"fn must map (B, T, H, W) clips to (B, C, H, W) maps holding channel "
                                             f"{channel} and unit {(row, col)}; got output shape {tuple(out.shape)}")
                    activation = out[:, channel, row, col]
                    (gradient,) = torch.autograd.grad(activation.sum(), x)
                x = x.detach()
                activation = activation.detach().cpu()
                better = activation > best_activation[group]
                best[group][better] = x.cpu()[better]
                best_activation[group] = torch.where(better, activation, best_activation[group])
                x = (x + step_size * gradient) * (1.0 - l2_decay)
                if k % blur_every == 0 and any(sigma):
                    blurred = gaussian_filter(x.cpu().numpy(), sigma=(0.0, sigma[0], sigma[1], sigma[1]))
                    x = torch.from_numpy(blurred).to(device)
                x = _zero_below_percentile(x, crops[0], magnitude=False)
                x = _zero_below_percentile(x, crops[1], magnitude=True)
    return {"clips": best.clamp(0, 1).numpy(), "activation": best_activation.numpy(), "unit": (row, col),
            "channel": channel}


def receptive_field_size(clip, unit, *, threshold=0.1, radius_px=13):
    """Area and strength of a receptive-field clip, frame by frame, as May et al. measure them.

    Within the square window of side ``2 radius_px + 1`` centred on the unit
    (cut at the frame's edges):

    - **area** of frame t: the number of pixels whose value exceeds ``threshold``;
    - **strength** of frame t: the 95th percentile (linear interpolation) of
      those pixels' values; NaN where the area is 0.

    Parameters
    ----------
    clip : array_like
        (T, H, W) receptive field with values in [0, 1]: the mean of
        :func:`activation_maximisation`'s clips over trials (and, in the
        paper, over the 5 replicate networks).
    unit : (int, int)
        (row, col) of the unit.
    threshold : float
        Value above which a pixel counts as part of the field (0.1).
    radius_px : int
        Half-side of the window (13: a 27 x 27 window).

    Returns
    -------
    dict
        ``area_px`` (T,) int64 pixel counts and ``strength`` (T,) float64.
    """
    clip = np.asarray(clip, dtype=np.float64)
    if clip.ndim != 3:
        raise ParameterError(f"clip must have shape (T, H, W), got {clip.shape}")
    row, col = pixel_pair("unit", unit, low=0)
    if row >= clip.shape[1] or col >= clip.shape[2]:
        raise ParameterError(f"unit {(row, col)} lies outside the {clip.shape[1]} x {clip.shape[2]} frame")
    radius_px = check_int("radius_px", radius_px, low=0)
    window = clip[:, max(row - radius_px, 0): row + radius_px + 1, max(col - radius_px, 0): col + radius_px + 1]
    inside = window > threshold
    area = inside.reshape(len(clip), -1).sum(axis=1).astype(np.int64)
    strength = np.array([np.percentile(frame[mask], 95) if mask.any() else np.nan
                         for frame, mask in zip(window, inside)])
    return {"area_px": area, "strength": strength}


def receptive_field(fn, *, threshold=0.1, radius_px=13, **kwargs):
    """Receptive field of one output unit: :func:`activation_maximisation`, averaged over trials, then sized.

    Parameters
    ----------
    fn : callable
        See :func:`activation_maximisation` (e.g. ``model.logits``).
    threshold, radius_px
        See :func:`receptive_field_size`.
    **kwargs
        Passed to :func:`activation_maximisation` (unit, n_trials, steps...).

    Returns
    -------
    dict
        ``field``: (T, H, W) mean of the trials' clips; ``area_px`` and
        ``strength`` per frame (:func:`receptive_field_size`); ``activation``
        per trial; ``unit``, ``channel``, ``threshold`` and ``radius_px``.
    """
    result = activation_maximisation(fn, **kwargs)
    field = result["clips"].mean(axis=0)
    size = receptive_field_size(field, result["unit"], threshold=threshold, radius_px=radius_px)
    return {"field": field, **size, "activation": result["activation"], "unit": result["unit"],
            "channel": result["channel"], "threshold": threshold, "radius_px": radius_px}
