"""Evaluation of frozen representations: linear probes, translation invariance, next-frame error.

The probes follow Ligeralde et al. (2023, arXiv:2312.02791) on material that
ships with scikit-learn and scikit-image, so everything runs offline.
"""

import contextlib
import functools
import warnings

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from wavesim.errors import ParameterError
from wavesim.train.losses import next_frame_loss

__all__ = [
    "digits_probe",
    "extract_features",
    "linear_probe",
    "next_frame_error",
    "translation_invariance",
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


@contextlib.contextmanager
def _evaluating(fn, device):
    """Run ``fn``'s module in eval mode under no_grad on ``device``; yield the device used.

    With ``device=None`` the module's own device is used (CPU for plain
    functions); otherwise the module is moved there. Training mode is restored.
    """
    module = _owning_module(fn)
    if device is None:
        parameter = next(module.parameters(), None) if module is not None else None
        device = parameter.device if parameter is not None else torch.device("cpu")
    device = torch.device(device)
    was_training = module.training if module is not None else False
    if module is not None:
        module.to(device).eval()
    try:
        with torch.no_grad():
            yield device
    finally:
        if module is not None:
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
    crops = []
    for index in range(n_exemplars):
        photo = _photograph(PHOTOGRAPHS[index % len(PHOTOGRAPHS)])
        for _ in range(100):
            row = rng.integers(0, photo.shape[0] - crop_px + 1)
            col = rng.integers(0, photo.shape[1] - crop_px + 1)
            crop = photo[row : row + crop_px, col : col + crop_px]
            if crop.std() >= MIN_CROP_STD:
                break
        crops.append(crop)
    return np.stack(crops)


def _fold_scores(features, exemplar, translation, folds, seed):
    """Return the probe accuracy on each held-out group of translations."""
    scores = []
    for held_out in folds:
        test = np.isin(translation, held_out)
        scores.append(
            linear_probe(features[~test], exemplar[~test], features[test], exemplar[test], seed=seed)
        )
    return scores


def _separability(features, exemplar, n_dichotomies, dim, rng):
    """Fraction of random balanced dichotomies of the exemplar manifolds a linear SVM separates.

    Features are standardised and reduced to their top ``dim`` principal
    components first: in the raw 512- or 1024-d space a few hundred points
    are separable in any labelling, so the measure would say nothing.
    """
    from sklearn.decomposition import PCA
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import LinearSVC

    standard = StandardScaler().fit_transform(features)
    reduced = PCA(n_components=min(dim, *standard.shape), random_state=0).fit_transform(standard)
    n_exemplars = exemplar.max() + 1
    separable = 0
    for _ in range(n_dichotomies):
        side = rng.permutation(n_exemplars) < n_exemplars // 2
        labels = side[exemplar]
        with warnings.catch_warnings():
            # A non-separable dichotomy may not converge; it is counted as not separated.
            warnings.simplefilter("ignore", ConvergenceWarning)
            svm = LinearSVC(C=1e3, max_iter=20000, random_state=0).fit(reduced, labels)
        separable += bool(svm.score(reduced, labels) == 1.0)
    return separable / n_dichotomies


def translation_invariance(
    feature_fn,
    *,
    n_exemplars=24,
    n_translations=25,
    max_shift_fraction=0.5,
    crop_px=16,
    n_folds=5,
    n_dichotomies=50,
    separability_dim=10,
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

    Optionally (``n_dichotomies > 0``) a manifold-separability measure: the
    fraction of random balanced dichotomies of the exemplars (all translated
    copies of an exemplar share its label) that a linear SVM (C = 1000)
    classifies with no training error, on the top ``separability_dim``
    principal components of the standardised features.

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
    n_dichotomies : int
        Random dichotomies for the separability measure; 0 skips it.
    separability_dim : int
        Principal components kept for the separability measure.
    batch_size : int
        Images per call of ``feature_fn``.
    device : str, torch.device or None
        See :func:`extract_features`.
    seed : int
        Seed of the crops, the shifts, the dichotomies and the probes.
    pixel_reference : bool
        Also score raw pixels (the slow part on a CPU); without it the
        ``pixel_*`` entries are None.

    Returns
    -------
    dict
        ``score`` and ``pixel_score`` (mean fold accuracies), ``fold_scores``,
        ``separability`` and ``pixel_separability`` (None when
        ``n_dichotomies`` is 0), ``chance`` (1 / n_exemplars), ``max_shift_px``
        and ``shifts`` (the n_translations ``[dy, dx]`` pairs used, as lists of int).
    """
    n_exemplars = _positive_int("n_exemplars", n_exemplars)
    n_translations = _positive_int("n_translations", n_translations)
    n_folds = _positive_int("n_folds", n_folds)
    crop_px = _positive_int("crop_px", crop_px)
    separability_dim = _positive_int("separability_dim", separability_dim)
    if n_exemplars < 2:
        raise ParameterError("n_exemplars must be at least 2")
    if n_folds < 2:
        raise ParameterError("n_folds must be at least 2")
    if not 2 <= crop_px <= CANVAS_PX:
        raise ParameterError(f"crop_px must be between 2 and {CANVAS_PX}, got {crop_px}")
    if not 0 < max_shift_fraction <= 1:
        raise ParameterError(f"max_shift_fraction must be in (0, 1], got {max_shift_fraction!r}")
    if not isinstance(n_dichotomies, (int, np.integer)) or isinstance(n_dichotomies, bool) or n_dichotomies < 0:
        raise ParameterError(f"n_dichotomies must be a non-negative integer, got {n_dichotomies!r}")
    max_shift = int(np.floor(max_shift_fraction * crop_px))
    n_shifts = (2 * max_shift + 1) ** 2
    if not n_folds <= n_translations <= n_shifts:
        raise ParameterError(
            f"n_translations must be between n_folds ({n_folds}) and the {n_shifts} shifts of at most "
            f"{max_shift} px, got {n_translations}"
        )

    rng = np.random.default_rng(seed)
    crops = _exemplar_crops(n_exemplars, crop_px, rng)
    canvases = np.zeros((n_exemplars, CANVAS_PX, CANVAS_PX), dtype=np.float32)
    top = (CANVAS_PX - crop_px) // 2
    canvases[:, top : top + crop_px, top : top + crop_px] = crops
    grid = np.arange(-max_shift, max_shift + 1)
    all_shifts = np.stack(np.meshgrid(grid, grid, indexing="ij"), axis=-1).reshape(-1, 2)
    shifts = all_shifts[rng.choice(n_shifts, size=n_translations, replace=False)]
    images = np.stack(
        [np.roll(canvases, (dy, dx), axis=(1, 2)) for dy, dx in shifts], axis=1
    ).reshape(-1, 1, CANVAS_PX, CANVAS_PX)
    exemplar = np.repeat(np.arange(n_exemplars), n_translations)
    translation = np.tile(np.arange(n_translations), n_exemplars)
    folds = np.array_split(rng.permutation(n_translations), n_folds)

    features = extract_features(feature_fn, images, batch_size=batch_size, device=device)
    pixels = images.reshape(len(images), -1)
    fold_scores = _fold_scores(features, exemplar, translation, folds, seed)
    result = {
        "score": float(np.mean(fold_scores)),
        "pixel_score": None,
        "fold_scores": fold_scores,
        "separability": None,
        "pixel_separability": None,
        "chance": 1.0 / n_exemplars,
        "max_shift_px": max_shift,
        "shifts": shifts.tolist(),  # plain lists keep the result JSON-serialisable
    }
    if pixel_reference:
        result["pixel_score"] = float(np.mean(_fold_scores(pixels, exemplar, translation, folds, seed)))
    if n_dichotomies:
        # Same dichotomies for features and pixels: two generators from one seed.
        result["separability"] = _separability(
            features, exemplar, n_dichotomies, separability_dim, np.random.default_rng([seed, 1])
        )
        if pixel_reference:
            result["pixel_separability"] = _separability(
                pixels, exemplar, n_dichotomies, separability_dim, np.random.default_rng([seed, 1])
            )
    return result


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
