"""Front fits: the speed, direction and initiation point of one wave.

Each wave's site onset times t(p) are fitted by two front models by least
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

from wavesim.analysis.params import AnalysisParams


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

