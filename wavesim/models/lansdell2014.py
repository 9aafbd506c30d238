"""Lansdell, Ford & Kutz 2014 (PLoS Comput Biol 10:e1003953): a reaction-diffusion model of cholinergic waves.

Each starburst amacrine cell is a Morris-Lecar-type unit (voltage ``v``,
K gating ``r``) with a slow afterhyperpolarisation ``s`` that holds the K
conductance open after activity; active cells release acetylcholine ``e``,
which diffuses and depolarises its neighbours; noise is a conductance to
``E_noise_mV`` switched on in a cell for a whole noise period with a small
probability (the authors' Bernoulli noise). In the authors' units (mV, s,
nS, pF; ``e`` in their concentration units, labelled nM):

    C_m dv/dt = -g_Ca m_inf(v) (v - E_Ca) - g_K r (v - E_K) - g_L (v - E_L)
                - g_ACh delta e^2 / (1 + delta e^2) (v - E_ACh) - g_noise (v - E_noise)
    dr/dt = (cosh((v - V3) / (2 V4)) (r_inf(v) - r) + alpha s (1 - r)) / tau_R
    ds/dt = gamma G(v) - s / tau_S
    de/dt = D laplacian(e) + beta G(v) - e / tau_ACh
    m_inf = (1 + tanh((v - V1) / V2)) / 2,  r_inf = (1 + tanh((v - V3) / V4)) / 2,
    G = 1 / (1 + exp(-kappa (v - V0)))

(``1000 / C_m`` converts pA / pF to mV/s.) Every value, unit and range
below comes from the authors' ``models/parameters.m`` (``benlansdell/
retinalwaves`` at 77877cf); see ``docs/models/lansdell2014.md``.

The rule is :mod:`wavesim.kernels.lansdell2014` (pulled-field coupling,
``WaveModel.coupling == "pull"``), the references are in
:mod:`wavesim.models.lansdell2014_reference`; :data:`MODEL` registers it
as ``lansdell2014``, on the authors' grid by default.
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

import numpy as np

from ..errors import ParameterError
from ..kernels import lansdell2014 as rule
from ..kernels.fixed_point import function_tables
from ..lattice import Retina, SquareLattice
from ..parameters import ValidatedParams, field
from ..readout import Readout
from ..run import RunSpec, Timing
from .base import WaveModel

NAME = "lansdell2014"
#: The authors' grid: 64 x 64 nodes over a 2 mm square, nodes on both edges (h = 2 mm / 63).
AUTHORS_SPACING_UM = 2000.0 / 63
AUTHORS_NODES = 64
#: Largest explicit diffusion number D dt / h**2 the rule accepts (the 5-point Euler step is stable below 1/4).
MAX_DIFFUSION_NUMBER = 0.25
#: Largest per-step rate dt / tau of the slow variables the explicit step accepts.
MAX_STEP_RATE = 1 / 16
#: Largest total conductance per step, (g_Ca + g_K + g_L + g_ACh + g_noise) * 1000 * dt / C_m (the
#: midpoint step is stable below 2; the authors' set gives 0.41).
MAX_CONDUCTANCE_PER_STEP = 1.0


@dataclasses.dataclass(frozen=True)
class Lansdell2014Params(ValidatedParams):
    """Parameters of the Lansdell 2014 model (units in each field's spec; defaults: the authors' ``ml_sahp``).

    The sheet's node spacing is the retina's ``spacing_um`` (the authors':
    2000 / 63 um); ``D_um2_per_s * dt_s / spacing_um**2`` must stay below 1/4.

    Examples
    --------
    >>> Lansdell2014Params().tau_S_s
    60.0
    >>> Lansdell2014Params(tau_R_s=0.001)
    Traceback (most recent call last):
    ...
    wavesim.errors.ParameterError: Lansdell2014Params.tau_R_s = 0.001 s is outside the allowed range [0.05, 100.0] s.
    """

    C_m_pF: float = field(160.0, unit="pF", low=10.0, high=1000.0, doc="membrane capacitance (Cm)")
    g_Ca_nS: float = field(10.0, unit="nS", low=0.0, high=100.0, doc="maximal Ca conductance (gCaM)")
    g_K_nS: float = field(30.0, unit="nS", low=0.0, high=300.0, doc="maximal K conductance (gKM)")
    g_L_nS: float = field(3.0, unit="nS", low=0.0, high=50.0, doc="leak conductance (gLM)")
    g_ACh_nS: float = field(2.0, unit="nS", low=0.0, high=50.0, doc="maximal nicotinic conductance (gAChM)")
    E_Ca_mV: float = field(50.0, unit="mV", low=0.0, high=150.0, doc="Ca reversal potential (VCa)")
    E_K_mV: float = field(-90.0, unit="mV", low=-150.0, high=-40.0, doc="K reversal potential (VK)")
    E_L_mV: float = field(-70.0, unit="mV", low=-120.0, high=0.0, doc="leak reversal; also the initial voltage (VL)")
    E_ACh_mV: float = field(50.0, unit="mV", low=-50.0, high=150.0, doc="nicotinic reversal potential (Vsyn)")
    V1_mV: float = field(-20.0, unit="mV", low=-100.0, high=50.0, doc="Ca activation midpoint")
    V2_mV: float = field(20.0, unit="mV", low=1.0, high=100.0, doc="Ca activation slope")
    V3_mV: float = field(-25.0, unit="mV", low=-100.0, high=50.0, doc="K activation midpoint")
    V4_mV: float = field(40.0, unit="mV", low=1.0, high=100.0, doc="K activation slope")
    tau_R_s: float = field(5.0, unit="s", low=0.05, high=100.0, doc="K gating time constant (tauR)")
    alpha: float = field(2.0, unit="1", low=0.0, high=20.0, doc="sAHP drive of the K gating")
    tau_S_s: float = field(60.0, unit="s", low=1.0, high=1000.0, doc="sAHP decay time constant (tauS)")
    gamma_per_s: float = field(0.3, unit="1/s", low=0.0, high=10.0, doc="sAHP production by activity (c)")
    kappa_per_mV: float = field(0.2, unit="1/mV", low=0.01, high=2.0, doc="steepness of ACh release (kap)")
    V0_mV: float = field(-40.0, unit="mV", low=-100.0, high=50.0, doc="midpoint of ACh release (v0)")
    beta_per_s: float = field(5.0, unit="1/s", low=0.0, high=100.0, doc="ACh release rate (b)")
    tau_ACh_s: float = field(0.2, unit="s", low=0.01, high=10.0, doc="ACh decay time constant")
    delta: float = field(800.0, unit="1", low=1.0, high=1e5, doc="ACh sensitivity of the nicotinic conductance")
    D_um2_per_s: float = field(1e4, unit="um^2/s", low=0.0, high=1e6, doc="ACh diffusion coefficient (D)")
    noise_rate_hz: float = field(1 / 800, unit="1/s", low=0.0, high=10.0, doc="noise events per cell and second")
    g_noise_nS: float = field(20.0, unit="nS", low=0.0, high=200.0, doc="conductance of a noise event (gnM)")
    E_noise_mV: float = field(50.0, unit="mV", low=-50.0, high=150.0, doc="noise reversal potential (Vnoise)")
    noise_period_s: float = field(0.1, unit="s", low=0.0001, high=10.0, doc="a noise event lasts one period")
    threshold_mV: float = field(-60.0, unit="mV", low=-100.0, high=50.0, doc="a cell is active above this")
    dt_s: float = field(0.001, unit="s", low=1e-5, high=0.005, doc="time step (StepSize)")

    def _check_relations(self) -> None:
        name = type(self).__name__
        steps = self.noise_period_s / self.dt_s
        if abs(steps - round(steps)) > 1e-6 * steps:
            raise ParameterError(
                f"{name}.noise_period_s = {self.noise_period_s} s must be a whole number of steps of "
                f"dt_s = {self.dt_s} s; make it a multiple of dt_s."
            )
        if self.noise_probability > 1:
            raise ParameterError(
                f"{name}.noise_rate_hz * noise_period_s = {self.noise_probability:.3g} exceeds 1; "
                f"lower noise_rate_hz or noise_period_s."
            )
        per_step = {
            "dt_s / tau_R_s": self.dt_s / self.tau_R_s,
            "dt_s / tau_S_s": self.dt_s / self.tau_S_s,
            "dt_s / tau_ACh_s": self.dt_s / self.tau_ACh_s,
        }
        for what, rate in per_step.items():
            if rate > MAX_STEP_RATE:
                raise ParameterError(
                    f"{name}: {what} = {rate:.3g} exceeds {MAX_STEP_RATE} per step, too coarse for the "
                    f"explicit step; lower dt_s."
                )
        total = (self.g_Ca_nS + self.g_K_nS + self.g_L_nS + self.g_ACh_nS + self.g_noise_nS) * 1000 * self.dt_s
        if total / self.C_m_pF > MAX_CONDUCTANCE_PER_STEP:
            raise ParameterError(
                f"{name}: the summed conductances * 1000 * dt_s / C_m_pF = {total / self.C_m_pF:.3g} exceed "
                f"{MAX_CONDUCTANCE_PER_STEP} per step, too coarse for the explicit step; lower dt_s."
            )
        if self.beta_per_s * self.tau_ACh_s > 4:
            raise ParameterError(
                f"{name}: beta_per_s * tau_ACh_s = {self.beta_per_s * self.tau_ACh_s:.3g} exceeds 4, the "
                f"largest ACh level the fixed point holds; lower beta_per_s or tau_ACh_s."
            )

    @property
    def noise_probability(self) -> float:
        """Probability that a cell has a noise event in one noise period."""
        return self.noise_rate_hz * self.noise_period_s

    @property
    def noise_steps(self) -> int:
        """Steps per noise period."""
        return round(self.noise_period_s / self.dt_s)

    def diffusion_number(self, spacing_um: float) -> float:
        """``D dt / h**2`` on a sheet of node spacing ``spacing_um``."""
        return self.D_um2_per_s * self.dt_s / spacing_um**2


#: The authors' parameter sets, from ``models/parameters.m`` and the worksheets that ran them.
PRESETS: dict[str, Lansdell2014Params] = {
    # 'ml_sahp' with Bernoulli noise: the paper's model.
    "ml_sahp": Lansdell2014Params(),
    # The same with D = 0.0075 mm^2/s: the default of their pharmacology runs (pharma_long_sims.m).
    "pharmacology": Lansdell2014Params(D_um2_per_s=7500.0),
    # 'ml_sahp_2time': every time scale halved (and dt, noise period with them).
    "ml_sahp_2time": Lansdell2014Params(C_m_pF=80.0, tau_R_s=2.5, tau_ACh_s=0.1, D_um2_per_s=2e4, beta_per_s=10.0,
                                        gamma_per_s=0.6, tau_S_s=30.0, noise_period_s=0.05, dt_s=0.0005),
}
DEFAULT_PRESET = "ml_sahp"

#: What a fit tunes (``WaveModel.fit_defaults``) and within which ranges: the initiation rate, the
#: sAHP refractoriness and the cholinergic coupling, the parameters the paper relates to wave statistics.
FIT_DEFAULTS = ("noise_rate_hz", "tau_S_s", "gamma_per_s", "g_ACh_nS", "D_um2_per_s")
FIT_RANGES = {
    "noise_rate_hz": (1 / 4000, 1 / 200),
    "tau_S_s": (20.0, 120.0),
    "gamma_per_s": (0.1, 1.0),
    "g_ACh_nS": (1.0, 4.0),
    "D_um2_per_s": (5000.0, 20000.0),
}

#: The graded readout maps v from [VALUE_LO_MV, VALUE_LO_MV + VALUE_SPAN_MV] onto [0, 1].
VALUE_LO_MV = -90.0
VALUE_SPAN_MV = 90.0


def quantise(params: Sequence[Lansdell2014Params]) -> np.ndarray:
    """One (B, N_PARAMS) int64 row per parameter set, in the layout :mod:`wavesim.kernels.lansdell2014` reads."""
    rows = np.zeros((len(params), rule.N_PARAMS), dtype=np.int64)
    for b, p in enumerate(params):
        per_mv = 1000 * p.dt_s / p.C_m_pF
        row = rows[b]
        for index, g in ((rule.P_G_CA, p.g_Ca_nS), (rule.P_G_K, p.g_K_nS), (rule.P_G_L, p.g_L_nS),
                         (rule.P_G_ACH, p.g_ACh_nS), (rule.P_G_NOISE, p.g_noise_nS)):
            row[index] = round(g * per_mv * 2**32)
        for index, mv in ((rule.P_E_CA, p.E_Ca_mV), (rule.P_E_K, p.E_K_mV), (rule.P_E_L, p.E_L_mV),
                          (rule.P_E_ACH, p.E_ACh_mV), (rule.P_E_NOISE, p.E_noise_mV), (rule.P_V1, p.V1_mV),
                          (rule.P_V3, p.V3_mV), (rule.P_V0, p.V0_mV), (rule.P_THRESHOLD, p.threshold_mV),
                          (rule.P_V_INIT, p.E_L_mV), (rule.P_VALUE_LO, VALUE_LO_MV)):
            row[index] = round(mv * 2**20)
        row[rule.P_INV_V2] = round(2**32 / p.V2_mV)
        row[rule.P_INV_V4] = round(2**32 / p.V4_mV)
        row[rule.P_INV_2V4] = round(2**32 / (2 * p.V4_mV))
        row[rule.P_HALF_KAPPA] = round(p.kappa_per_mV / 2 * 2**32)
        row[rule.P_K_R] = round(p.dt_s / p.tau_R_s * 2**32)
        row[rule.P_ALPHA] = round(p.alpha * 2**16)
        row[rule.P_K_S] = round(p.dt_s / p.tau_S_s * 2**36)
        row[rule.P_C_S] = round(p.gamma_per_s * p.dt_s * 2**36)
        row[rule.P_K_E] = round(p.dt_s / p.tau_ACh_s * 2**32)
        row[rule.P_B_E] = round(p.beta_per_s * p.dt_s * 2**32)
        row[rule.P_DELTA] = round(p.delta * 2**8)
        row[rule.P_D_DT] = round(p.D_um2_per_s * p.dt_s * 2**16)
        row[rule.P_NOISE_U32] = min(round(p.noise_probability * 2**32), 2**32 - 1)
        row[rule.P_NOISE_STEPS] = p.noise_steps
        row[rule.P_VALUE_INV_SPAN] = round(2**32 / VALUE_SPAN_MV)
    return rows


#: Neighbour offsets (rows, cols) of the 5-point Laplacian, in the order of ``pull_w``.
PULL_DR = (-1, 1, 0, 0)
PULL_DC = (0, 0, -1, 1)


def check_sheet(lattice, params: Sequence[Lansdell2014Params]) -> None:
    """Raise a ParameterError where the explicit diffusion step of ``params`` is unstable on ``lattice``'s spacing."""
    h = lattice.retina.spacing_um
    for p in params:
        if p.diffusion_number(h) > MAX_DIFFUSION_NUMBER:
            raise ParameterError(
                f"D_um2_per_s * dt_s / spacing_um**2 = {p.diffusion_number(h):.3g} exceeds "
                f"{MAX_DIFFUSION_NUMBER} at spacing_um = {h}: the explicit diffusion step is unstable; "
                f"lower dt_s or D_um2_per_s, or raise spacing_um."
            )


def tables(lattice, params: Sequence[Lansdell2014Params] = ()) -> dict[str, np.ndarray]:
    """The tables the rule reads on ``lattice`` (a square lattice, rectangle only).

    Returns ``site`` ((R, C) int32, 1 where a cell is), ``pull_dr``,
    ``pull_dc`` ((4,) int32 offsets) and ``pull_w`` ((1, 4) int32: the
    weights of the pulled ``e`` sums, all 1), and ``table`` (the inverse
    squared spacing and the tanh and cosh tables). ``params``, if given,
    are checked against the spacing (explicit diffusion stays stable).

    Raises
    ------
    ParameterError
        For a disc retina, or a diffusion number ``D dt / h**2`` above 1/4.
    """
    retina = lattice.retina
    if retina.shape != "rectangle":
        raise ParameterError(
            f"model {NAME!r} runs on rectangular sheets (mirrored edges), got Retina(shape={retina.shape!r}); "
            f"use shape='rectangle'."
        )
    h = retina.spacing_um
    check_sheet(lattice, params)
    table = np.zeros(rule.TABLE_SIZE, dtype=np.int32)
    inv_h2 = round(2**36 / h**2)
    if inv_h2 > 2**31 - 1:
        raise ParameterError(f"spacing_um = {h} is too fine for model {NAME!r}; use at least 8 um.")
    table[rule.T_INV_H2] = inv_h2
    tanh, cosh = function_tables()
    table[rule.T_TANH:rule.T_TANH + tanh.size] = tanh
    table[rule.T_COSH:rule.T_COSH + cosh.size] = cosh
    return {
        "site": lattice.exists.astype(np.int32),
        "pull_dr": np.array(PULL_DR, dtype=np.int32),
        "pull_dc": np.array(PULL_DC, dtype=np.int32),
        "pull_w": np.ones((1, 4), dtype=np.int32),
        "table": table,
    }


def authors_sheet_um(nodes: int = AUTHORS_NODES) -> float:
    """Width of a square retina that holds ``nodes`` x ``nodes`` cells at the authors' spacing (with a half-node margin)."""
    return (nodes + 0.5) * AUTHORS_SPACING_UM


def _reference(lattice, prow, key, model_tables):
    from .lansdell2014_reference import FixedSheet

    return FixedSheet(prow, model_tables["table"], lattice.shape, key=int(key))


#: The authors' runs: their 64 x 64 grid, one cell a pixel, frames every 0.1 s (their output grid), and a warm-up
#: of 300 s that lets the sAHP (tau_S 60 s) settle from the homogeneous start (they warm up 500 s).
RUN = RunSpec(
    retina=Retina(width_um=authors_sheet_um(), height_um=authors_sheet_um(), spacing_um=AUTHORS_SPACING_UM,
                  dendrite_radius_um=AUTHORS_SPACING_UM, shape="rectangle"),
    readout=Readout(um_per_pixel=AUTHORS_SPACING_UM, frame_period_s=0.1),
    timing=Timing(duration_s=60.0, warmup_s=300.0),
)

MODEL = WaveModel(
    name=NAME,
    summary="reaction-diffusion SACs with sAHP and diffusing ACh (Lansdell, Ford & Kutz 2014)",
    params_cls=Lansdell2014Params,
    presets=PRESETS,
    default_preset=DEFAULT_PRESET,
    state_fields=rule.STATE_FIELDS,
    quantise=quantise,
    tables=tables,
    kernel_module="wavesim.kernels.lansdell2014",
    reference=_reference,
    fit_defaults=FIT_DEFAULTS,
    fit_ranges=FIT_RANGES,
    whole_steps=("noise_period_s",),
    check_sheet=check_sheet,
    graded_readout="v",  # VALUE_LO_MV .. VALUE_LO_MV + VALUE_SPAN_MV
    lattice=SquareLattice,
    run=RUN,
    coupling="pull",
)


__all__ = ["Lansdell2014Params", "MODEL", "PRESETS", "DEFAULT_PRESET", "FIT_DEFAULTS", "FIT_RANGES", "quantise", "tables",
           "authors_sheet_um"]
