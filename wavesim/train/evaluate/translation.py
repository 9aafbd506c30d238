"""The translation test of Ligeralde et al. (2023): recognise photograph crops at shifts never seen.

The exemplars are crops of photographs bundled with scikit-image, so the
test runs offline.
"""

import functools

import numpy as np
import skimage.data
from skimage.color import rgb2gray
from skimage.transform import rescale
from skimage.util import img_as_float

from wavesim.errors import ParameterError
from wavesim.validate import check_int, check_number

from ..cifar import textured_crop
from ..manifolds import manifold_geometry
from .features import extract_features
from .probes import CANVAS_PX, linear_probe

__all__ = ["PHOTOGRAPHS", "translation_invariance"]

# Photographs bundled inside the scikit-image wheel (no download needed).
PHOTOGRAPHS = ("astronaut", "camera", "chelsea", "coffee", "rocket", "coins")
# Photographs are downscaled to this shorter side before cropping, so that a
# 16-pixel crop holds a recognisable piece of the scene rather than flat texture.
PHOTO_SHORT_SIDE_PX = 128
MIN_CROP_STD = 0.05


@functools.lru_cache(maxsize=None)
def _photograph(name):
    """Return a bundled scikit-image photograph as grayscale float in [0, 1], shorter side 128 px."""
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


def check_translation_set(n_exemplars, n_translations, max_shift_fraction, crop_px):
    """Check the translation-set parameters; return them as ints and the largest shift in pixels."""
    n_exemplars = check_int("n_exemplars", n_exemplars, low=2)
    n_translations = check_int("n_translations", n_translations, low=1)
    crop_px = check_int("crop_px", crop_px, low=2, high=CANVAS_PX)
    max_shift_fraction = check_number("max_shift_fraction", max_shift_fraction, low=0, low_open=True, high=1)
    max_shift = int(np.floor(max_shift_fraction * crop_px))
    n_shifts = (2 * max_shift + 1) ** 2
    if n_translations > n_shifts:
        raise ParameterError(f"n_translations must be at most the {n_shifts} shifts of at most {max_shift} px, "
                             f"got {n_translations}")
    return n_exemplars, n_translations, crop_px, max_shift


def translated_exemplars(n_exemplars, n_translations, crop_px, max_shift, rng):
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


def exemplar_manifolds(features, n_exemplars):
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
    n_exemplars, n_translations, crop_px, max_shift = check_translation_set(
        n_exemplars, n_translations, max_shift_fraction, crop_px)
    n_folds = check_int("n_folds", n_folds, low=2)
    manifold_n_t = check_int("manifold_n_t", manifold_n_t, low=1)
    if n_translations < n_folds:
        raise ParameterError(f"n_translations must be at least n_folds ({n_folds}), got {n_translations}")

    rng = np.random.default_rng(seed)
    images, exemplar, translation, shifts = translated_exemplars(n_exemplars, n_translations, crop_px, max_shift,
                                                                  rng)
    folds = np.array_split(rng.permutation(n_translations), n_folds)

    features = extract_features(feature_fn, images, batch_size=batch_size, device=device)
    pixels = images.reshape(len(images), -1)
    fold_scores = _fold_scores(features, exemplar, translation, folds, seed)
    result = {
        "score": float(np.mean(fold_scores)),
        "pixel_score": None,
        "fold_scores": fold_scores,
        "manifold": manifold_geometry(exemplar_manifolds(features, n_exemplars), n_t=manifold_n_t,
                                      seed=seed).to_dict(),
        "pixel_manifold": None,
        "chance": 1.0 / n_exemplars,
        "max_shift_px": max_shift,
        "shifts": shifts.tolist(),  # plain lists keep the result JSON-serialisable
    }
    if pixel_reference:
        result["pixel_score"] = float(np.mean(_fold_scores(pixels, exemplar, translation, folds, seed)))
        result["pixel_manifold"] = manifold_geometry(exemplar_manifolds(pixels, n_exemplars), n_t=manifold_n_t,
                                                     seed=seed).to_dict()
    return result

