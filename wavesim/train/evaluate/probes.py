"""Linear probes on frozen features: a logistic-regression readout, and the digits probe of Ligeralde et al. (2023).

The digits are scikit-learn's, so the probe runs offline.
"""

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from wavesim.errors import ParameterError
from wavesim.validate import check_number

from .features import extract_features

__all__ = ["CANVAS_PX", "digits_probe", "linear_probe"]

#: Side of the images the probes show a network (pixels).
CANVAS_PX = 32


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
    train_fraction = check_number("train_fraction", train_fraction)
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
