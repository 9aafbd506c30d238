"""Capacity, radius and dimension of the translation manifolds in every layer of a network (Ligeralde et al. 2023)."""

import math
from pathlib import Path

import numpy as np
import torch
from matplotlib.figure import Figure
from scipy import sparse

from wavesim.errors import ParameterError
from wavesim.validate import check_int

from ..manifolds import manifold_geometry
from .features import evaluating
from .translation import check_translation_set, exemplar_manifolds, translated_exemplars

__all__ = ["plot_translation_manifolds", "translation_manifolds"]


#: Output units each input unit feeds in the sparse random projection of large layers.
PROJECTION_FAN_OUT = 16


def _layer_projector(n_units, max_units, seed):
    """A seeded sparse Johnson-Lindenstrauss transform, (n_units, max_units) CSR.

    Each input unit feeds ``PROJECTION_FAN_OUT`` random output units with
    random signs and weight 1 / sqrt(fan-out), so squared norms are kept in
    expectation (Kane & Nelson 2014, J ACM 61:4).
    """
    rng = np.random.default_rng([seed, n_units])
    rows = np.repeat(np.arange(n_units), PROJECTION_FAN_OUT)
    cols = rng.integers(0, max_units, size=rows.size)
    signs = rng.choice((-1.0, 1.0), size=rows.size) / math.sqrt(PROJECTION_FAN_OUT)
    return sparse.csr_matrix((signs, (rows, cols)), shape=(n_units, max_units))


def translation_manifolds(layer_fn, *, n_exemplars=24, n_translations=25, max_shift_fraction=0.5, crop_px=16,
                          n_t=200, max_units=4096, batch_size=128, device=None, seed=0):
    """Capacity, radius and dimension of the translation manifolds in every layer (Ligeralde et al. 2023).

    The images are those of :func:`translation_invariance` with the same
    arguments and seed: each of ``n_exemplars`` photograph crops under the
    same ``n_translations`` shifts. In each layer, the responses to one
    exemplar's shifted copies form its manifold (n_translations points in
    the layer's unit space); :func:`~wavesim.train.manifolds.manifold_geometry`
    gives the layer's mean-field capacity (kappa = 0, centre correlations
    removed), radius and dimension. The same analysis of the raw pixels is
    the reference: a network whose layer has a higher capacity has made the
    exemplars more separable whatever their position.

    A layer with more than ``max_units`` units (e.g. a 64 x 32 x 32 map) is
    first reduced to ``max_units`` by a seeded sparse random projection
    (``_layer_projector``), which keeps distances and angles to within a few
    percent (Johnson-Lindenstrauss) and so the geometry; Cohen et al. (2020)
    reduce large layers with random projections too.

    Parameters
    ----------
    layer_fn : callable
        Maps (B, 1, 32, 32) float32 images to a dict of layer name -> (B, ...)
        activity, e.g. :meth:`~wavesim.train.models.ContrastiveNet.layer_responses`.
        Run in eval mode under no_grad when it is, or is a method of, a module.
    n_exemplars, n_translations, max_shift_fraction, crop_px
        The translation set, as in :func:`translation_invariance`.
    n_t : int
        Gaussian vectors per manifold.
    max_units : int
        Largest layer size analysed without a random projection.
    batch_size : int
        Images per call of ``layer_fn``.
    device : str, torch.device or None
        See :func:`extract_features`.
    seed : int
        Seed of the images (as :func:`translation_invariance`), the projections and the analysis.

    Returns
    -------
    dict
        ``layers``: per layer name, in ``layer_fn``'s order, the geometry's
        :meth:`~wavesim.train.manifolds.ManifoldGeometry.to_dict` (``capacity``,
        ``capacity_stderr``, ``radius``, ``dimension``...) plus ``units`` (the
        layer's size) and ``analysed_units`` (after any projection);
        ``pixels``: the same for the raw pixels; ``shifts`` and ``max_shift_px``.
    """
    if not callable(layer_fn):
        raise ParameterError(f"layer_fn must be callable, got {type(layer_fn).__name__}")
    n_exemplars, n_translations, crop_px, max_shift = check_translation_set(
        n_exemplars, n_translations, max_shift_fraction, crop_px)
    n_t = check_int("n_t", n_t, low=1)
    max_units = check_int("max_units", max_units, low=1)
    batch_size = check_int("batch_size", batch_size, low=1)
    images, _, _, shifts = translated_exemplars(n_exemplars, n_translations, crop_px, max_shift,
                                                 np.random.default_rng(seed))
    projectors, chunks, units = {}, {}, {}
    with evaluating(layer_fn, device) as device:
        for start in range(0, len(images), batch_size):
            responses = layer_fn(torch.from_numpy(images[start : start + batch_size]).to(device))
            if not isinstance(responses, dict) or not responses:
                raise ParameterError("layer_fn must return a dict of layer name -> (B, ...) activity, "
                                     f"got {type(responses).__name__}")
            for name, activity in responses.items():
                flat = activity.reshape(activity.shape[0], -1).float().cpu().numpy()
                if name not in units:
                    units[name] = flat.shape[1]
                    if flat.shape[1] > max_units:
                        projectors[name] = _layer_projector(flat.shape[1], max_units, seed)
                if name in projectors:
                    flat = (projectors[name].T @ flat.T).T
                chunks.setdefault(name, []).append(np.asarray(flat, dtype=np.float64))
    layers = {}
    for name, parts in chunks.items():
        features = np.concatenate(parts)
        geometry = manifold_geometry(exemplar_manifolds(features, n_exemplars), n_t=n_t, seed=seed)
        layers[name] = {**geometry.to_dict(), "units": units[name], "analysed_units": features.shape[1]}
    pixels = images.reshape(len(images), -1).astype(np.float64)
    pixel_geometry = manifold_geometry(exemplar_manifolds(pixels, n_exemplars), n_t=n_t, seed=seed)
    return {"layers": layers,
            "pixels": {**pixel_geometry.to_dict(), "units": pixels.shape[1], "analysed_units": pixels.shape[1]},
            "shifts": shifts.tolist(), "max_shift_px": max_shift}


def plot_translation_manifolds(by_condition, path):
    """Save capacity, radius and dimension of the translation manifolds against layer, one line per condition.

    Parameters
    ----------
    by_condition : mapping of str -> dict
        Condition name -> :func:`translation_manifolds` result; all with the same layers.
    path : str or pathlib.Path
        Image file to write (format from the suffix, e.g. ``.png``).

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    if not by_condition:
        raise ParameterError("by_condition must hold at least one condition")
    fig = Figure(figsize=(12, 3.8), layout="constrained")
    axes = fig.subplots(1, 3)
    quantities = (("capacity", "capacity $\\alpha_M$ (P / N)"), ("radius", "radius $R_M$ (centre norms)"),
                  ("dimension", "dimension $D_M$"))
    for condition, result in by_condition.items():
        names = list(result["layers"])
        x = np.arange(len(names))
        for ax, (key, _) in zip(axes, quantities):
            values = [result["layers"][name][key] for name in names]
            errors = [result["layers"][name]["capacity_stderr"] for name in names] if key == "capacity" else None
            ax.errorbar(x, values, yerr=errors, marker="o", capsize=3, label=condition)
    pixels = next(iter(by_condition.values()))["pixels"]
    for ax, (key, label) in zip(axes, quantities):
        ax.axhline(pixels[key], color="grey", linestyle="--", label="pixels")
        ax.set_xticks(np.arange(len(names)), names, rotation=30)
        ax.set_xlabel("layer")
        ax.set_ylabel(label)
    axes[0].legend(fontsize="small")
    fig.suptitle("Translation manifolds (mean-field theory, Chung et al. 2018)")
    path = Path(path)
    fig.savefig(path, dpi=120)
    return path
