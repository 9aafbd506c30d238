"""Manifold capacity, radius and dimension: mean-field theory and its empirical check.

A *manifold* here is a point cloud: the responses of N units to one object
under all its variations (e.g. one image under a set of shifts). P manifolds
are linearly separable under a dichotomy (a label +1 or -1 per manifold, shared
by all its points) when a hyperplane through the origin puts every point on
its manifold's side. The *capacity* alpha_M is the largest load P / N at which
half of the random dichotomies are separable; the larger, the more manifolds
a linear readout can tell apart per unit.

:func:`manifold_geometry` computes alpha_M, with the manifolds' radius R_M and
dimension D_M, from the replica mean-field theory of Chung, Lee & Sompolinsky
(2018, Phys Rev X 8:031003) as applied to deep networks by Cohen, Chung, Lee &
Sompolinsky (2020, Nat Commun 11:746). :func:`empirical_capacity` measures the
same capacity directly, by checking random dichotomies of random projections
for separability with a linear program. :func:`ball_capacity` is the theory's
closed form for D-dimensional balls, against which the point-cloud analysis
is validated.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from wavesim.errors import ParameterError
from wavesim.validate import check_int, check_number, check_seed

__all__ = ["ManifoldGeometry", "ball_capacity", "empirical_capacity", "manifold_geometry"]

# Singular values below this fraction of a manifold's largest are rounding noise, not extent.
_RANK_TOLERANCE = 1e-9
# A Lagrange-multiplier total below this counts as zero: the Gaussian vector lies in the solution cone.
_INTERIOR_TOLERANCE = 1e-12
# Least-distance residual below which a dichotomy counts as not separable (margin ~ this, relative to the RMS norm).
_SEPARATION_TOLERANCE = 1e-9


def _check_manifolds(manifolds):
    """Return ``manifolds`` as a list of (m_mu, N) float64 arrays, after checking them."""
    if isinstance(manifolds, np.ndarray) and manifolds.ndim == 3:
        manifolds = list(manifolds)
    if isinstance(manifolds, (str, bytes)) or not hasattr(manifolds, "__len__"):
        raise ParameterError(f"manifolds must be a sequence of (m, N) point clouds, got {type(manifolds).__name__}")
    if len(manifolds) < 2:
        raise ParameterError(f"manifolds must hold at least 2 manifolds, got {len(manifolds)}")
    checked = []
    for index, points in enumerate(manifolds):
        try:
            points = np.asarray(points, dtype=np.float64)
        except (TypeError, ValueError) as error:
            raise ParameterError(f"manifold {index} must be an array of numbers: {error}") from None
        if points.ndim != 2 or points.shape[0] < 1 or points.shape[1] < 1:
            raise ParameterError(f"manifold {index} must have shape (m, N) with m, N >= 1, got {points.shape}")
        if not np.isfinite(points).all():
            raise ParameterError(f"manifold {index} contains NaN or infinite values")
        checked.append(points)
    dims = {points.shape[1] for points in checked}
    if len(dims) != 1:
        raise ParameterError(f"every manifold must have the same feature dimension N, got {sorted(dims)}")
    return checked


def _globally_centred(manifolds):
    """Subtract the mean of all points, so that hyperplanes through the origin are the relevant ones."""
    origin = np.concatenate(manifolds).mean(axis=0)
    return [points - origin for points in manifolds]


def _correlated_subspace(centers):
    """Orthonormal (N, K) basis of the centres' shared directions, K chosen to decorrelate them most.

    Cohen et al. (2020) project out a K-dimensional subspace of the centres
    before the analysis, because the theory assumes uncorrelated centres. Here
    the subspace is spanned by the centres' top K principal axes, and K
    (0 to P - 2) minimises the mean squared cosine between the residual
    centres (Cohen et al. optimise the subspace itself for that criterion).
    """
    n_manifolds = centers.shape[0]
    _, _, axes = np.linalg.svd(centers - centers.mean(axis=0), full_matrices=False)
    best_k, best_score = 0, math.inf
    for k in range(min(n_manifolds - 1, axes.shape[0] + 1)):
        residual = centers - (centers @ axes[:k].T) @ axes[:k]
        norms = np.linalg.norm(residual, axis=1)
        if (norms <= 0).any():
            break
        unit = residual / norms[:, None]
        cosines = unit @ unit.T
        score = (np.sum(cosines**2) - n_manifolds) / (n_manifolds * (n_manifolds - 1))
        if score < best_score:
            best_k, best_score = k, score
    return axes[:best_k].T


def _anchor_problem(points, center, rng, n_t, kappa):
    """Mean-field quantities of one manifold from ``n_t`` Gaussian vectors.

    The manifold is written in its own frame: coordinates s along its D
    principal within-manifold axes, in units of its centre's norm, plus a
    constant coordinate 1 for the centre (taken orthogonal to the axes, as in
    the theory). For each Gaussian T in R^(D+1) the anchor point solves

        F(T) = min ||V - T||^2  subject to  V . (s, 1) >= kappa  for every point s.

    Its dual is a non-negative least-squares problem: V = T' + S^T a with
    a >= 0 minimising ||S^T a + T'||^2, where T' is T with kappa subtracted
    from its centre coordinate (the constant coordinate turns the margin into
    that shift). The anchor is the convex combination S^T a / sum(a); where
    a = 0 (T already satisfies every constraint) it is the point of least
    overlap with T.

    Returns
    -------
    tuple
        F (n_t,), squared anchor radii ||s(T)||^2 (n_t,) and the squared
        projections (t . s_hat(T))^2 (n_t,) of T's within-manifold part t on
        the anchor's direction; the last two are 0 where D = 0.
    """
    from scipy.optimize import nnls

    scale = np.linalg.norm(center)
    within = (points - center) / scale
    left, singular, _ = np.linalg.svd(within, full_matrices=False)
    keep = singular > _RANK_TOLERANCE * max(singular.max(initial=0.0), 1.0)
    coords = left[:, keep] * singular[keep]
    frame = np.hstack([coords, np.ones((points.shape[0], 1))])  # (m, D + 1)
    dim = coords.shape[1]
    fields = rng.standard_normal((n_t, dim + 1))
    shift = np.zeros(dim + 1)
    shift[-1] = kappa
    shifted = fields - shift
    multipliers = np.zeros((n_t, frame.shape[0]))
    # A T that already meets every constraint has a = 0 (the active-set solver stops at its start): solve the others.
    for i in np.flatnonzero((shifted @ frame.T).min(axis=1) < 0):
        multipliers[i], _ = nnls(frame.T, -shifted[i])
    push = multipliers @ frame
    f_values = np.einsum("ij,ij->i", push, push)
    totals = multipliers.sum(axis=1)
    inside = totals <= _INTERIOR_TOLERANCE
    least_overlap = frame[np.argmin(fields @ frame.T, axis=1)]
    anchors = np.where(inside[:, None], least_overlap, push / np.where(inside, 1.0, totals)[:, None])
    within_anchor = anchors[:, :dim]
    radius_sq = np.einsum("ij,ij->i", within_anchor, within_anchor)
    overlap = np.einsum("ij,ij->i", fields[:, :dim], within_anchor)
    projection_sq = np.divide(overlap**2, radius_sq, out=np.zeros(n_t), where=radius_sq > 0)
    return f_values, radius_sq, projection_sq


@dataclasses.dataclass(frozen=True)
class ManifoldGeometry:
    """Result of :func:`manifold_geometry`.

    Attributes
    ----------
    capacity : float
        Mean-field capacity alpha_M = 1 / mean over manifolds of 1 / alpha_mu
        (P / N at which half the dichotomies are separable).
    capacity_stderr : float
        Standard error of ``capacity`` from the finite sample of Gaussian vectors.
    radius : float
        Mean over manifolds of the anchor radius R_mu, in units of the manifold centre's norm.
    dimension : float
        Mean over manifolds of the anchor dimension D_mu.
    capacities, radii, dimensions : numpy.ndarray
        (P,) per-manifold alpha_mu, R_mu and D_mu.
    center_correlation : float
        Mean ``|cosine|`` between the manifold centres, after any removal of their shared subspace.
    removed_dims : int
        Dimension K of the centres' shared subspace that was projected out (0 without removal).
    kappa : float
        Margin used, in units of the centre norm.
    n_t : int
        Gaussian vectors per manifold.
    """

    capacity: float
    capacity_stderr: float
    radius: float
    dimension: float
    capacities: np.ndarray
    radii: np.ndarray
    dimensions: np.ndarray
    center_correlation: float
    removed_dims: int
    kappa: float
    n_t: int

    def to_dict(self) -> dict:
        """Plain floats and lists, for JSON."""
        return {key: value.tolist() if isinstance(value, np.ndarray) else value
                for key, value in dataclasses.asdict(self).items()}


def manifold_geometry(manifolds, kappa=0.0, *, n_t=200, remove_center_correlations=True, seed=0):
    """Mean-field manifold capacity, radius and dimension (Chung et al. 2018; Cohen et al. 2020).

    The algorithm:

    1. subtract the mean of all points (hyperplanes pass through the origin);
    2. optionally project out the centres' shared subspace (see
       ``remove_center_correlations``);
    3. for each manifold, express its points in its own (D + 1)-dimensional
       frame (within-manifold principal axes scaled by the centre's norm, plus
       the centre), draw ``n_t`` Gaussian vectors T and solve each one's
       anchor-point quadratic program exactly (non-negative least squares on
       the dual);
    4. 1 / alpha_mu = <F(T)>, R_mu^2 = <||s(T)||^2>, D_mu = <(t . s_hat(T))^2>
       (Chung et al. 2018: the capacity, anchor radius and anchor dimension), averaged
       over T; alpha_M = 1 / <1 / alpha_mu> over manifolds.

    Parameters
    ----------
    manifolds : sequence of array_like, or array_like
        P >= 2 point clouds, each (m_mu, N) (points as rows; m_mu may differ),
        or one (P, m, N) array. Units are arbitrary: the result is scale-free.
    kappa : float
        Margin of the classification, >= 0, in units of the centre norm.
    n_t : int
        Gaussian vectors per manifold; the relative error of the capacity falls as 1 / sqrt(P n_t).
    remove_center_correlations : bool
        Project out the K-dimensional subspace of the centres' top principal
        axes that minimises the mean squared cosine between the residual
        centres (K from 0 to P - 2), as Cohen et al. (2020) do with a
        subspace optimised for the same aim; the theory assumes uncorrelated centres.
    seed : int
        Seed of the Gaussian vectors.

    Returns
    -------
    ManifoldGeometry
        Capacity (with its standard error), radius, dimension, per manifold and averaged.
    """
    manifolds = _check_manifolds(manifolds)
    n_t = check_int("n_t", n_t, low=1)
    seed = check_seed("seed", seed)
    kappa = check_number("kappa", kappa, low=0)
    manifolds = _globally_centred(manifolds)
    centers = np.stack([points.mean(axis=0) for points in manifolds])
    removed = np.zeros((centers.shape[1], 0))
    if remove_center_correlations:
        removed = _correlated_subspace(centers)
        manifolds = [points - (points @ removed) @ removed.T for points in manifolds]
        centers = centers - (centers @ removed) @ removed.T
    norms = np.linalg.norm(centers, axis=1)
    scale = max(np.abs(np.concatenate(manifolds)).max(), 1e-300)
    if (norms <= 1e-9 * scale).any():
        raise ParameterError(f"manifold {int(np.argmin(norms))}'s centre coincides with the mean of all points: "
                             "its capacity is undefined")
    unit = centers / norms[:, None]
    cosines = unit @ unit.T
    n_manifolds = len(manifolds)
    center_correlation = float((np.abs(cosines).sum() - n_manifolds) / (n_manifolds * (n_manifolds - 1)))
    rng = np.random.default_rng(seed)
    mean_f, var_f, radii, dims = [], [], [], []
    for points, center in zip(manifolds, centers):
        f_values, radius_sq, projection_sq = _anchor_problem(points, center, rng, n_t, float(kappa))
        mean_f.append(f_values.mean())
        var_f.append(f_values.var(ddof=1) if n_t > 1 else 0.0)
        radii.append(math.sqrt(radius_sq.mean()))
        dims.append(projection_sq.mean())
    mean_f = np.array(mean_f)
    inverse = mean_f.mean()
    capacity = 1.0 / inverse
    # Delta method: alpha = 1 / <F>, so se(alpha) = alpha^2 se(<F>).
    stderr = capacity**2 * math.sqrt(np.sum(var_f) / n_t) / n_manifolds
    with np.errstate(divide="ignore"):
        capacities = 1.0 / mean_f
    return ManifoldGeometry(capacity=float(capacity), capacity_stderr=float(stderr), radius=float(np.mean(radii)),
                            dimension=float(np.mean(dims)), capacities=capacities, radii=np.array(radii),
                            dimensions=np.array(dims), center_correlation=center_correlation,
                            removed_dims=int(removed.shape[1]), kappa=float(kappa), n_t=n_t)


def _separable(points, labels):
    """Whether a hyperplane through the origin separates ``points`` (M, n) by ``labels`` (M,) of +-1.

    Hard-margin linear SVM without bias, solved exactly as Lawson & Hanson's
    least-distance program: w of least norm with labels_i w . x_i >= 1 for
    all i exists iff the non-negative least-squares problem
    min ||E u - f||, E = [(labels x)^T; 1^T], f = (0, ..., 0, 1), u >= 0
    leaves a residual r != 0, and then w = -r[:n] / r[n] (their Solving Least
    Squares Problems, 1974, ch. 23). A residual below ``_SEPARATION_TOLERANCE``
    (a margin below that, relative to the points' norm) counts as not
    separable; a separable verdict is confirmed by checking that w makes no error.
    """
    from scipy.optimize import nnls

    signed = labels[:, None] * points
    system = np.vstack([signed.T, np.ones((1, signed.shape[0]))])
    target = np.zeros(system.shape[0])
    target[-1] = 1.0
    multipliers, residual_norm = nnls(system, target)
    if residual_norm < _SEPARATION_TOLERANCE:
        return False
    residual = system @ multipliers - target
    weights = -residual[:-1] / residual[-1]
    return bool(np.all(signed @ weights > 0))


def _critical_crossing(critical, n_max):
    """Projection dimension where the fraction of dichotomies with critical dimension <= n crosses 1/2.

    The fraction is interpolated linearly between integers; NaN when it stays below 1/2 up to ``n_max``.
    """
    dims = np.arange(n_max + 1)
    fraction = np.searchsorted(np.sort(critical), dims, side="right") / critical.size
    above = np.flatnonzero(fraction >= 0.5)
    if above.size == 0:
        return math.nan
    high = above[0]
    if high == 0:
        return 0.0
    low_fraction, high_fraction = fraction[high - 1], fraction[high]
    return high - 1 + (0.5 - low_fraction) / (high_fraction - low_fraction)


def empirical_capacity(manifolds, *, n_dichotomies=100, n_bootstrap=500, seed=0):
    """Capacity measured by random dichotomies of random projections (Cohen et al. 2020).

    After subtracting the mean of all points (as :func:`manifold_geometry`
    does; the centres' shared subspace is not removed), the points are
    written in an orthonormal basis of their span (N_eff <= min(N, total
    points) coordinates, inner products unchanged). Each dichotomy draws
    random labels +-1 per manifold and a Gaussian matrix G (N_eff, N_eff);
    projecting onto the first n rows of G gives nested projections, so the
    dichotomy is separable for every n at or above a critical n_k, found by
    a galloping then bisecting search around the previous dichotomies'
    median. Separability (hyperplanes through the origin, no bias) is
    decided exactly by a hard-margin linear SVM solved as a least-distance
    program with non-negative least squares, a separable verdict confirmed
    by a zero-error check (see ``_separable``). Dichotomies not separable
    even at N_eff never count as separable. The critical load is P / N_c, where N_c is the
    projection dimension at which the fraction of separable dichotomies
    crosses 1/2 (interpolated between integers); its standard error is the
    bootstrap standard deviation over dichotomies.

    Parameters
    ----------
    manifolds : sequence of array_like, or array_like
        P >= 2 point clouds, each (m_mu, N), or one (P, m, N) array.
    n_dichotomies : int
        Random dichotomies (each with its own projection), at least 2.
    n_bootstrap : int
        Bootstrap resamples of the dichotomies for the standard error, at least 2.
    seed : int
        Seed of the labels, projections and resamples.

    Returns
    -------
    tuple of float
        ``(capacity, stderr)``: P / N_c and its standard error; both NaN when
        fewer than half of the dichotomies are separable in the full space.
    """
    manifolds = _check_manifolds(manifolds)
    n_dichotomies = check_int("n_dichotomies", n_dichotomies, low=2)
    n_bootstrap = check_int("n_bootstrap", n_bootstrap, low=2)
    seed = check_seed("seed", seed)
    manifolds = _globally_centred(manifolds)
    points = np.concatenate(manifolds)
    owner = np.repeat(np.arange(len(manifolds)), [len(m) for m in manifolds])
    left, singular, _ = np.linalg.svd(points, full_matrices=False)
    keep = singular > _RANK_TOLERANCE * max(singular.max(initial=0.0), 1e-300)
    # Coordinates in the span, scaled to unit RMS norm so that the SVM's margin of 1 is well conditioned.
    coords = left[:, keep] * singular[keep]
    coords /= max(np.sqrt(np.mean(np.sum(coords**2, axis=1))), 1e-300)
    n_max = coords.shape[1]
    if n_max == 0:
        raise ParameterError("all points coincide after subtracting their mean: nothing to separate")
    n_manifolds = len(manifolds)
    critical = np.full(n_dichotomies, np.inf)
    guess = max(1, min(n_max, math.ceil(n_manifolds / 2)))  # Cover's result for points
    for k, child in enumerate(np.random.SeedSequence([seed, 7]).spawn(n_dichotomies)):
        rng = np.random.default_rng(child)
        labels = np.where(rng.random(n_manifolds) < 0.5, 1.0, -1.0)[owner]
        projection = rng.standard_normal((n_max, n_max))

        def separable(n):
            return _separable(coords @ projection[:n].T, labels)

        # Bracket: not separable at low (0 dimensions never are), separable at high (None: not yet known).
        low, high, step = 0, None, 1
        if separable(guess):
            high = guess
            while high - step > low and separable(high - step):
                high -= step
                step *= 2
            low = max(low, high - step)
        else:
            low = guess
            while low + step < n_max and not separable(low + step):
                low += step
                step *= 2
            if low + step < n_max:
                high = low + step
            elif separable(n_max):
                high = n_max
            else:
                continue  # not separable even in the full space
        while high - low > 1:
            middle = (low + high) // 2
            if separable(middle):
                high = middle
            else:
                low = middle
        critical[k] = high
        finite = critical[np.isfinite(critical)]
        guess = int(np.median(finite))
    crossing = _critical_crossing(critical, n_max)
    if not crossing > 0:
        return math.nan, math.nan
    rng = np.random.default_rng([seed, 8])
    resampled = [_critical_crossing(critical[rng.integers(0, n_dichotomies, n_dichotomies)], n_max)
                 for _ in range(n_bootstrap)]
    resampled = np.array(resampled)
    resampled = resampled[np.isfinite(resampled) & (resampled > 0)]
    stderr = float(np.std(n_manifolds / resampled, ddof=1)) if resampled.size > 1 else math.nan
    return n_manifolds / crossing, stderr


def ball_capacity(radius, dimension, kappa=0.0):
    """Mean-field capacity of P random D-dimensional L2 balls (or spheres) of radius R, in closed form.

    Each ball has centre norm 1 and radius R (its convex hull is what
    matters, so a sphere gives the same). Writing T = (t, t0) with t the
    D-dimensional part (norm chi-distributed) and t0 the centre component,
    the anchor problem reduces to a projection onto a two-dimensional cone:

        1 / alpha = int chi_D(t) dt [ int_{kappa - t/R}^{kappa + R t} Dt0 (kappa + R t - t0)^2 / (1 + R^2)
                                     + int_{-inf}^{kappa - t/R} Dt0 ((kappa - t0)^2 + t^2) ]

    (Chung, Lee & Sompolinsky 2016, Phys Rev E 93:060301; 2018).
    R = 0 or D = 0 gives points: alpha_0(kappa) = 1 / int_{-inf}^{kappa} Dt0 (kappa - t0)^2,
    2 at kappa = 0 (Cover). For large D and R sqrt(D) >> 1,
    alpha ~ (1 + R^2) alpha_0(kappa + R sqrt(D)) ~ (1 + R^2) / (R^2 D) at kappa = 0.

    Parameters
    ----------
    radius : float
        R >= 0, in units of the centre norm.
    dimension : int
        D >= 0.
    kappa : float
        Margin >= 0, in units of the centre norm.

    Returns
    -------
    float
        The capacity alpha (P / N).
    """
    from scipy import integrate, stats

    radius = check_number("radius", radius, low=0)
    dimension = check_int("dimension", dimension, low=0)
    kappa = check_number("kappa", kappa, low=0)
    norm = stats.norm

    def square_moment(center, low, high):
        """int_low^high Dx (center - x)^2 for the standard normal measure Dx."""
        mass = norm.cdf(high) - norm.cdf(low)
        first = norm.pdf(low) - norm.pdf(high)
        low_term = low * norm.pdf(low) if np.isfinite(low) else 0.0
        high_term = high * norm.pdf(high) if np.isfinite(high) else 0.0
        second = mass + low_term - high_term
        return center**2 * mass - 2 * center * first + second

    if radius == 0 or dimension == 0:
        return 1.0 / square_moment(kappa, -np.inf, kappa)

    def inner(t):
        split = kappa - t / radius
        touching = square_moment(kappa + radius * t, split, kappa + radius * t) / (1 + radius**2)
        embedded = square_moment(kappa, -np.inf, split) + t**2 * norm.cdf(split)
        return stats.chi.pdf(t, dimension) * (touching + embedded)

    # Over the chi density's bulk: on [0, inf) quad can miss the narrow peak near sqrt(D) for large D.
    low, high = stats.chi.ppf([1e-15, 1 - 1e-15], dimension)
    inverse, _ = integrate.quad(inner, low, high, points=[math.sqrt(max(dimension - 1, 0))], epsabs=1e-14,
                                epsrel=1e-10, limit=200)
    return 1.0 / inverse
