"""Directional waves: the pre-training waves of May, Dauphin & Gjorgjieva 2025, after Teh et al. 2023.

A square grid of cells, one per pixel. A wave starts at an initiation cell
``a_init``; its direction ``theta`` is the angle from an inhibition point
``a_ai`` (normal around a "nose" point in directional waves, uniform in
undirectional ones) to ``a_init``, rounded to a multiple of 45 degrees
(``theta'``). Each cell whose ON signal began at the previous step gives each
of its 8 neighbours, in direction ``beta``, one Bernoulli chance
``rho_beta = q * g(beta - theta'; sigma) / sum_gamma g(gamma; sigma)`` (``g``
a zero-mean Gaussian, ``gamma`` the 8 neighbour angles) to activate, unless
that neighbour is refractory (its ON signal ended less than ``tau_IEI`` ago).
A cell's ON signal lasts ``T_wave + 1`` steps from ``tau_ON`` after its
activation, its OFF signal as long from ``tau_OFF`` after it; frames show
ON or OFF, so with the paper's constants each pixel a wave reaches is lit
for exactly 4 frames. ``sigma`` is the one whose normalised kernel has the
local propagation bias (mean resultant length) ``b``.

Two modes: ``wave`` (one wave per movie from a uniform initiation cell at
step 0, as in the paper) and ``continuous`` (each resting cell starts a
wave at ``start_rate_hz``, so waves start as a Poisson process and several
coexist, held apart by the per-cell refractoriness).

Presets (each ``-undirectional`` variant draws the inhibition point
uniformly): ``teh2023`` (the rules as published: wrapped angle differences,
``sigma`` solved for ``b = 0.35``) and ``may2025`` (what the authors'
released script does, which changes its output: the angle difference is not
wrapped, so for ``theta'`` other than 0 and 45 degrees the kernel is
lopsided and its total falls, and even undirectional waves drift; ``sigma``
is 1.7258 from a mis-written bias and 10 gradient steps (local bias 0.299,
not 0.35); a direction rounded to -180 degrees keeps the script's kernel for
theta' = -180, which differs from +180's; initiation rows and columns run
0..62 of 64; the inhibition point is truncated to whole pixels).

The binary frames do not depend on ``r`` (the amplitude of the ON/OFF
signal in the paper's equations); it is kept for provenance.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import Sequence

import numpy as np

from ..backends.directional_events import DirectionalEventsEngine
from ..errors import ParameterError
from ..kernels import directional as rule
from ..kernels.directional import N_PARAMS, STATE_FIELDS
from ..lattice import SQUARE_DC, SQUARE_DR, Retina, SquareLattice
from ..parameters import ValidatedParams, choice_field, field
from ..run import RunSpec, Timing
from .base import WaveModel

NAME = "directional"

#: The sigma the released script computes every time (its bias objective, 10 gradient steps from 1).
RELEASED_SCRIPT_SIGMA = 1.7258


@dataclasses.dataclass(frozen=True)
class DirectionalParams(ValidatedParams):
    """Parameters of the directional wave model (units in each field's spec).

    Times are in seconds and must be whole numbers of steps (``dt_s``, one
    frame of the paper: 0.5 s).

    Examples
    --------
    >>> DirectionalParams().kernel_sigma()  # solved for local_bias = 0.35
    1.5625...
    >>> DirectionalParams(q=-1)
    Traceback (most recent call last):
    ...
    wavesim.errors.ParameterError: DirectionalParams.q = -1.0 is outside the allowed range [0.0, 8.0].
    """

    q: float = field(2.4, unit="1", low=0.0, high=8.0, doc="summed propagation probability over the 8 neighbours")
    r: float = field(0.8, unit="1", low=0.0, high=1.0, doc="ON/OFF signal amplitude (binary frames do not use it)")
    t_wave_s: float = field(0.5, unit="s", low=0.0, high=60.0, doc="T_wave: ON and OFF signals last T_wave + 1 step")
    tau_on_s: float = field(0.0, unit="s", low=0.0, high=60.0, doc="delay of the ON signal after activation")
    tau_off_s: float = field(1.0, unit="s", low=0.0, high=60.0, doc="delay of the OFF signal after activation")
    tau_iei_s: float = field(30.0, unit="s", low=0.0, high=3600.0, doc="refractory time after the ON signal ends")
    local_bias: float = field(0.35, unit="1", low=0.0, high=0.95, doc="b: mean resultant length of the kernel")
    sigma_rad: float = field(None, unit="rad", low=0.05, high=100.0, optional=True,
                             doc="kernel width; None: solved from local_bias")
    angles: str = choice_field("wrapped", choices=("wrapped", "unwrapped"),
                               doc="angle difference beta - theta' wrapped to (-pi, pi] or not (released script)")
    directionality: str = choice_field("directional", choices=("directional", "undirectional"),
                                       doc="inhibition point normal around the nose, or uniform on the grid")
    nose_row_fraction: float = field(0.5, unit="1", low=0.0, high=1.0, doc="nose row as a fraction of the grid")
    nose_col_fraction: float = field(0.125, unit="1", low=0.0, high=1.0, doc="nose column as a fraction of the grid")
    inhibition_sd_cells: float = field(1.0, unit="cells", low=0.0, high=1000.0,
                                       doc="sd of the inhibition point around the nose")
    inhibition_rounding: str = choice_field("none", choices=("none", "truncate"),
                                            doc="inhibition point kept, or truncated to whole cells (released script)")
    initiation_margin_cells: int = field(0, unit="cells", low=0, high=8, integer=True,
                                         doc="initiation rows and columns are drawn from [0, n - margin)")
    mode: str = choice_field("wave", choices=("wave", "continuous"),
                             doc="one wave per movie from step 0, or waves started by a Poisson process")
    start_rate_hz: float = field(0.0, unit="1/s", low=0.0, high=10.0,
                                 doc="continuous mode: rate at which each resting cell starts a wave")
    dt_s: float = field(0.5, unit="s", low=0.001, high=60.0, doc="time step (one frame of the paper)")

    def _check_relations(self) -> None:
        for name in ("t_wave_s", "tau_on_s", "tau_off_s", "tau_iei_s"):
            value = getattr(self, name)
            n = value / self.dt_s
            if abs(n - round(n)) > 1e-6 * max(1.0, n):
                raise ParameterError(
                    f"DirectionalParams.{name} = {value} s is not a whole number of steps of dt_s = {self.dt_s} s."
                )
        if self.steps("t_wave_s") + self.steps("tau_iei_s") < 1:
            raise ParameterError(
                "DirectionalParams: t_wave_s + tau_iei_s must be at least one step, so that a cell cannot "
                "activate again in the step after it spreads."
            )
        if self.mode == "continuous" and self.start_rate_hz <= 0:
            raise ParameterError("DirectionalParams.start_rate_hz must be > 0 in mode='continuous' (waves per cell "
                                 "per second), e.g. 2e-4.")
        if self.mode == "wave" and self.start_rate_hz != 0:
            raise ParameterError(f"DirectionalParams.start_rate_hz = {self.start_rate_hz} applies to "
                                 f"mode='continuous' only; set it to 0 in mode='wave' or choose mode='continuous'.")
        if self.sigma_rad is None and not 0.0 < self.local_bias < 0.95:
            raise ParameterError(f"DirectionalParams.local_bias = {self.local_bias} cannot be reached by a Gaussian "
                                 f"kernel; choose a value in (0, 0.95), or give sigma_rad.")

    def steps(self, name: str) -> int:
        """A time parameter in whole steps."""
        return int(round(getattr(self, name) / self.dt_s))

    def kernel_sigma(self) -> float:
        """``sigma_rad``, or the sigma whose kernel has local bias ``local_bias``."""
        if self.sigma_rad is not None:
            return self.sigma_rad
        return sigma_for_local_bias(self.local_bias)

    def propagation_probabilities(self) -> np.ndarray:
        """(9, 8) ``rho[c, k]``: probability of spreading in direction ``k`` in a wave of direction class ``c``.

        Directions and classes 0..7 are at ``k * 45`` degrees in image
        coordinates (x right, y down; :data:`wavesim.lattice.SQUARE_DR`);
        class 8 is theta' = -180 degrees, which the released script reaches
        for directions rounded from below -157.5 degrees. With wrapped angles
        its kernel is class 4's (+180 degrees); unwrapped (``may2025``) it is
        another one: its total is 1.06, not 1.53, and it peaks up-left, with
        0.0006 to the left. Values above 1 are cut at 1.
        """
        sigma = self.kernel_sigma()
        beta = direction_angles()
        # class c has theta' = beta_c, as the script's rounding gives it; class 8 its -pi
        theta = np.append(direction_angles(), -np.pi)
        diff = beta[None, :] - theta[:, None]
        if self.angles == "wrapped":
            diff = wrap_angle(diff)
        g = np.exp(-(diff**2) / (2 * sigma**2))
        norm = np.exp(-(beta**2) / (2 * sigma**2)).sum()  # over the neighbours' own angles, as published
        return np.minimum(self.q * g / norm, 1.0)


def direction_angles() -> np.ndarray:
    """Angles (rad) of the 8 directions in (-pi, pi], as ``cmath.phase`` gives them (y down)."""
    return np.array([math.atan2(dr, dc) for dr, dc in zip(SQUARE_DR, SQUARE_DC)])


def wrap_angle(a):
    """Angles wrapped to (-pi, pi]."""
    return np.pi - np.mod(np.pi - np.asarray(a, dtype=float), 2 * np.pi)


def local_bias_of(sigma: float) -> float:
    """Mean resultant length of the normalised 8-direction kernel of width ``sigma`` (wrapped angles)."""
    d = wrap_angle(direction_angles())
    g = np.exp(-(d**2) / (2 * sigma**2))
    return float((g * np.cos(d)).sum() / g.sum())


@functools.lru_cache(maxsize=64)
def sigma_for_local_bias(b: float) -> float:
    """The kernel width whose local bias is ``b`` (bisection; the bias falls as sigma grows)."""
    lo, hi = 0.05, 100.0
    if not local_bias_of(hi) < b < local_bias_of(lo):
        raise ParameterError(f"local bias {b} is out of reach of a Gaussian kernel on 8 directions.")
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if local_bias_of(mid) > b:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def released_script_sigma(steps: int = 10, lr: float = 0.1) -> float:
    """The sigma the released script computes, from its own objective (to document preset ``may2025``).

    Its "bias" sums the cosines and sines of the kernel over eight angles
    ``(2k + 1) pi / 8`` into one number, and 10 gradient steps from 1 stop
    short of its minimum: 1.7258 every time.
    """
    theta = np.array([(2 * k + 1) * math.pi / 8 for k in range(8)])

    def error(s):
        p = np.exp(-(theta**2) / (2 * s * s))
        p = p / p.sum()
        return (0.35 - abs((p * np.cos(theta)).sum() + (p * np.sin(theta)).sum())) ** 2

    s, h = 1.0, 1e-6
    for _ in range(steps):
        s -= lr * (error(s + h) - error(s - h)) / (2 * h)
    return s


_MAY2025 = DirectionalParams(
    sigma_rad=RELEASED_SCRIPT_SIGMA, angles="unwrapped", inhibition_rounding="truncate", initiation_margin_cells=1
)
PRESETS: dict[str, DirectionalParams] = {
    "teh2023": DirectionalParams(),
    "teh2023-undirectional": DirectionalParams(directionality="undirectional"),
    "may2025": _MAY2025,
    "may2025-undirectional": dataclasses.replace(_MAY2025, directionality="undirectional"),
    "continuous": DirectionalParams(mode="continuous", start_rate_hz=2e-4),
}
DEFAULT_PRESET = "teh2023"


def quantise(params: Sequence[DirectionalParams]) -> np.ndarray:
    """Quantise one parameter set per batch element into a (B, N_PARAMS) int64 array."""
    rows = np.zeros((len(params), N_PARAMS), dtype=np.int64)
    done: dict[DirectionalParams, int] = {}
    for b, p in enumerate(params):
        if p in done:  # batches often share one parameter set
            rows[b] = rows[done[p]]
            continue
        done[p] = b
        on, off, width = p.steps("tau_on_s"), p.steps("tau_off_s"), p.steps("t_wave_s")
        rows[b, rule.P_CONTINUOUS] = p.mode == "continuous"
        rows[b, rule.P_ON_LO], rows[b, rule.P_ON_HI] = on, on + width
        rows[b, rule.P_OFF_LO], rows[b, rule.P_OFF_HI] = off, off + width
        rows[b, rule.P_REFRACTORY] = on + width + p.steps("tau_iei_s")
        rows[b, rule.P_SPREAD_AGE] = on
        prob = -math.expm1(-p.start_rate_hz * p.dt_s)
        rows[b, rule.P_START_U32] = min(round(prob * 2**32), 2**32 - 1)
        rows[b, rule.P_DIRECTIONAL] = p.directionality == "directional"
        rows[b, rule.P_NOSE_ROW_Q16] = round(p.nose_row_fraction * 2**16)
        rows[b, rule.P_NOSE_COL_Q16] = round(p.nose_col_fraction * 2**16)
        rows[b, rule.P_SD_Q16] = round(p.inhibition_sd_cells * 2**16)
        rows[b, rule.P_TRUNCATE] = p.inhibition_rounding == "truncate"
        rows[b, rule.P_INIT_MARGIN] = p.initiation_margin_cells
        rows[b, rule.P_MINUS_180] = p.angles == "unwrapped"
        rows[b, rule.P_THR : rule.N_PARAMS] = np.rint(p.propagation_probabilities() * 2**32).reshape(-1)
    return rows


def tables(lattice) -> dict[str, np.ndarray]:
    """The tables the rule reads: 8 neighbours weighted ``1 << k``, the site mask, and its int32 table."""
    from .amacrine import normal_table_q16

    dr, dc, w = lattice.offsets
    R, C = lattice.shape
    if R - 1 < 1 or C - 1 < 1:
        raise ParameterError(f"the directional model needs a grid of at least 2 x 2 cells, got {R} x {C}.")
    header = np.array([R, C, *(dr[0] * C + dc[0])], dtype=np.int32)
    assert header.size == rule.T_NORMAL
    return {"dr": dr, "dc": dc, "w": w, "site": lattice.exists.astype(np.int32),
            "table": np.concatenate([header, normal_table_q16()])}


def movie_records(lattice, prows: np.ndarray, keys: np.ndarray) -> dict[str, np.ndarray]:
    """Wave mode: each movie's initiation cell, inhibition point (cells) and intended direction (from the reference).

    Continuous movies hold many waves: their entries are NaN / -1. Directions
    are the wave's rounded ``theta'`` in degrees, ``atan2(dy, dx)`` with y
    down the rows.
    """
    from .directional_reference import wave_origin

    n = len(keys)
    out = {
        "initiation_row": np.full(n, -1, np.int32),
        "initiation_col": np.full(n, -1, np.int32),
        "inhibition_row": np.full(n, np.nan),
        "inhibition_col": np.full(n, np.nan),
        "direction_deg": np.full(n, np.nan),
    }
    for b, (prow, key) in enumerate(zip(prows, keys)):
        if prow[rule.P_CONTINUOUS]:
            continue
        origin = wave_origin(int(key), prow, lattice.exists)
        if origin is None:
            continue
        (r, c), (ai_r, ai_c), cls = origin
        out["initiation_row"][b], out["initiation_col"][b] = r, c
        out["inhibition_row"][b], out["inhibition_col"][b] = ai_r, ai_c
        out["direction_deg"][b] = -180.0 if cls == 8 else 45.0 * cls if cls <= 4 else 45.0 * (cls - 8)
    return out


def _reference(lattice, prow, key, model_tables):
    from .directional_reference import ReferenceRetina

    return ReferenceRetina(lattice, prow, key, model_tables["table"])


MODEL = WaveModel(
    name=NAME,
    summary="directional waves on a pixel grid (May et al. 2025 after Teh et al. 2023)",
    params_cls=DirectionalParams,
    presets=PRESETS,
    default_preset=DEFAULT_PRESET,
    state_fields=STATE_FIELDS,
    quantise=quantise,
    tables=tables,
    kernel_module="wavesim.kernels.directional",
    reference=_reference,
    fit_defaults=("q", "local_bias", "tau_iei_s", "start_rate_hz"),
    # the paper's presets start one wave per movie; recordings hold spontaneous waves
    fit_preset="continuous",
    fit_ranges={"start_rate_hz": (2e-5, 2e-3)},
    whole_steps=("t_wave_s", "tau_on_s", "tau_off_s", "tau_iei_s"),
    lattice=SquareLattice,
    event_engine=DirectionalEventsEngine,
    # The paper's grid: 64 x 64 cells of 50 um, one a pixel, at 0.5 s a frame; single waves need no warm-up.
    run=RunSpec(retina=Retina(spacing_um=50.0), timing=Timing(duration_s=64.0, warmup_s=0.0)),
    movie_records=movie_records,
    single_wave=lambda params: params.mode == "wave",
)
