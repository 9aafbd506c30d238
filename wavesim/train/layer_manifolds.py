"""Ligeralde et al.'s manifold analysis: the mean-field capacity of image manifolds at every ReLU and Linear layer.

As their ``src/mftma_analysis.py`` (after Cohen et al.'s activation
extractor): the network in eval mode, forward hooks on every leaf module
that is a ``ReLU`` or a ``Linear`` (encoder and projector; the projector's
output unnormalised), each manifold's images passed as one batch; a module
called more than once in a forward pass (a residual block's ReLU) counts
with its last call, as their correction of the traversal keeps it; the
network's input is a layer too. A layer with more than 5,000 units is
reduced to 5,000 by a Gaussian random projection with unit-norm rows, one
per layer; then the mean-field analysis (kappa = 0, n_t = 500) gives the
layer's capacity, radius and dimension
(:func:`wavesim.train.manifolds.manifold_geometry`).
"""

from __future__ import annotations

import contextlib

import numpy as np
import torch
from torch import nn

from wavesim.errors import ParameterError
from wavesim.validate import check_int

from .manifolds import manifold_geometry

__all__ = ["analysed_layers", "gaussian_projection", "layer_activations", "layer_manifold_geometry"]

#: Their largest layer analysed without a random projection.
MAX_FEATURES = 5000
#: Module types whose outputs their analysis takes.
LAYER_TYPES = (nn.ReLU, nn.Linear)


def _one_blas_thread():
    """BLAS on one thread: the analysis is many small SVDs and solves, which several threads slow down.

    Measured on a loaded 2-core machine: a (20, 5000) SVD took 1.0 s with two
    OpenBLAS threads and 0.01 s with one.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # scikit-learn brings it; without it, BLAS keeps its threads
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def analysed_layers(net: nn.Module) -> list[tuple[str, nn.Module]]:
    """(name, module) of every ReLU and Linear leaf module of ``net``, in the order torch registers them.

    Their names are module paths, e.g. ``backbone.prep.2`` or ``projector.0``;
    their code numbers the same leaves (``layer_3_ReLU``...).
    """
    return [(name, module) for name, module in net.named_modules()
            if isinstance(module, LAYER_TYPES) and not list(module.children())]


def layer_activations(net: nn.Module, manifolds: torch.Tensor, *, device=None,
                      batch_images: int = 256) -> dict[str, list[np.ndarray]]:
    """Every analysed layer's response to every manifold: name -> P arrays of (m, units) float32.

    ``"input"`` (the images themselves) comes first, then the layers of
    :func:`analysed_layers`. The network runs in eval mode under no_grad (so
    an image's response does not depend on the others in its batch; theirs
    passes one manifold per batch, here whole manifolds are batched up to
    ``batch_images`` images); its training mode is restored.

    Parameters
    ----------
    net : torch.nn.Module
        E.g. a :class:`~wavesim.train.models.ContrastiveNet`.
    manifolds : torch.Tensor
        (P, m, C, H, W) images.
    device : str or torch.device, optional
        Where to run; default the network's device.
    batch_images : int
        Most images per forward pass (at least one manifold's).
    """
    if manifolds.dim() != 5:
        raise ParameterError(f"manifolds must be (P, m, C, H, W) images, got shape {tuple(manifolds.shape)}")
    layers = analysed_layers(net)
    if not layers:
        raise ParameterError(f"{type(net).__name__} has no ReLU or Linear module to analyse")
    device = torch.device(device) if device is not None else next(net.parameters()).device
    n_manifolds, n_points = manifolds.shape[:2]
    per_batch = max(1, batch_images // n_points)
    last: dict[str, torch.Tensor] = {}

    def keeper(name):
        def hook(module, inputs, output):
            last[name] = output.detach().flatten(1).float().cpu().clone()
        return hook

    handles = [module.register_forward_hook(keeper(name)) for name, module in layers]
    was_training = net.training
    activations = {"input": [], **{name: [] for name, _ in layers}}
    try:
        net.eval()
        with torch.no_grad():
            for start in range(0, n_manifolds, per_batch):
                images = manifolds[start:start + per_batch]
                last.clear()
                net(images.flatten(0, 1).to(device))
                last["input"] = images.flatten(2).float().cpu()
                for name, values in activations.items():
                    values.extend(part.numpy() for part in last[name].reshape(len(images), n_points, -1))
    finally:
        for handle in handles:
            handle.remove()
        net.train(was_training)
    return activations


def gaussian_projection(points: list[np.ndarray], n_out: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Their random projection of a layer's points to ``n_out`` units, drawn exactly in distribution.

    Theirs multiplies the points by M, an (n_out, N) matrix of standard
    normal entries with each row scaled to unit norm. Only M's action on
    the span of the points matters: with Q an orthonormal basis of that
    span (rank r), a row g / ||g|| of M acts as h / sqrt(||h||^2 + c) with
    h = Q^T g ~ N(0, I_r) and c = ||g||^2 - ||h||^2 ~ chi^2(N - r)
    independent of h. So the projection is drawn from the (r x r) Gram
    eigenbasis of the points, at a cost of N m^2 instead of n_out N m
    operations and without the n_out x N matrix (5,000 x 131,072 doubles
    for their ResNet-9's second layer).

    Parameters
    ----------
    points : list of ndarray
        The manifolds of one layer: P arrays (m_mu, N).
    n_out : int
        Units after the projection.
    rng : numpy.random.Generator

    Returns
    -------
    list of ndarray
        The P manifolds as (m_mu, n_out) float64 arrays.
    """
    sizes = [len(p) for p in points]
    stacked = np.concatenate(points)  # (m, N)
    n_units = stacked.shape[1]
    # in the points' precision (float32 activations): its error is far below the projection's own distortion
    gram = (stacked @ stacked.T).astype(np.float64)
    values, vectors = np.linalg.eigh(gram)
    keep = values > 1e-12 * max(values.max(initial=0.0), 1e-300)
    # coordinates of the points in an orthonormal basis of their span: (m, r)
    coords = vectors[:, keep] * np.sqrt(values[keep])
    rank = coords.shape[1]
    h = rng.standard_normal((n_out, rank))
    c = rng.chisquare(n_units - rank, size=n_out) if n_units > rank else np.zeros(n_out)
    rows = h / np.sqrt(np.sum(h * h, axis=1) + c)[:, None]
    projected = coords @ rows.T
    return np.split(projected, np.cumsum(sizes)[:-1])


def layer_manifold_geometry(net: nn.Module, manifolds: torch.Tensor, *, n_t: int = 500,
                            max_features: int = MAX_FEATURES, seed: int = 0, device=None) -> dict:
    """Capacity, radius and dimension of ``manifolds`` at the input and every ReLU and Linear layer of ``net``.

    Parameters
    ----------
    net : torch.nn.Module
    manifolds : torch.Tensor
        (P, m, C, H, W) images, e.g. :func:`wavesim.train.cifar.translated_images`.
    n_t : int
        Gaussian vectors per manifold of the mean-field analysis (theirs: 500).
    max_features : int
        Layers with more units are randomly projected to this many (theirs: 5,000).
    seed : int
        Seed of the projections and of the analysis.
    device : str or torch.device, optional

    Returns
    -------
    dict
        ``layers``: per layer name, the geometry's
        :meth:`~wavesim.train.manifolds.ManifoldGeometry.to_dict` plus
        ``units`` and ``analysed_units``; ``pixels``: the same for the
        input, the form :func:`~wavesim.train.evaluate.plot_translation_manifolds` draws.
    """
    max_features = check_int("max_features", max_features, low=2)
    activations = layer_activations(net, manifolds, device=device)
    results = {}
    for index, (name, points) in enumerate(activations.items()):
        units = points[0].shape[1]
        if units > max_features:
            points = gaussian_projection(points, max_features, np.random.default_rng([seed, index]))
        with _one_blas_thread():
            geometry = manifold_geometry(points, n_t=n_t, seed=seed)
        results[name] = {**geometry.to_dict(), "units": int(units), "analysed_units": int(points[0].shape[1])}
    return {"layers": {k: v for k, v in results.items() if k != "input"}, "pixels": results["input"],
            "n_t": n_t, "max_features": max_features}

