"""The default model: stochastic amacrine cells with activity-dependent refractoriness.

After Feller et al. 1997 / Butts et al. 1999 and Godfrey & Swindale 2007
(PLoS Comput Biol 3:e245). An off cell low-pass filters the summed weight of
its depolarised neighbours, ``exc += (input - exc) * dt / tau_K``, and
depolarises for ``D`` seconds once ``exc >= thresh``. The threshold decays
at ``(H1 / P) * (nbr / max_nbr) * N(1, decay_jitter)`` and rises by
``(H1 + H2 * input) / D`` per second while the cell is depolarised, so a
cell that took part in a strong wave stays refractory longer. A cell whose
threshold has decayed to 0 fires on its own: the waves' initiation.

Thresholds, excitation and inputs are in units of one full dendritic overlap.
Inside the kernels they are integers in units of 2**-20 (see
:func:`quantise`): integer sums do not depend on summation order, which
keeps the CPU push and the GPU pull bit-identical.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from statistics import NormalDist
from typing import Sequence

import numpy as np

from ..backends.amacrine_events import AmacrineEventsEngine
from ..errors import ParameterError
from ..kernels.amacrine import (
    N_PARAMS,
    P_ALPHA_Q30,
    P_DECAY_BASE_Q36,
    P_DSTEPS,
    P_H2C_Q30,
    P_JITTER_Q16,
    P_RISE0_Q20,
    P_SPONT_U32,
    STATE_FIELDS,
)
from ..parameters import ValidatedParams, field
from .base import WaveModel

NAME = "amacrine"

#: Initial thresholds are uniform on [0.5, 5], as in the original code.
INITIAL_THRESHOLD_RANGE = (0.5, 5.0)
#: Entries of the inverse normal CDF table used for the decay jitter.
NORMAL_TABLE_SIZE = 1 << 16


@dataclasses.dataclass(frozen=True)
class AmacrineParams(ValidatedParams):
    """Parameters of the default wave model (units in each field's spec).

    Parameters
    ----------
    H1 : float (threshold units)
        Activity-independent threshold rise per depolarisation; also sets the
        decay rate ``H1 / P``.
    H2 : float (threshold units per input unit)
        Activity-dependent threshold rise per unit of input per depolarisation.
    D_s : float (s)
        Duration of a depolarisation.
    P_s : float (s)
        Refractory time scale: a bulk cell's threshold decays by ``H1`` in ``P_s``.
    tau_K_s : float (s)
        Time constant of the input filter; at least ``dt_s``.
    decay_jitter : float
        Standard deviation of the N(1, sd) factor on each cell's decay rate,
        redrawn at the end of every depolarisation.
    spont_rate_hz : float (1/s)
        Rate of Poisson spontaneous depolarisations per cell (Feller/Butts
        drive); 0 reproduces Godfrey & Swindale.
    dt_s : float (s)
        Time step.

    Examples
    --------
    >>> AmacrineParams(D_s=1.5).D_s
    1.5
    >>> AmacrineParams(P_s=-1)
    Traceback (most recent call last):
    ...
    wavesim.errors.ParameterError: AmacrineParams.P_s = -1.0 s is outside the allowed range [1.0, 2000.0] s.
    """

    H1: float = field(4.0, unit="1", low=0.05, high=50.0, doc="activity-independent threshold rise")
    H2: float = field(0.75, unit="1", low=0.0, high=10.0, doc="threshold rise per unit input")
    D_s: float = field(2.30, unit="s", low=0.05, high=30.0, doc="depolarisation duration")
    P_s: float = field(32.0, unit="s", low=1.0, high=2000.0, doc="refractory time scale")
    tau_K_s: float = field(0.35, unit="s", low=0.001, high=20.0, doc="input filter time constant")
    decay_jitter: float = field(0.2, unit="1", low=0.0, high=0.5, doc="sd of the N(1, sd) decay factor")
    spont_rate_hz: float = field(0.0, unit="1/s", low=0.0, high=10.0, doc="Poisson spontaneous depolarisation rate per cell")
    dt_s: float = field(0.025, unit="s", low=0.001, high=0.1, doc="time step")

    def _check_relations(self) -> None:
        if self.tau_K_s < self.dt_s:
            raise ParameterError(
                f"AmacrineParams.tau_K_s = {self.tau_K_s} s is shorter than dt_s = {self.dt_s} s; "
                f"the explicit input filter needs tau_K_s >= dt_s."
            )
        if self.D_s < self.dt_s:
            raise ParameterError(
                f"AmacrineParams.D_s = {self.D_s} s is shorter than dt_s = {self.dt_s} s."
            )

    @property
    def depolarisation_steps(self) -> int:
        """Steps a depolarisation lasts: it ends at the first step strictly later than onset + D."""
        n = self.D_s / self.dt_s
        k = round(n)
        if abs(n - k) < 1e-9 * max(1.0, n):
            return k + 1
        return math.floor(n) + 1


PRESETS: dict[str, AmacrineParams] = {
    "mouse": AmacrineParams(H1=4.0, H2=0.75, D_s=2.30, P_s=32.0, tau_K_s=0.35),
    "ferret": AmacrineParams(H1=4.0, H2=0.75, D_s=1.30, P_s=43.0, tau_K_s=0.25),
    "rabbit": AmacrineParams(H1=4.0, H2=0.60, D_s=1.05, P_s=44.0, tau_K_s=0.25),
    "chick": AmacrineParams(H1=4.0, H2=0.40, D_s=1.05, P_s=38.0, tau_K_s=0.025),
    "turtle": AmacrineParams(H1=4.0, H2=0.70, D_s=1.00, P_s=23.0, tau_K_s=0.20),
}
DEFAULT_PRESET = "mouse"


def quantise(params: Sequence[AmacrineParams]) -> np.ndarray:
    """Quantise one parameter set per batch element into a (B, N_PARAMS) int64 array."""
    rows = np.zeros((len(params), N_PARAMS), dtype=np.int64)
    for b, p in enumerate(params):
        rows[b, P_DSTEPS] = p.depolarisation_steps
        rows[b, P_ALPHA_Q30] = round(p.dt_s / p.tau_K_s * 2**30)
        rows[b, P_RISE0_Q20] = round(p.dt_s * p.H1 / p.D_s * 2**20)
        rows[b, P_H2C_Q30] = round(p.dt_s * p.H2 / p.D_s * 2**30)
        rows[b, P_DECAY_BASE_Q36] = round(p.dt_s * p.H1 / p.P_s * 2**36)
        rows[b, P_JITTER_Q16] = round(p.decay_jitter * 2**16)
        prob = -math.expm1(-p.spont_rate_hz * p.dt_s)
        rows[b, P_SPONT_U32] = min(round(prob * 2**32), 2**32 - 1)
    return rows


def normal_table_q16() -> np.ndarray:
    """Inverse standard-normal CDF at ``(k + 0.5) / (N + 1)``, k = 0..N, in units of 2**-16.

    A uniform 32-bit draw picks an interval by its top 16 bits and
    interpolates linearly with the low 16, all in integers, so both backends
    draw the same normal numbers. The tails are cut at +-4.3 sd
    (probability 2e-5), where the N(1, 0.2) decay factor is 0.14 or 1.86.
    """
    return _normal_table_q16().copy()


@functools.lru_cache(maxsize=1)
def _normal_table_q16() -> np.ndarray:
    # computed once per process: 65,537 calls of inv_cdf cost about 0.1 s, paid by every Simulation (a fit builds many)
    inv_cdf = NormalDist().inv_cdf
    n = NORMAL_TABLE_SIZE + 1
    z = np.array([inv_cdf((k + 0.5) / n) for k in range(n)])
    return np.rint(z * 2**16).astype(np.int32)


def tables(lattice) -> dict[str, np.ndarray]:
    """The lattice tables the rule reads: dendritic-overlap neighbours, neighbour fractions, the normal table."""
    dr, dc, w = lattice.offsets
    return {"dr": dr, "dc": dc, "w": w, "site": lattice.neighbour_fraction_q16, "table": normal_table_q16()}


def _reference(lattice, prow, key, model_tables):
    from .amacrine_reference import ReferenceRetina

    return ReferenceRetina(lattice, prow, key, model_tables["table"])


MODEL = WaveModel(
    name=NAME,
    summary="stochastic amacrine cells with activity-dependent refractoriness (Godfrey & Swindale 2007)",
    params_cls=AmacrineParams,
    presets=PRESETS,
    default_preset=DEFAULT_PRESET,
    state_fields=STATE_FIELDS,
    quantise=quantise,
    tables=tables,
    kernel_module="wavesim.kernels.amacrine",
    reference=_reference,
    fit_defaults=("H1", "H2", "D_s", "P_s", "tau_K_s"),
    event_engine=AmacrineEventsEngine,
)
