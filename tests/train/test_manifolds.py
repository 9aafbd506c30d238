"""Manifold capacity, radius and dimension against the theory's known cases (wavesim.train.manifolds)."""

import json
import math

import numpy as np
import pytest
from scipy import integrate, stats

from wavesim.errors import ParameterError
from wavesim.train.manifolds import ball_capacity, empirical_capacity, manifold_geometry


def sphere_manifolds(n_manifolds, n_units, radius, dimension, n_points, seed):
    """P spheres of radius R in D dimensions around unit centres, all directions orthonormal.

    The centres are orthonormal vectors minus their mean, renormalised, and the
    sphere samples are symmetric (antipodal pairs or a regular polygon), so the
    global mean is exactly 0 and each manifold's mean is its centre: the
    analysis sees the centre norm 1 and the radius R it was given.
    """
    rng = np.random.default_rng(seed)
    basis, _ = np.linalg.qr(rng.standard_normal((n_units, n_manifolds * (dimension + 1))))
    centers = basis[:, :n_manifolds].T
    centers = centers - centers.mean(axis=0)
    centers /= np.linalg.norm(centers, axis=1, keepdims=True)
    if dimension == 1:
        coords = np.array([[1.0], [-1.0]])
    elif dimension == 2:
        angle = 2 * np.pi * np.arange(n_points) / n_points
        coords = np.stack([np.cos(angle), np.sin(angle)], axis=1)
    else:
        half = rng.standard_normal((n_points // 2, dimension))
        half /= np.linalg.norm(half, axis=1, keepdims=True)
        coords = np.vstack([half, -half])
    manifolds = []
    for mu in range(n_manifolds):
        axes = basis[:, n_manifolds + mu * dimension: n_manifolds + (mu + 1) * dimension].T
        manifolds.append(centers[mu] + radius * coords @ axes)
    return manifolds


def gaussian_manifolds(n_manifolds, n_units, n_points, dimension, radius, seed):
    """P random manifolds: Gaussian centres, points Gaussian in a random D-dimensional subspace."""
    rng = np.random.default_rng(seed)
    manifolds = []
    for _ in range(n_manifolds):
        center = rng.standard_normal(n_units) / np.sqrt(n_units)
        axes = rng.standard_normal((dimension, n_units)) / np.sqrt(n_units * dimension)
        manifolds.append(center + radius * rng.standard_normal((n_points, dimension)) @ axes)
    return manifolds


def ball_anchor_radius(radius, dimension):
    """Theory's R_M of a D-ball at kappa = 0: R except where T is embedded (t0 < -t / R), there t / |t0|."""
    def inner(t):
        split = -t / radius
        embedded, _ = integrate.quad(lambda t0: (t / t0) ** 2 * stats.norm.pdf(t0), -np.inf, split)
        return stats.chi.pdf(t, dimension) * (radius**2 * stats.norm.sf(split) + embedded)

    value, _ = integrate.quad(inner, 0, np.inf, limit=200)
    return math.sqrt(value)


def test_ball_capacity_limits():
    assert ball_capacity(0.0, 3) == pytest.approx(2.0)  # points: Cover
    assert ball_capacity(0.0, 0, kappa=1.0) == pytest.approx(1 / (stats.norm.cdf(1) * 2 + stats.norm.pdf(1)))
    assert ball_capacity(1e4, 2) == pytest.approx(1 / 2.5, rel=1e-3)  # a (D + 1)-subspace: 1 / (D + 1/2)
    # Large D, R sqrt(D) >> 1: alpha ~ (1 + R^2) / (R^2 D).
    assert ball_capacity(1.0, 400) == pytest.approx(2 / 400, rel=0.01)
    assert ball_capacity(0.5, 400) == pytest.approx(1.25 / (0.25 * 400), rel=0.02)
    assert ball_capacity(0.5, 2) > ball_capacity(1.0, 2) > ball_capacity(2.0, 2)
    with pytest.raises(ParameterError, match="radius"):
        ball_capacity(-1.0, 2)


def test_single_points_have_capacity_two():
    points = [point[None] for point in np.random.default_rng(0).standard_normal((40, 200))]
    geometry = manifold_geometry(points, n_t=200, seed=1)
    assert geometry.capacity == pytest.approx(2.0, rel=0.05)
    assert geometry.radius == 0 and geometry.dimension == 0
    capacity, stderr = empirical_capacity(points, n_dichotomies=100, seed=2)
    assert capacity == pytest.approx(2.0, rel=0.05) and 0 < stderr < 0.1
    # A margin kappa: Gardner's alpha_0(kappa).
    margin = manifold_geometry(points, kappa=0.5, n_t=200, seed=1)
    assert margin.capacity == pytest.approx(ball_capacity(0.0, 0, kappa=0.5), rel=0.05)


@pytest.mark.parametrize("radius, dimension, n_points", [(0.5, 1, 2), (2.0, 1, 2), (0.5, 2, 48), (1.0, 2, 48),
                                                         (2.0, 2, 48), (1.0, 3, 200)])
def test_spheres_match_the_ball_theory(radius, dimension, n_points):
    manifolds = sphere_manifolds(20, 200, radius, dimension, n_points, seed=3)
    geometry = manifold_geometry(manifolds, n_t=150, remove_center_correlations=False, seed=4)
    theory = ball_capacity(radius, dimension)
    assert geometry.capacity == pytest.approx(theory, rel=0.05)
    assert abs(geometry.capacity - theory) < 4 * geometry.capacity_stderr + 0.01 * theory  # polygon vs circle
    assert geometry.radius == pytest.approx(ball_anchor_radius(radius, dimension), rel=0.05)
    assert geometry.dimension == pytest.approx(dimension, rel=0.05)
    # Centred orthonormal centres: every cosine is -1 / (P - 1).
    assert geometry.removed_dims == 0 and geometry.center_correlation == pytest.approx(1 / 19)


def test_empirical_and_mean_field_capacities_agree():
    manifolds = gaussian_manifolds(20, 200, 10, 3, 1.0, seed=5)
    geometry = manifold_geometry(manifolds, n_t=300, seed=6)
    capacity, stderr = empirical_capacity(manifolds, n_dichotomies=100, seed=7)
    assert abs(capacity - geometry.capacity) < 2 * math.hypot(stderr, geometry.capacity_stderr)
    assert 0.4 < capacity < 1.0  # well below the 2 of points


def test_shared_centre_direction_is_removed():
    rng = np.random.default_rng(8)
    manifolds = gaussian_manifolds(16, 150, 8, 3, 0.5, seed=9)
    shared = rng.standard_normal(150)
    # Centres with a strong common component along one direction, of random sign and size.
    correlated = [points + 3 * rng.standard_normal() * shared / np.sqrt(150) for points in manifolds]
    plain = manifold_geometry(correlated, remove_center_correlations=False, n_t=100)
    removed = manifold_geometry(correlated, n_t=100)
    assert removed.removed_dims >= 1
    assert removed.center_correlation < plain.center_correlation
    assert removed.capacity != plain.capacity
    json.dumps(removed.to_dict())


def test_geometry_is_seeded_and_scale_free():
    manifolds = gaussian_manifolds(6, 30, 5, 2, 0.7, seed=10)
    first = manifold_geometry(manifolds, n_t=50, seed=3)
    assert manifold_geometry(manifolds, n_t=50, seed=3).capacity == first.capacity
    scaled = manifold_geometry([7.0 * points + 0.0 for points in manifolds], n_t=50, seed=3)
    assert scaled.capacity == pytest.approx(first.capacity) and scaled.radius == pytest.approx(first.radius)
    as_array = manifold_geometry(np.stack(manifolds), n_t=50, seed=3)
    assert as_array.capacity == first.capacity


@pytest.mark.parametrize("manifolds, match", [
    ([np.ones((3, 4))], "at least 2 manifolds"),
    ([np.ones((3, 4)), np.ones((3, 5))], "same feature dimension"),
    ([np.ones((3, 4)), np.full((3, 4), np.nan)], "NaN"),
    ([np.ones((3, 4)), np.ones((0, 4))], r"shape \(m, N\)"),
    ([np.ones((3, 4)), [["a"]]], "array of numbers"),
    ("abc", "sequence"),
])
def test_bad_manifolds(manifolds, match):
    with pytest.raises(ParameterError, match=match):
        manifold_geometry(manifolds)
    with pytest.raises(ParameterError, match=match):
        empirical_capacity(manifolds)


def test_bad_settings():
    manifolds = gaussian_manifolds(4, 10, 3, 2, 0.5, seed=0)
    with pytest.raises(ParameterError, match="kappa"):
        manifold_geometry(manifolds, kappa=-1)
    with pytest.raises(ParameterError, match="n_t"):
        manifold_geometry(manifolds, n_t=0)
    with pytest.raises(ParameterError, match="seed"):
        manifold_geometry(manifolds, seed=-1)
    with pytest.raises(ParameterError, match="n_dichotomies"):
        empirical_capacity(manifolds, n_dichotomies=1)
    # The third manifold's centre is the mean of all points.
    with pytest.raises(ParameterError, match="centre coincides"):
        manifold_geometry([[[1.0, 0.0]], [[-1.0, 0.0]], [[0.0, 1.0], [0.0, -1.0]]], remove_center_correlations=False)
