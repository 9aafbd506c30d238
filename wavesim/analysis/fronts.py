"""Front fits: the speed, direction and initiation point of one wave.

Two speed estimators. The default, local speed (:func:`local_speeds`): at
each site of a wave, a plane t = t0 + g . p is fitted by least squares to
the onsets of the wave's sites within ``radius_um``, the site's speed is
1/|g|, and the wave's speed is the median over its sites. It measures the
speed at which the front crosses each place, whatever the front's shape:
curved, irregular, or two fronts meeting. The whole-wave front fit below
assumes one plane or one circle for the whole wave; on curved and irregular
fronts its slope averages gradients of different directions, which shortens
the mean gradient and overstates the speed, more so the larger the retina
(4 x 4 mm, 34 um pixels, 0.25 s frames, 2 x 20 min: turtle preset, mean
339 um/s whole-wave against 258 local; mouse, 161 against 126).

Whole-wave fit: each wave's site onset times t(p) are fitted by two front models by least
squares: a plane, t = t0 + g . p, with speed 1/|g| and direction g/|g|; and
a circle spreading from the initiation point p0, t = t0 + |p - p0| / v. The
speed comes from the model with the larger adjusted R^2 (counting 2 fitted
slopes for the plane, 3 for the circle whose centre comes from the same
onsets; undefined for waves of 3 or 4 sites, which such models fit
trivially) and is left undefined (nan) when that adjusted R^2 is below
``min_fit_r2``. The direction always comes from the plane fit (undefined
when all onsets are simultaneous). The initiation point is the mean
position of the sites whose onset lies in the first ``initiation_fraction``
of the wave's onset span.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.spatial import cKDTree

from wavesim.analysis.params import AnalysisParams, check_argument
from wavesim.errors import ParameterError

__all__ = ["local_speeds", "local_wave_speed"]

#: Fewest sites (the site itself included) of a local plane fit: 3 fitted values and 3 to spare.
MIN_LOCAL_SITES = 6
#: Smallest ratio of the two principal variances of a neighbourhood's positions: thinner
#: neighbourhoods (a line of sites along a wave's edge) leave the gradient across them unpinned.
_MIN_SPREAD_RATIO = 0.05


def local_speeds(positions_um: np.ndarray, onset_s: np.ndarray, radius_um: float) -> np.ndarray:
    """Local front speed at each site of one wave, from plane fits over its neighbours.

    At each site, the onsets of the wave's sites within ``radius_um`` (the
    site included) are fitted by least squares with a plane
    ``t = t0 + g . (p - p_site)``; the local speed is ``1/|g|``.

    Parameters
    ----------
    positions_um : ndarray, shape (n, 2)
        Site positions (x, y), um.
    onset_s : ndarray, shape (n,)
        The sites' onsets in the wave, s; nan for a site without an onset
        (it is left out of every fit and gets nan).
    radius_um : float (um)
        Neighbourhood radius; it should span a few of the front's steps
        (pixels or electrodes) and a few frames of its travel.

    Returns
    -------
    ndarray, shape (n,)
        um/s; ``inf`` where the neighbourhood's onsets are simultaneous
        (faster than the timing resolves); nan where fewer than
        :data:`MIN_LOCAL_SITES` sites with onsets lie within the radius,
        or they lie nearly on a line.

    Examples
    --------
    >>> y_um, x_um = np.mgrid[:10, :10] * 50.0
    >>> speed = local_speeds(np.column_stack([x_um.ravel(), y_um.ravel()]), x_um.ravel() / 200.0, 120.0)
    >>> bool(np.allclose(speed, 200.0))
    True
    """
    if radius_um is None:
        raise ParameterError("local_speeds.radius_um must be a number in um, got None.")
    radius_um = check_argument("local_speeds", "radius_um", radius_um, "local_speed_radius_um")
    positions_um = np.asarray(positions_um, dtype=float).reshape(-1, 2)
    onset_s = np.asarray(onset_s, dtype=float).ravel()
    if positions_um.shape[0] != onset_s.size:
        raise ParameterError(f"local_speeds: positions_um holds {positions_um.shape[0]} sites and onset_s {onset_s.size}.")
    speed = np.full(onset_s.size, np.nan)
    sites = np.flatnonzero(np.isfinite(onset_s) & np.isfinite(positions_um).all(axis=1))
    if sites.size < MIN_LOCAL_SITES:
        return speed
    p, t = positions_um[sites], onset_s[sites]
    pairs = cKDTree(p).query_pairs(radius_um, output_type="ndarray")
    own = np.arange(sites.size)
    i = np.concatenate([pairs[:, 0], pairs[:, 1], own])
    j = np.concatenate([pairs[:, 1], pairs[:, 0], own])
    # offsets from the fitted site keep the sums small and well conditioned
    dx, dy = (p[j] - p[i]).T
    dt = t[j] - t[i]

    def total(weights=None):
        return np.bincount(i, weights=weights, minlength=sites.size)

    n = total()
    sx, sy, st = total(dx), total(dy), total(dt)
    cxx, cyy, cxy = total(dx * dx) - sx * sx / n, total(dy * dy) - sy * sy / n, total(dx * dy) - sx * sy / n
    cxt, cyt = total(dx * dt) - sx * st / n, total(dy * dt) - sy * st / n
    half_trace = (cxx + cyy) / 2
    spread = np.sqrt(((cxx - cyy) / 2) ** 2 + cxy**2)
    ok = (n >= MIN_LOCAL_SITES) & (half_trace - spread > _MIN_SPREAD_RATIO * (half_trace + spread))
    det = np.where(ok, cxx * cyy - cxy**2, 1.0)
    gx, gy = (cyy * cxt - cxy * cyt) / det, (cxx * cyt - cxy * cxt) / det
    slowness_s_per_um = np.hypot(gx, gy)
    with np.errstate(divide="ignore"):
        speed[sites] = np.where(ok, 1.0 / slowness_s_per_um, np.nan)
    return speed


def local_wave_speed(positions_um: np.ndarray, onset_s: np.ndarray, radius_um: float) -> float:
    """A wave's local speed: the median over its sites of :func:`local_speeds`.

    Sites whose neighbourhood is simultaneous count as infinitely fast; the
    wave's speed is nan if none of its sites has a local speed, or if more
    than half are simultaneous (the front crosses the neighbourhoods faster
    than the timing resolves: widen the radius or record faster).

    Parameters
    ----------
    positions_um : ndarray, shape (n, 2)
    onset_s : ndarray, shape (n,)
    radius_um : float (um)
        As in :func:`local_speeds`.

    Returns
    -------
    float (um/s)
    """
    speed = local_speeds(positions_um, onset_s, radius_um)
    speed = speed[~np.isnan(speed)]
    if not speed.size:
        return math.nan
    median = float(np.median(speed))
    return median if math.isfinite(median) else math.nan


def _adjusted_r2(residual: np.ndarray, centred: np.ndarray, n_predictors: int) -> float:
    """R^2 adjusted for the number of fitted slopes; -inf where the fit is exact by construction."""
    n = centred.size
    total = float(centred @ centred)
    if n <= n_predictors + 1 or total <= 0:
        return -math.inf
    return 1.0 - float(residual @ residual) / total * (n - 1) / (n - n_predictors - 1)


def _fit_front(positions_um: np.ndarray, onset_s: np.ndarray, params: AnalysisParams
               ) -> tuple[float, float, str, float, np.ndarray]:
    """Speed, adjusted R^2, front model, direction and initiation point of one wave."""
    span_s = onset_s.max() - onset_s.min()
    early = onset_s <= onset_s.min() + params.initiation_fraction * span_s
    initiation = positions_um[early].mean(axis=0)
    t_centred = onset_s - onset_s.mean()
    p_centred = positions_um - positions_um.mean(axis=0)
    gradient_s_per_um, *_ = np.linalg.lstsq(p_centred, t_centred, rcond=None)
    plane_r2 = _adjusted_r2(t_centred - p_centred @ gradient_s_per_um, t_centred, 2)
    slowness = float(np.hypot(*gradient_s_per_um))
    direction = math.atan2(gradient_s_per_um[1], gradient_s_per_um[0]) if slowness > 0 else math.nan

    r_centred = np.hypot(*(positions_um - initiation).T)
    r_centred = r_centred - r_centred.mean()
    var_r = float(r_centred @ r_centred)
    radial_slope = float(r_centred @ t_centred) / var_r if var_r > 0 else 0.0
    # three fitted predictors: the slope and the initiation point taken from the same onsets
    radial_r2 = (_adjusted_r2(t_centred - radial_slope * r_centred, t_centred, 3)
                 if radial_slope > 0 else -math.inf)

    if plane_r2 >= radial_r2:
        front, r2, speed = "plane", plane_r2, (1.0 / slowness if slowness > 0 else math.nan)
    else:
        front, r2, speed = "radial", radial_r2, 1.0 / radial_slope
    if not r2 >= params.min_fit_r2:
        speed = math.nan
    return speed, (r2 if math.isfinite(r2) else math.nan), front, direction, initiation

