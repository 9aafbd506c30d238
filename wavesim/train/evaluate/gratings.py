"""Static gratings, and how much each unit of a network changes its activity across them (May et al. 2025, Fig 6)."""

import numpy as np
import torch

from wavesim.errors import ParameterError
from wavesim.validate import check_int, check_number

from .features import check_batch_norm, evaluating, pixel_pair

__all__ = ["GRATING_FREQUENCIES_PER_PX", "GRATING_ORIENTATIONS_DEG", "GRATING_PHASES", "grating_responses",
           "static_gratings"]

#: The static-grating set of May et al. (after the Allen Brain Observatory's): 6 x 5 x 4 = 120 gratings.
GRATING_ORIENTATIONS_DEG = (0.0, 30.0, 60.0, 90.0, 120.0, 150.0)
GRATING_FREQUENCIES_PER_PX = (0.02, 0.04, 0.08, 0.16, 0.32)
GRATING_PHASES = (0.0, 0.25, 0.5, 0.75)


def static_gratings(frame_shape=(64, 64), *, orientations_deg=GRATING_ORIENTATIONS_DEG,
                    frequencies_per_px=GRATING_FREQUENCIES_PER_PX, phases=GRATING_PHASES, contrast=0.8):
    """Full-field static sinusoidal gratings, every orientation x frequency x phase, and their grey blank.

    Pixel (i, j) of a grating is ``0.5 + 0.5 * contrast * sin(2 pi f u + 2 pi phase)``,
    where ``u = x cos(theta) + y sin(theta)``, with x = j - (W - 1) / 2 and
    y = i - (H - 1) / 2 the pixel's offsets from the frame centre in pixels
    (y downwards): at 0 degrees the stripes are vertical. The blank is 0.5
    everywhere, the gratings' mean luminance. May et al.'s generator spaces
    its coordinates W / (W - 1) pixels apart (``linspace(-W/2, W/2, W)``), so
    its frequencies are 1.6% lower than their labels on 64 pixels; here f is
    exactly cycles per pixel.

    Parameters
    ----------
    frame_shape : (int, int)
        (H, W) in pixels.
    orientations_deg : sequence of float
        Orientations theta, degrees (0 to 150 in steps of 30).
    frequencies_per_px : sequence of float
        Spatial frequencies f, cycles per pixel (0.02 to 0.32, octaves).
    phases : sequence of float
        Phases, in cycles (0, 0.25, 0.5, 0.75).
    contrast : float
        Michelson contrast in [0, 1] (0.8).

    Returns
    -------
    dict
        ``images`` (N, H, W) float32 with N = orientations x frequencies x
        phases, ordered orientation-major then frequency then phase;
        ``orientation_deg``, ``frequency_per_px`` and ``phase`` (N,) float64;
        ``blank`` (H, W) float32.
    """
    height, width = pixel_pair("frame_shape", frame_shape)
    contrast = check_number("contrast", contrast, low=0, high=1)
    axes = []
    for name, values in (("orientations_deg", orientations_deg), ("frequencies_per_px", frequencies_per_px),
                         ("phases", phases)):
        array = np.asarray(values, dtype=np.float64)
        if array.ndim != 1 or array.size < 1 or not np.isfinite(array).all():
            raise ParameterError(f"{name} must be a non-empty sequence of finite numbers, got {values!r}")
        axes.append(array)
    if (axes[1] <= 0).any():
        raise ParameterError(f"frequencies_per_px must be positive, got {frequencies_per_px!r}")
    orientation, frequency, phase = (a.ravel() for a in np.meshgrid(*axes, indexing="ij"))
    y = (np.arange(height) - (height - 1) / 2)[:, None]
    x = (np.arange(width) - (width - 1) / 2)[None, :]
    theta = np.deg2rad(orientation)[:, None, None]
    u = x * np.cos(theta) + y * np.sin(theta)
    images = 0.5 + 0.5 * contrast * np.sin(2 * np.pi * (frequency[:, None, None] * u + phase[:, None, None]))
    return {"images": images.astype(np.float32), "orientation_deg": orientation, "frequency_per_px": frequency,
            "phase": phase, "blank": np.full((height, width), 0.5, dtype=np.float32)}


def grating_responses(fn, *, n_frames=10, frame_shape=(64, 64), keep_changes=False, batch_size=8, device=None,
                      batch_norm="eval", **grating_kwargs):
    """How much each unit of each layer changes its activity across static gratings (May et al. 2025, Fig 6).

    Every grating of :func:`static_gratings`, and the grey blank, is shown
    as a still clip of ``n_frames`` identical frames. A unit's response is
    its activity averaged over the clip's time steps; its change is its
    response to a grating minus its response to the blank. Per unit, the
    standard deviation of the change over the gratings (ddof 0) measures
    how selective it is. May et al. summarise a layer by the standard
    deviation of all its changes pooled over units and gratings
    (``pooled_std``), with the network in training mode, each clip alone
    (``batch_norm="train"``).

    Parameters
    ----------
    fn : callable
        Maps (B, n_frames, H, W) clips to a dict of layer name -> activity,
        each (B, T, C, H, W) (averaged over T) or (B, C, H, W), e.g.
        :meth:`~wavesim.train.models.RecurrentPredictor.layer_responses`.
        Run in eval mode when ``fn`` is, or is a method of, a module.
    n_frames : int
        Frames per clip (10 in the paper).
    frame_shape : (int, int)
        (H, W) of the gratings in pixels.
    keep_changes : bool
        Also return every unit's change to every grating (large: 120 x C x H x W per layer).
    batch_size : int
        Clips per call of ``fn``.
    device : str, torch.device or None
        See :func:`extract_features`.
    batch_norm : {"eval", "train"}
        The module's mode; ``"train"`` (May et al.'s) normalises by each
        clip's own statistics and so shows the clips one at a time.
    **grating_kwargs
        Passed to :func:`static_gratings` (orientations, frequencies, phases, contrast).

    Returns
    -------
    dict
        ``layers``: per layer a dict with ``std_change`` and ``mean_change``
        (C, H, W) float32 over the gratings, ``mean_std`` (float, the mean of
        ``std_change`` over the layer's units), ``pooled_std`` (float, the SD
        of all changes, units and gratings pooled, ddof 0) and, with ``keep_changes``,
        ``changes`` (N, C, H, W); ``orientation_deg``, ``frequency_per_px``
        and ``phase`` of the N gratings.
    """
    if not callable(fn):
        raise ParameterError(f"fn must be callable, got {type(fn).__name__}")
    n_frames = check_int("n_frames", n_frames, low=1)
    batch_size = check_int("batch_size", batch_size, low=1)
    stimuli = static_gratings(frame_shape, **grating_kwargs)
    clips = torch.from_numpy(np.concatenate([stimuli["images"], stimuli["blank"][None]]))
    clips = clips[:, None].expand(-1, n_frames, -1, -1)
    if check_batch_norm(batch_norm) == "train":
        batch_size = 1
    per_layer = {}
    with evaluating(fn, device, batch_norm) as device:
        for start in range(0, clips.shape[0], batch_size):
            responses = fn(clips[start: start + batch_size].to(device))
            if not isinstance(responses, dict) or not responses:
                raise ParameterError("fn must return a dict of layer name -> (B, T, C, H, W) or (B, C, H, W) "
                                     f"activity, got {type(responses).__name__}")
            for name, activity in responses.items():
                if activity.dim() not in (4, 5):
                    raise ParameterError(f"layer {name!r}: activity must be (B, T, C, H, W) or (B, C, H, W), "
                                         f"got shape {tuple(activity.shape)}")
                mean = activity.mean(dim=1) if activity.dim() == 5 else activity
                per_layer.setdefault(name, []).append(mean.float().cpu())
    layers = {}
    for name, chunks in per_layer.items():
        responses = torch.cat(chunks).numpy()
        changes = responses[:-1] - responses[-1]
        std = changes.std(axis=0)
        layers[name] = {"std_change": std, "mean_change": changes.mean(axis=0), "mean_std": float(std.mean()),
                        "pooled_std": float(changes.std())}
        if keep_changes:
            layers[name]["changes"] = changes
    return {"layers": layers, "orientation_deg": stimuli["orientation_deg"],
            "frequency_per_px": stimuli["frequency_per_px"], "phase": stimuli["phase"]}
