"""Evaluation: linear probes, translation invariance, next-frame error, statistics across replicates.

The probes follow Ligeralde et al. (2023, arXiv:2312.02791) on material that
ships with scikit-learn and scikit-image, so everything runs offline. The
comparison of conditions over replicates follows May, Dauphin & Gjorgjieva
(2025): paired t-tests, Bonferroni-corrected.
"""

import contextlib
import functools
import itertools
import math
import warnings

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from wavesim.errors import ParameterError
from wavesim.train.losses import next_frame_loss

__all__ = [
    "activation_maximisation",
    "comparison_table",
    "digits_probe",
    "extract_features",
    "grating_responses",
    "linear_probe",
    "next_frame_error",
    "paired_comparisons",
    "plot_translation_manifolds",
    "receptive_field",
    "receptive_field_size",
    "static_gratings",
    "translation_invariance",
    "translation_manifolds",
]

CANVAS_PX = 32
# Photographs bundled inside the scikit-image wheel (no download needed).
PHOTOGRAPHS = ("astronaut", "camera", "chelsea", "coffee", "rocket", "coins")
# Photographs are downscaled to this shorter side before cropping, so that a
# 16-pixel crop holds a recognisable piece of the scene rather than flat texture.
PHOTO_SHORT_SIDE_PX = 128
MIN_CROP_STD = 0.05


def _positive_int(name, value):
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
        raise ParameterError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _owning_module(fn):
    """Return the module behind ``fn`` (itself, or the owner of a bound method), or None."""
    if isinstance(fn, nn.Module):
        return fn
    owner = getattr(fn, "__self__", None)
    return owner if isinstance(owner, nn.Module) else None


#: Batch-norm modes of the May et al. analyses: running statistics ("eval"), or each clip's own ("train").
BATCH_NORM_MODES = ("eval", "train")


def _check_batch_norm(batch_norm):
    if batch_norm not in BATCH_NORM_MODES:
        raise ParameterError(f"batch_norm must be one of {BATCH_NORM_MODES}, got {batch_norm!r}")
    return batch_norm


@contextlib.contextmanager
def _evaluating(fn, device, batch_norm="eval"):
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


def _as_float_tensor(name, array):
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
    batch_size = _positive_int("batch_size", batch_size)
    images = _as_float_tensor("images", images)
    if images.dim() < 2 or images.shape[0] < 1:
        raise ParameterError(f"images must have shape (N, ...) with N >= 1, got {tuple(images.shape)}")
    chunks = []
    with _evaluating(fn, device) as device:
        for start in range(0, images.shape[0], batch_size):
            out = fn(images[start : start + batch_size].to(device))
            chunks.append(out.reshape(out.shape[0], -1).float().cpu())
    return torch.cat(chunks).numpy()


def _check_features(name, features, labels):
    features = np.asarray(features, dtype=np.float64)
    labels = np.asarray(labels)
    if features.ndim != 2:
        raise ParameterError(f"{name}_features must have shape (N, D), got {features.shape}")
    if labels.shape != (features.shape[0],):
        raise ParameterError(
            f"{name}_labels must have shape ({features.shape[0]},) to match {name}_features, got {labels.shape}"
        )
    if not np.isfinite(features).all():
        raise ParameterError(f"{name}_features contains NaN or infinite values")
    return features, labels


def linear_probe(train_features, train_labels, test_features, test_labels, *, seed=0):
    """Return the test accuracy of a logistic-regression probe on standardised features.

    Features are standardised with the training set's mean and standard
    deviation; the classifier is scikit-learn's multinomial
    ``LogisticRegression`` (L2, C = 1, up to 5000 iterations) with the
    deterministic newton-cg solver, several times faster than lbfgs on
    high-dimensional features such as raw pixels.

    Parameters
    ----------
    train_features, test_features : array_like
        Features of shape (N_train, D) and (N_test, D).
    train_labels, test_labels : array_like
        Class labels of shape (N_train,) and (N_test,); at least two classes in training.
    seed : int
        ``random_state`` of the classifier.

    Returns
    -------
    float
        Fraction of test samples classified correctly.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    train_features, train_labels = _check_features("train", train_features, train_labels)
    test_features, test_labels = _check_features("test", test_features, test_labels)
    if train_features.shape[1] != test_features.shape[1]:
        raise ParameterError(
            f"train and test features differ in dimension: {train_features.shape[1]} vs {test_features.shape[1]}"
        )
    if np.unique(train_labels).size < 2:
        raise ParameterError("train_labels must contain at least two classes")
    if test_features.shape[0] < 1:
        raise ParameterError("the test set is empty")
    scaler = StandardScaler().fit(train_features)
    classifier = LogisticRegression(solver="newton-cg", max_iter=5000, random_state=seed)
    classifier.fit(scaler.transform(train_features), train_labels)
    return float(classifier.score(scaler.transform(test_features), test_labels))


def digits_probe(feature_fn, *, seed=0, train_fraction=0.7, batch_size=256, device=None):
    """Linear-probe accuracy of frozen features on scikit-learn's handwritten digits.

    The 1797 8x8 digits are scaled to [0, 1], upsampled bilinearly to 32x32 and
    passed to ``feature_fn`` as (B, 1, 32, 32) tensors; a stratified split
    trains :func:`linear_probe`. The same probe on the 1024 raw pixels is
    returned for reference.

    Parameters
    ----------
    feature_fn : callable
        Maps (B, 1, 32, 32) float32 images to (B, ...) features.
    seed : int
        Seed of the split and the probe.
    train_fraction : float
        Fraction of the digits used for training, in (0, 1).
    batch_size : int
        Images per call of ``feature_fn``.
    device : str, torch.device or None
        See :func:`extract_features`.

    Returns
    -------
    dict
        ``accuracy`` (features), ``pixel_accuracy`` (raw pixels), ``n_train``,
        ``n_test`` and ``feature_dim``.
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    if not 0 < train_fraction < 1:
        raise ParameterError(f"train_fraction must be in (0, 1), got {train_fraction!r}")
    digits = load_digits()
    small = torch.as_tensor(digits.images / 16.0, dtype=torch.float32).unsqueeze(1)
    images = F.interpolate(small, size=(CANVAS_PX, CANVAS_PX), mode="bilinear", align_corners=False)
    images = images.clamp(0, 1).numpy()
    train, test = train_test_split(
        np.arange(len(images)), train_size=train_fraction, stratify=digits.target, random_state=seed
    )
    features = extract_features(feature_fn, images, batch_size=batch_size, device=device)
    pixels = images.reshape(len(images), -1)
    labels = digits.target
    return {
        "accuracy": linear_probe(features[train], labels[train], features[test], labels[test], seed=seed),
        "pixel_accuracy": linear_probe(pixels[train], labels[train], pixels[test], labels[test], seed=seed),
        "n_train": len(train),
        "n_test": len(test),
        "feature_dim": features.shape[1],
    }


@functools.lru_cache(maxsize=None)
def _photograph(name):
    """Return a bundled scikit-image photograph as grayscale float in [0, 1], shorter side 128 px."""
    import skimage.data
    from skimage.color import rgb2gray
    from skimage.transform import rescale
    from skimage.util import img_as_float

    image = img_as_float(getattr(skimage.data, name)())
    if image.ndim == 3:
        image = rgb2gray(image[..., :3])
    image = rescale(image, PHOTO_SHORT_SIDE_PX / min(image.shape), anti_aliasing=True)
    image.setflags(write=False)
    return image


def _exemplar_crops(n_exemplars, crop_px, rng):
    """Return (n_exemplars, crop_px, crop_px) crops cycling over the bundled photographs.

    Near-uniform crops (std < MIN_CROP_STD) are redrawn: they would be
    indistinguishable from each other whatever the features.
    """
    from .cifar import textured_crop

    return np.stack([textured_crop(_photograph(PHOTOGRAPHS[index % len(PHOTOGRAPHS)]), crop_px, rng, MIN_CROP_STD)
                     for index in range(n_exemplars)])


def _fold_scores(features, exemplar, translation, folds, seed):
    """Return the probe accuracy on each held-out group of translations."""
    scores = []
    for held_out in folds:
        test = np.isin(translation, held_out)
        scores.append(
            linear_probe(features[~test], exemplar[~test], features[test], exemplar[test], seed=seed)
        )
    return scores


def _check_translation_set(n_exemplars, n_translations, max_shift_fraction, crop_px):
    """Check the translation-set parameters; return them as ints and the largest shift in pixels."""
    n_exemplars = _positive_int("n_exemplars", n_exemplars)
    n_translations = _positive_int("n_translations", n_translations)
    crop_px = _positive_int("crop_px", crop_px)
    if n_exemplars < 2:
        raise ParameterError("n_exemplars must be at least 2")
    if not 2 <= crop_px <= CANVAS_PX:
        raise ParameterError(f"crop_px must be between 2 and {CANVAS_PX}, got {crop_px}")
    if not 0 < max_shift_fraction <= 1:
        raise ParameterError(f"max_shift_fraction must be in (0, 1], got {max_shift_fraction!r}")
    max_shift = int(np.floor(max_shift_fraction * crop_px))
    n_shifts = (2 * max_shift + 1) ** 2
    if n_translations > n_shifts:
        raise ParameterError(f"n_translations must be at most the {n_shifts} shifts of at most {max_shift} px, "
                             f"got {n_translations}")
    return n_exemplars, n_translations, crop_px, max_shift


def _translated_exemplars(n_exemplars, n_translations, crop_px, max_shift, rng):
    """The translation set: exemplar crops on a black canvas, each under the same shifts.

    Returns
    -------
    tuple
        ``images`` (n_exemplars * n_translations, 1, 32, 32) float32, exemplar-major;
        ``exemplar`` and ``translation`` indices of each image; ``shifts``
        (n_translations, 2) int (dy, dx) in pixels.
    """
    crops = _exemplar_crops(n_exemplars, crop_px, rng)
    canvases = np.zeros((n_exemplars, CANVAS_PX, CANVAS_PX), dtype=np.float32)
    top = (CANVAS_PX - crop_px) // 2
    canvases[:, top : top + crop_px, top : top + crop_px] = crops
    grid = np.arange(-max_shift, max_shift + 1)
    all_shifts = np.stack(np.meshgrid(grid, grid, indexing="ij"), axis=-1).reshape(-1, 2)
    shifts = all_shifts[rng.choice(len(all_shifts), size=n_translations, replace=False)]
    images = np.stack(
        [np.roll(canvases, (dy, dx), axis=(1, 2)) for dy, dx in shifts], axis=1
    ).reshape(-1, 1, CANVAS_PX, CANVAS_PX)
    exemplar = np.repeat(np.arange(n_exemplars), n_translations)
    translation = np.tile(np.arange(n_translations), n_exemplars)
    return images, exemplar, translation, shifts


def _exemplar_manifolds(features, n_exemplars):
    """(n_exemplars, n_translations, D) point clouds from exemplar-major (N, D) features."""
    return features.reshape(n_exemplars, -1, features.shape[1])


def translation_invariance(
    feature_fn,
    *,
    n_exemplars=24,
    n_translations=25,
    max_shift_fraction=0.5,
    crop_px=16,
    n_folds=5,
    manifold_n_t=200,
    batch_size=256,
    device=None,
    seed=0,
    pixel_reference=True,
):
    """Translation test of Ligeralde et al. (2023): recognise exemplars at unseen shifts.

    Each exemplar is a ``crop_px`` square crop of a grayscale photograph
    bundled with scikit-image (astronaut, camera, chelsea, coffee, rocket,
    coins; downscaled to a 128-px shorter side, values in [0, 1]) placed at the
    centre of a black 32x32 canvas. The canvas is translated by
    ``n_translations`` integer shifts (dy, dx), drawn without replacement from
    all shifts with ``|dy|, |dx| <= floor(max_shift_fraction * crop_px)``, the
    same shifts for every exemplar. Shifts are circular (``numpy.roll``); with
    the defaults (16-px crop, shifts up to 8 px) the crop never reaches the
    canvas edge, so this equals zero-padded translation.

    The score is the accuracy of :func:`linear_probe` predicting the exemplar
    from the features, averaged over ``n_folds`` folds that each hold out a
    group of translations for all exemplars (stratified by construction), so
    the probe must generalise to shifts it never saw. The same score on raw
    pixels is returned for reference.

    Each exemplar's translated copies also form a manifold in feature space;
    their mean-field capacity, radius and dimension
    (:func:`~wavesim.train.manifolds.manifold_geometry`, kappa = 0, centre
    correlations removed) say how well a linear readout can separate the
    exemplars whatever their position, as Ligeralde et al. measure it. For
    every layer of a network, see :func:`translation_manifolds`.

    Parameters
    ----------
    feature_fn : callable
        Maps (B, 1, 32, 32) float32 images to (B, ...) features.
    n_exemplars : int
        Number of exemplar images (classes), at least 2.
    n_translations : int
        Number of shifts per exemplar, at least ``n_folds``.
    max_shift_fraction : float
        Largest shift along each axis as a fraction of ``crop_px``, in (0, 1].
    crop_px : int
        Side of the exemplar crops, 2 to 32.
    n_folds : int
        Number of cross-validation folds over translations, at least 2.
    manifold_n_t : int
        Gaussian vectors per manifold of the manifold analysis.
    batch_size : int
        Images per call of ``feature_fn``.
    device : str, torch.device or None
        See :func:`extract_features`.
    seed : int
        Seed of the crops, the shifts, the probes and the manifold analysis.
    pixel_reference : bool
        Also score raw pixels (the slow part on a CPU); without it the
        ``pixel_*`` entries are None.

    Returns
    -------
    dict
        ``score`` and ``pixel_score`` (mean fold accuracies), ``fold_scores``,
        ``manifold`` and ``pixel_manifold`` (the exemplar manifolds'
        :meth:`~wavesim.train.manifolds.ManifoldGeometry.to_dict`: ``capacity``,
        ``radius``, ``dimension``...), ``chance`` (1 / n_exemplars),
        ``max_shift_px`` and ``shifts`` (the n_translations ``[dy, dx]`` pairs
        used, as lists of int). Without ``pixel_reference`` the ``pixel_*``
        entries are None.
    """
    from wavesim.train.manifolds import manifold_geometry

    n_exemplars, n_translations, crop_px, max_shift = _check_translation_set(
        n_exemplars, n_translations, max_shift_fraction, crop_px)
    n_folds = _positive_int("n_folds", n_folds)
    manifold_n_t = _positive_int("manifold_n_t", manifold_n_t)
    if n_folds < 2:
        raise ParameterError("n_folds must be at least 2")
    if n_translations < n_folds:
        raise ParameterError(f"n_translations must be at least n_folds ({n_folds}), got {n_translations}")

    rng = np.random.default_rng(seed)
    images, exemplar, translation, shifts = _translated_exemplars(n_exemplars, n_translations, crop_px, max_shift,
                                                                  rng)
    folds = np.array_split(rng.permutation(n_translations), n_folds)

    features = extract_features(feature_fn, images, batch_size=batch_size, device=device)
    pixels = images.reshape(len(images), -1)
    fold_scores = _fold_scores(features, exemplar, translation, folds, seed)
    result = {
        "score": float(np.mean(fold_scores)),
        "pixel_score": None,
        "fold_scores": fold_scores,
        "manifold": manifold_geometry(_exemplar_manifolds(features, n_exemplars), n_t=manifold_n_t,
                                      seed=seed).to_dict(),
        "pixel_manifold": None,
        "chance": 1.0 / n_exemplars,
        "max_shift_px": max_shift,
        "shifts": shifts.tolist(),  # plain lists keep the result JSON-serialisable
    }
    if pixel_reference:
        result["pixel_score"] = float(np.mean(_fold_scores(pixels, exemplar, translation, folds, seed)))
        result["pixel_manifold"] = manifold_geometry(_exemplar_manifolds(pixels, n_exemplars), n_t=manifold_n_t,
                                                     seed=seed).to_dict()
    return result


#: Output units each input unit feeds in the sparse random projection of large layers.
PROJECTION_FAN_OUT = 16


def _layer_projector(n_units, max_units, seed):
    """A seeded sparse Johnson-Lindenstrauss transform, (n_units, max_units) CSR.

    Each input unit feeds ``PROJECTION_FAN_OUT`` random output units with
    random signs and weight 1 / sqrt(fan-out), so squared norms are kept in
    expectation (Kane & Nelson 2014, J ACM 61:4).
    """
    from scipy import sparse

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
    from wavesim.train.manifolds import manifold_geometry

    if not callable(layer_fn):
        raise ParameterError(f"layer_fn must be callable, got {type(layer_fn).__name__}")
    n_exemplars, n_translations, crop_px, max_shift = _check_translation_set(
        n_exemplars, n_translations, max_shift_fraction, crop_px)
    n_t = _positive_int("n_t", n_t)
    max_units = _positive_int("max_units", max_units)
    batch_size = _positive_int("batch_size", batch_size)
    images, _, _, shifts = _translated_exemplars(n_exemplars, n_translations, crop_px, max_shift,
                                                 np.random.default_rng(seed))
    projectors, chunks, units = {}, {}, {}
    with _evaluating(layer_fn, device) as device:
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
        geometry = manifold_geometry(_exemplar_manifolds(features, n_exemplars), n_t=n_t, seed=seed)
        layers[name] = {**geometry.to_dict(), "units": units[name], "analysed_units": features.shape[1]}
    pixels = images.reshape(len(images), -1).astype(np.float64)
    pixel_geometry = manifold_geometry(_exemplar_manifolds(pixels, n_exemplars), n_t=n_t, seed=seed)
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
    from pathlib import Path

    from matplotlib.figure import Figure

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


def next_frame_error(model, clips, batch_size=32, device=None):
    """Mean :func:`~wavesim.train.losses.next_frame_loss` of ``model`` over held-out clips.

    Each clip's last frame is the target and the frames before it the input
    (11 frames: 10 inputs and a target in May et al. 2025).

    Parameters
    ----------
    model : callable
        Maps (B, T - 1, H, W) clips to (B, 1, H, W) predictions, e.g. a
        :class:`~wavesim.train.models.RecurrentPredictor`; run in eval mode.
    clips : numpy.ndarray or torch.Tensor
        Clips of shape (N, T, H, W) or (N, T, 1, H, W) with T >= 2, values in [0, 1].
    batch_size : int
        Clips per forward pass.
    device : str, torch.device or None
        See :func:`extract_features`.

    Returns
    -------
    float
        Squared error summed over pixels, averaged over all N clips.
    """
    if not callable(model):
        raise ParameterError(f"model must be callable, got {type(model).__name__}")
    batch_size = _positive_int("batch_size", batch_size)
    clips = _as_float_tensor("clips", clips)
    if clips.dim() == 5 and clips.shape[2] == 1:
        clips = clips.squeeze(2)
    if clips.dim() != 4 or clips.shape[0] < 1 or clips.shape[1] < 2:
        raise ParameterError(
            f"clips must have shape (N, T, H, W) or (N, T, 1, H, W) with N >= 1 and T >= 2, "
            f"got {tuple(clips.shape)}"
        )
    total = 0.0
    with _evaluating(model, device) as device:
        for start in range(0, clips.shape[0], batch_size):
            batch = clips[start : start + batch_size].to(device)
            prediction = model(batch[:, :-1])
            total += next_frame_loss(prediction, batch[:, -1:]).item() * batch.shape[0]
    return total / clips.shape[0]


def _significance(p):
    if not p < 0.05:  # also for NaN
        return "n.s."
    return "***" if p < 0.001 else "**" if p < 0.01 else "*"


def paired_comparisons(scores, *, pairs=None, alpha=0.05):
    """Paired t-tests between conditions over replicates, Bonferroni-corrected (May et al. 2025).

    Replicate ``i`` of every condition is paired with replicate ``i`` of the
    others (in wavesim's protocols, the runs of one seed: same initial
    weights, same data order). Each pair of conditions gets a two-sided
    paired t-test (``scipy.stats.ttest_rel``) on the per-replicate scores;
    its p-value is multiplied by the number of comparisons m (Bonferroni)
    and capped at 1. By default every pair of conditions is compared,
    m = k (k - 1) / 2 for k conditions, as in the paper's figures.

    Parameters
    ----------
    scores : mapping of str -> sequence of float
        Per-replicate scores of each condition (e.g. validation error after
        one epoch), all of the same length n >= 2, finite, in replicate order.
        At least two conditions.
    pairs : sequence of (str, str), optional
        The comparisons to make (m = len(pairs)); default all pairs, in the
        order of ``scores``.
    alpha : float
        Family-wise significance level in (0, 1), applied to the corrected p-values.

    Returns
    -------
    list of dict
        One row per comparison: ``a``, ``b`` (condition names), ``n``,
        ``mean_a``, ``mean_b``, ``mean_difference`` (a - b) and
        ``sd_difference`` (ddof 1) of the paired differences, ``t``, ``df``
        (n - 1), ``p`` (uncorrected), ``p_bonferroni``, ``significant``
        (``p_bonferroni < alpha``) and ``stars`` (``***`` < 0.001, ``**`` < 0.01,
        ``*`` < 0.05, else ``n.s.``, on the corrected p-value). When all
        differences are equal, t is infinite (p = 0) or, if they are all
        zero, undefined (t and p NaN, not significant).

    Examples
    --------
    >>> rows = paired_comparisons({"pretrained": [1.0, 2.0, 3.0], "random": [2.0, 4.0, 5.0]})
    >>> rows[0]["mean_difference"], rows[0]["df"]
    (-1.6666666666666667, 2)
    """
    from scipy import stats

    if not hasattr(scores, "items") or len(scores) < 2:
        raise ParameterError(f"scores must map at least two condition names to their per-replicate scores, "
                             f"got {scores!r}")
    if not 0 < alpha < 1:
        raise ParameterError(f"alpha must be in (0, 1), got {alpha!r}")
    values = {}
    for name, per_replicate in scores.items():
        array = np.asarray(per_replicate, dtype=np.float64)
        if array.ndim != 1 or array.size < 2 or not np.isfinite(array).all():
            raise ParameterError(f"scores[{name!r}] must be at least two finite numbers (one per replicate), "
                                 f"got {per_replicate!r}")
        values[name] = array
    lengths = {name: array.size for name, array in values.items()}
    if len(set(lengths.values())) != 1:
        raise ParameterError(f"every condition needs the same number of replicates to pair them, got {lengths}")
    pairs = list(itertools.combinations(values, 2)) if pairs is None else [tuple(pair) for pair in pairs]
    if not pairs:
        raise ParameterError("pairs must name at least one pair of conditions")
    for pair in pairs:
        if len(pair) != 2 or pair[0] == pair[1] or not set(pair) <= set(values):
            raise ParameterError(f"each of pairs must be two different conditions of scores ({sorted(values)}), "
                                 f"got {pair!r}")
    rows = []
    for a, b in pairs:
        difference = values[a] - values[b]
        with warnings.catch_warnings():
            # All-equal differences: scipy warns of a precision loss and returns inf or NaN, as documented above.
            warnings.simplefilter("ignore", RuntimeWarning)
            t, p = stats.ttest_rel(values[a], values[b])
        p_corrected = min(1.0, float(p) * len(pairs)) if not math.isnan(p) else math.nan
        rows.append({
            "a": a, "b": b, "n": int(difference.size),
            "mean_a": float(values[a].mean()), "mean_b": float(values[b].mean()),
            "mean_difference": float(difference.mean()), "sd_difference": float(difference.std(ddof=1)),
            "t": float(t), "df": int(difference.size - 1), "p": float(p), "p_bonferroni": p_corrected,
            "significant": bool(p_corrected < alpha), "stars": _significance(p_corrected),
        })
    return rows


def comparison_table(rows):
    """The rows of :func:`paired_comparisons` as a Markdown table (one line per comparison)."""
    lines = ["| a | b | n | mean a | mean b | mean a - b | t | p | p (Bonferroni) | |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['a']} | {r['b']} | {r['n']} | {r['mean_a']:.4g} | {r['mean_b']:.4g} | "
                     f"{r['mean_difference']:.4g} | {r['t']:.3g} | {r['p']:.3g} | {r['p_bonferroni']:.3g} | "
                     f"{r['stars']} |")
    return "\n".join(lines)


# ---------------------------------------------------------------------- receptive fields (May et al. 2025)


def _pixel_pair(name, value, low=1):
    try:
        pair = tuple(int(v) for v in value)
    except (TypeError, ValueError):
        pair = ()
    if len(pair) != 2 or any(v < low for v in pair) or any(v != w for v, w in zip(pair, value)):
        raise ParameterError(f"{name} must be two integers >= {low} (row, column), got {value!r}")
    return pair


def _nonnegative(name, value):
    if not isinstance(value, (int, float, np.integer, np.floating)) or isinstance(value, bool) or not value >= 0:
        raise ParameterError(f"{name} must be a number >= 0, got {value!r}")
    return float(value)


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
    from scipy.ndimage import gaussian_filter

    if not callable(fn):
        raise ParameterError(f"fn must be callable, got {type(fn).__name__}")
    height, width = _pixel_pair("frame_shape", frame_shape)
    row, col = _pixel_pair("unit", (height // 2, 3 * width // 4) if unit is None else unit, low=0)
    if row >= height or col >= width:
        raise ParameterError(f"unit {(row, col)} lies outside the {height} x {width} frame")
    n_frames, n_trials, steps, blur_every = (_positive_int(name, value) for name, value in (
        ("n_frames", n_frames), ("n_trials", n_trials), ("steps", steps), ("blur_every", blur_every)))
    step_size = _nonnegative("step_size", step_size)
    l2_decay = _nonnegative("l2_decay", l2_decay)
    if l2_decay >= 1:
        raise ParameterError(f"l2_decay must be in [0, 1), got {l2_decay!r}")
    sigma = tuple(_nonnegative("blur_sigma", v) for v in blur_sigma) if np.ndim(blur_sigma) == 1 else ()
    if len(sigma) != 2:
        raise ParameterError(f"blur_sigma must be two numbers >= 0 (frames, pixels), got {blur_sigma!r}")
    crops = []
    for name, value in (("norm_crop_percentile", norm_crop_percentile),
                        ("contribution_crop_percentile", contribution_crop_percentile)):
        if not 0 <= _nonnegative(name, value) < 100:
            raise ParameterError(f"{name} must be in [0, 100), got {value!r}")
        crops.append(float(value))
    generator = torch.Generator().manual_seed(seed)
    start = torch.rand(n_trials, n_frames, height, width, generator=generator)
    best = start.clone()
    best_activation = torch.full((n_trials,), -math.inf)
    # In train mode a batch norm mixes the clips of a batch: each trial climbs alone there.
    groups = [slice(i, i + 1) for i in range(n_trials)] if _check_batch_norm(batch_norm) == "train" else [slice(None)]
    with _evaluating(fn, device, batch_norm) as device:
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
    row, col = _pixel_pair("unit", unit, low=0)
    if row >= clip.shape[1] or col >= clip.shape[2]:
        raise ParameterError(f"unit {(row, col)} lies outside the {clip.shape[1]} x {clip.shape[2]} frame")
    if not isinstance(radius_px, (int, np.integer)) or isinstance(radius_px, bool) or radius_px < 0:
        raise ParameterError(f"radius_px must be an integer >= 0, got {radius_px!r}")
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


# ---------------------------------------------------------------------- static gratings (May et al. 2025)

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
    height, width = _pixel_pair("frame_shape", frame_shape)
    if not 0 <= contrast <= 1:
        raise ParameterError(f"contrast must be in [0, 1], got {contrast!r}")
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
    n_frames = _positive_int("n_frames", n_frames)
    batch_size = _positive_int("batch_size", batch_size)
    stimuli = static_gratings(frame_shape, **grating_kwargs)
    clips = torch.from_numpy(np.concatenate([stimuli["images"], stimuli["blank"][None]]))
    clips = clips[:, None].expand(-1, n_frames, -1, -1)
    if _check_batch_norm(batch_norm) == "train":
        batch_size = 1
    per_layer = {}
    with _evaluating(fn, device, batch_norm) as device:
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
