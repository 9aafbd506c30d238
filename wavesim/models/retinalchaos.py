"""RetinalChaos (Tarchick et al., ``mattar13/RetinalChaos``): a biophysical starburst amacrine cell lattice.

Each cell is a Morris-Lecar-type unit (voltage ``v``, K gating ``n``) with
the calcium-driven slow afterhyperpolarisation of Karvouniari et al. 2019:
intracellular calcium ``c`` drives a gating cascade ``a`` (fourth power of
``c``) and ``b`` (fourth power of ``a``) that opens TREK K channels. Cells
release acetylcholine ``e`` (excitatory) and GABA ``i`` (inhibitory),
both decaying and diffusing on the lattice, GABA with a drift along one
axis; the stochastic drive is an Ornstein-Uhlenbeck current ``W``. The
equations are the authors' network model ``T_PDE_w_NA`` (``src/2D_models.jl``,
with ``src/pde_models.jl`` for the diffusion), in their units (mV, ms, nS,
pF, pA; concentrations in their units, ``k_ACh`` and ``k_GABA`` in the
same units squared):

    C_m dv/dt = -g_leak (v - E_leak) - g_Ca M_inf(v) (v - E_Ca) - g_K n (v - E_K)
                - g_TREK b (v - E_K) - g_ACh e^2/(e^2 + k_ACh) (v - E_ACh)
                - g_GABA i^2/(i^2 + k_GABA) (v - E_Cl) + I_app + W
    dn/dt = cosh((v - V3) / (2 V4)) (N_inf(v) - n) / tau_n
    dc/dt = (C_0 - delta g_Ca M_inf(v) (v - E_Ca) - lambda c) / tau_c
    da/dt = (alpha c^4 (1 - a) - a) / tau_a
    db/dt = (beta a^4 (1 - b) - b) / tau_b
    de/dt = (rho_e Phi_e(v) - e) / tau_ACh + D_e laplacian(e)
    di/dt = (rho_i Phi_i(v) - i) / tau_GABA + D_i laplacian_drift(i)
    dW = -W / tau_w dt + sigma dB
    M_inf = (1 + tanh((v - V1) / V2)) / 2,  N_inf = (1 + tanh((v - V3) / V4)) / 2,
    Phi(v) = 1 / (1 + exp(-VS (v - V0)))

The Laplacians are on the lattice in units of cells (unit spacing), with
mirrored edges; ``laplacian_drift`` weights the two neighbours along the
first axis (rows here) by ``1 - drift`` (the next row) and ``1 + drift``
(the previous row), so GABA drifts towards increasing rows. The voltage
gated Na current of their equations is frozen off in ``T_PDE_w_NA`` (its
gates keep their initial value 0), so it is left out. Defaults:
``params/params.json`` and ``params/conds.json`` (repository at ada93c0).

The rule is :mod:`wavesim.kernels.retinalchaos` (pulled-field coupling,
``WaveModel.coupling == "pull"``), the references are in
:mod:`wavesim.models.retinalchaos_reference`; :data:`MODEL` registers it
as ``retinalchaos``, on the authors' 64 x 64 sheet by default.
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

import numpy as np

from ..errors import ParameterError
from ..kernels import retinalchaos as rule
from ..kernels.fixed_point import function_tables
from ..lattice import Retina, SquareLattice
from ..parameters import ValidatedParams, field
from ..readout import Readout
from ..run import RunSpec, Timing
from .amacrine import normal_table_q16
from .base import WaveModel

NAME = "retinalchaos"
#: The authors' sheet: 64 x 64 cells (``run_model``'s xmax = ymax = 64).
AUTHORS_NODES = 64
#: Largest per-step rate dt / tau of the fast variables the explicit step accepts (and of the diffusion).
MAX_STEP_RATE = 1 / 16
#: Largest dt / tau of the slow gates a and b (their drive alpha c^4 can reach 4096).
MAX_SLOW_RATE = 1e-3
#: Largest summed conductance per step, (sum of g) * dt / C_m; the midpoint step is stable below 2.
MAX_CONDUCTANCE_PER_STEP = 1.0
#: The graded readout maps calcium c from [0, VALUE_SPAN_C] onto [0, 1] (a burst peaks near 0.5).
VALUE_SPAN_C = 0.5


def _f(default, unit, low, high, doc):
    return field(default, unit=unit, low=low, high=high, doc=doc)


@dataclasses.dataclass(frozen=True)
class RetinalChaosParams(ValidatedParams):
    """Parameters of the RetinalChaos model (units in each field's spec; defaults: the authors' ``params.json``).

    Examples
    --------
    >>> RetinalChaosParams().tau_b_ms
    8300.0
    >>> RetinalChaosParams(gaba_drift=1.5)
    Traceback (most recent call last):
    ...
    wavesim.errors.ParameterError: RetinalChaosParams.gaba_drift = 1.5 is outside the allowed range [0.0, 1.0].
    """

    C_m_pF: float = _f(13.6, "pF", 1.0, 1000.0, "membrane capacitance (C_m)")
    g_leak_nS: float = _f(2.0, "nS", 0.0, 50.0, "leak conductance (g_leak)")
    E_leak_mV: float = _f(-70.0, "mV", -120.0, 0.0, "leak reversal potential (E_leak)")
    g_Ca_nS: float = _f(8.5, "nS", 0.0, 50.0, "maximal Ca conductance (g_Ca)")
    V1_mV: float = _f(-20.0, "mV", -100.0, 50.0, "Ca activation midpoint (V1)")
    V2_mV: float = _f(20.0, "mV", 1.0, 100.0, "Ca activation slope (V2)")
    E_Ca_mV: float = _f(50.0, "mV", 0.0, 150.0, "Ca reversal potential (E_Ca)")
    g_K_nS: float = _f(4.0, "nS", 0.0, 50.0, "maximal K conductance (g_K)")
    V3_mV: float = _f(-25.0, "mV", -100.0, 50.0, "K activation midpoint (V3)")
    V4_mV: float = _f(7.0, "mV", 1.0, 100.0, "K activation slope (V4)")
    E_K_mV: float = _f(-90.0, "mV", -150.0, -40.0, "K reversal potential (E_K)")
    tau_n_ms: float = _f(5.0, "ms", 0.5, 1000.0, "K gating time constant (tau_n)")
    g_TREK_nS: float = _f(3.0, "nS", 0.0, 50.0, "maximal TREK (sAHP) conductance (g_TREK)")
    C_0: float = _f(0.088, "1", 0.0, 10.0, "calcium influx at rest (C_0)")
    lambda_c: float = _f(2.702, "1", 0.01, 100.0, "calcium extrusion (lambda)")
    delta_c_per_pA: float = _f(0.010503, "1/pA", 0.0, 0.1, "calcium per Ca current (delta)")
    tau_c_ms: float = _f(2000.0, "ms", 10.0, 100000.0, "calcium time constant (tau_c)")
    alpha_a: float = _f(625.0, "1", 0.0, 1000.0, "calcium drive of the sAHP gate a (alpha)")
    tau_a_ms: float = _f(8300.0, "ms", 10.0, 100000.0, "time constant of a (tau_a)")
    beta_b: float = _f(34.0, "1", 0.0, 1000.0, "drive of the TREK gate b by a (beta)")
    tau_b_ms: float = _f(8300.0, "ms", 10.0, 100000.0, "time constant of b (tau_b)")
    g_ACh_nS: float = _f(0.215, "nS", 0.0, 10.0, "maximal nicotinic conductance (g_ACh)")
    k_ACh: float = _f(0.1, "1", 0.001, 4.0, "half-activation of the nicotinic conductance, squared (k_ACh)")
    E_ACh_mV: float = _f(0.0, "mV", -50.0, 100.0, "nicotinic reversal potential (E_ACh)")
    rho_e: float = _f(6.0, "1", 0.0, 8.0, "maximal ACh release (rho_e)")
    VS_e_per_mV: float = _f(0.2, "1/mV", 0.01, 2.0, "steepness of ACh release (VSe)")
    V0_e_mV: float = _f(-40.0, "mV", -100.0, 50.0, "midpoint of ACh release (V0e)")
    tau_ACh_ms: float = _f(540.0, "ms", 1.0, 100000.0, "ACh time constant (tau_ACh)")
    D_e_cells2_per_ms: float = _f(0.01, "cell^2/ms", 0.0, 1.0, "ACh diffusion in units of the cell spacing (De)")
    g_GABA_nS: float = _f(0.9, "nS", 0.0, 10.0, "maximal GABA conductance (g_GABA)")
    k_GABA: float = _f(0.1, "1", 0.001, 4.0, "half-activation of the GABA conductance, squared (k_GABA)")
    E_Cl_mV: float = _f(-65.0, "mV", -100.0, 0.0, "chloride reversal potential (E_Cl)")
    rho_i: float = _f(5.0, "1", 0.0, 8.0, "maximal GABA release (rho_i)")
    VS_i_per_mV: float = _f(0.2, "1/mV", 0.01, 2.0, "steepness of GABA release (VSi)")
    V0_i_mV: float = _f(-40.0, "mV", -100.0, 50.0, "midpoint of GABA release (V0i)")
    tau_GABA_ms: float = _f(1000.0, "ms", 1.0, 100000.0, "GABA time constant (tau_GABA)")
    D_i_cells2_per_ms: float = _f(0.01, "cell^2/ms", 0.0, 1.0, "GABA diffusion in units of the cell spacing (Di)")
    gaba_drift: float = _f(0.9, "1", 0.0, 1.0, "GABA drift: neighbour weights 1 -+ drift along rows (their dYi)")
    I_app_pA: float = _f(0.0, "pA", -200.0, 200.0, "applied current (I_app)")
    tau_w_ms: float = _f(800.0, "ms", 1.0, 100000.0, "time constant of the noise current W (tau_w)")
    sigma_pA_per_sqrt_ms: float = _f(0.1, "pA/ms^0.5", 0.0, 10.0, "noise amplitude of W (sigma)")
    c_threshold: float = _f(0.15, "1", 0.0, 4.0, "a cell is active while its calcium c is above this")
    dt_s: float = _f(1e-4, "s", 1e-6, 1e-3, "time step")

    def _check_relations(self) -> None:
        name = type(self).__name__
        dt = self.dt_ms
        limits = {f"dt / {t}": (dt / getattr(self, t), MAX_STEP_RATE) for t in
                  ("tau_n_ms", "tau_c_ms", "tau_ACh_ms", "tau_GABA_ms", "tau_w_ms")}
        limits.update({f"dt / {t}": (dt / getattr(self, t), MAX_SLOW_RATE) for t in ("tau_a_ms", "tau_b_ms")})
        limits["dt * (D_e + D_i)"] = (dt * (self.D_e_cells2_per_ms + self.D_i_cells2_per_ms), MAX_STEP_RATE)
        total = self.g_leak_nS + self.g_Ca_nS + self.g_K_nS + self.g_TREK_nS + self.g_ACh_nS + self.g_GABA_nS
        limits["summed conductances * dt / C_m"] = (total * dt / self.C_m_pF, MAX_CONDUCTANCE_PER_STEP)
        limits["dt / C_m"] = (dt / self.C_m_pF, 0.25)
        for what, (rate, limit) in limits.items():
            if rate > limit:
                raise ParameterError(
                    f"{name}: {what} = {rate:.3g} exceeds {limit:.3g} per step, too coarse for the explicit "
                    f"step; lower dt_s."
                )

    @property
    def dt_ms(self) -> float:
        """The time step in the authors' unit, ms."""
        return self.dt_s * 1000


PRESETS: dict[str, RetinalChaosParams] = {
    # params/params.json, as run_model and the figure scripts read it.
    "default": RetinalChaosParams(),
    # Their single-cell figure (figures/making_figure2.jl): 15 pA applied, no transmitter release.
    "isolated_15pA": RetinalChaosParams(I_app_pA=15.0, rho_e=0.0, rho_i=0.0),
    # Their blocked-transmission run (figures/making_model_data.jl, model 2).
    "no_transmission": RetinalChaosParams(g_ACh_nS=0.0, g_GABA_nS=0.0),
}
DEFAULT_PRESET = "default"

#: What a fit tunes (``WaveModel.fit_defaults``) and within which ranges: the cholinergic and GABAergic
#: coupling, the sAHP (TREK) that sets the burst period, and the noise that starts bursts.
FIT_DEFAULTS = ("g_ACh_nS", "g_GABA_nS", "D_e_cells2_per_ms", "g_TREK_nS", "tau_b_ms", "sigma_pA_per_sqrt_ms")
FIT_RANGES = {
    "g_ACh_nS": (0.05, 0.5),
    "g_GABA_nS": (0.0, 2.0),
    "D_e_cells2_per_ms": (0.002, 0.03),
    "g_TREK_nS": (1.5, 6.0),
    "tau_b_ms": (4000.0, 16000.0),
    "sigma_pA_per_sqrt_ms": (0.05, 0.2),
}

#: Initial state (params/conds.json): v (mV), n, c, a, b, e, i, W (pA).
INITIAL_STATE = {"v": -65.0, "n": 0.0, "c": 0.085, "a": 0.1, "b": 0.03, "e": 0.0, "i": 0.0, "w": 0.0}


def quantise(params: Sequence[RetinalChaosParams]) -> np.ndarray:
    """One (B, N_PARAMS) int64 row per parameter set, in the layout :mod:`wavesim.kernels.retinalchaos` reads."""
    rows = np.zeros((len(params), rule.N_PARAMS), dtype=np.int64)
    for b, p in enumerate(params):
        row = rows[b]
        dt = p.dt_ms
        per_c = dt / p.C_m_pF
        for index, g in ((rule.P_G_LEAK, p.g_leak_nS), (rule.P_G_CA, p.g_Ca_nS), (rule.P_G_K, p.g_K_nS),
                         (rule.P_G_TREK, p.g_TREK_nS), (rule.P_G_ACH, p.g_ACh_nS), (rule.P_G_GABA, p.g_GABA_nS)):
            row[index] = round(g * per_c * 2**32)
        row[rule.P_K_CURRENT] = round(per_c * 2**32)
        for index, mv in ((rule.P_E_LEAK, p.E_leak_mV), (rule.P_E_CA, p.E_Ca_mV), (rule.P_E_K, p.E_K_mV),
                          (rule.P_E_ACH, p.E_ACh_mV), (rule.P_E_CL, p.E_Cl_mV), (rule.P_V1, p.V1_mV),
                          (rule.P_V3, p.V3_mV), (rule.P_V0_E, p.V0_e_mV), (rule.P_V0_I, p.V0_i_mV),
                          (rule.P_V_INIT, INITIAL_STATE["v"])):
            row[index] = round(mv * 2**20)
        row[rule.P_I_APP] = round(p.I_app_pA * 2**20)
        row[rule.P_INV_V2] = round(2**32 / p.V2_mV)
        row[rule.P_INV_V4] = round(2**32 / p.V4_mV)
        row[rule.P_INV_2V4] = round(2**32 / (2 * p.V4_mV))
        row[rule.P_HALF_VS_E] = round(p.VS_e_per_mV / 2 * 2**32)
        row[rule.P_HALF_VS_I] = round(p.VS_i_per_mV / 2 * 2**32)
        row[rule.P_K_N] = round(dt / p.tau_n_ms * 2**32)
        row[rule.P_G_CA_Q16] = round(p.g_Ca_nS * 2**16)
        row[rule.P_C0] = round(p.C_0 * 2**26)
        row[rule.P_LAMBDA] = round(p.lambda_c * 2**24)
        row[rule.P_DELTA] = round(p.delta_c_per_pA * 2**32)
        row[rule.P_K_C] = round(dt / p.tau_c_ms * 2**32)
        row[rule.P_ALPHA] = round(p.alpha_a * 2**8)
        row[rule.P_K_A] = round(dt / p.tau_a_ms * 2**36)
        row[rule.P_BETA] = round(p.beta_b * 2**16)
        row[rule.P_K_B] = round(dt / p.tau_b_ms * 2**36)
        row[rule.P_K_ACH] = round(p.k_ACh * 2**30)
        row[rule.P_RHO_E] = round(p.rho_e * 2**16)
        row[rule.P_K_E] = round(dt / p.tau_ACh_ms * 2**36)
        row[rule.P_D_E] = round(p.D_e_cells2_per_ms * dt * 2**32)
        row[rule.P_K_GABA] = round(p.k_GABA * 2**30)
        row[rule.P_RHO_I] = round(p.rho_i * 2**16)
        row[rule.P_K_I] = round(dt / p.tau_GABA_ms * 2**36)
        row[rule.P_D_I] = round(p.D_i_cells2_per_ms * dt * 2**32)
        row[rule.P_DRIFT] = round(p.gaba_drift * 2**16)
        row[rule.P_K_W] = round(dt / p.tau_w_ms * 2**32)
        row[rule.P_SIGMA] = round(p.sigma_pA_per_sqrt_ms * dt**0.5 * 2**32)
        row[rule.P_THRESHOLD] = round(p.c_threshold * 2**rule.C_SHIFT)
        row[rule.P_VALUE_LO] = 0
        row[rule.P_VALUE_INV_SPAN] = round(2**32 / VALUE_SPAN_C)
        row[rule.P_C_INIT] = round(INITIAL_STATE["c"] * 2**rule.C_SHIFT)
        row[rule.P_A_INIT] = round(INITIAL_STATE["a"] * 2**rule.A_SHIFT)
        row[rule.P_B_INIT] = round(INITIAL_STATE["b"] * 2**rule.B_SHIFT)
    return rows


#: Neighbour offsets (rows, cols) of the pulled sums, in the order of ``pull_w``'s columns.
PULL_DR = (-1, 1, 0, 0)
PULL_DC = (0, 0, -1, 1)


def tables(lattice) -> dict[str, np.ndarray]:
    """The tables the rule reads on ``lattice`` (rectangle only).

    ``pull_w`` ((3, 4) int32) gives the three pulled sums: ``e`` over the
    four neighbours, ``i`` over the four neighbours, and ``i`` of the
    previous row minus ``i`` of the next row (the GABA drift). ``table``
    holds the tanh, cosh and inverse normal CDF tables.

    Raises
    ------
    ParameterError
        For a disc retina.
    """
    if lattice.retina.shape != "rectangle":
        raise ParameterError(
            f"model {NAME!r} runs on rectangular sheets (mirrored edges), got "
            f"Retina(shape={lattice.retina.shape!r}); use shape='rectangle'."
        )
    tanh, cosh = function_tables()
    table = np.zeros(rule.TABLE_SIZE, dtype=np.int32)
    table[rule.T_TANH:rule.T_TANH + tanh.size] = tanh
    table[rule.T_COSH:rule.T_COSH + cosh.size] = cosh
    normal = normal_table_q16()
    table[rule.T_NORMAL:rule.T_NORMAL + normal.size] = normal
    return {
        "site": lattice.exists.astype(np.int32),
        "pull_dr": np.array(PULL_DR, dtype=np.int32),
        "pull_dc": np.array(PULL_DC, dtype=np.int32),
        "pull_w": np.array([[1, 1, 1, 1], [1, 1, 1, 1], [1, -1, 0, 0]], dtype=np.int32),
        "table": table,
    }


def _reference(lattice, prow, key, model_tables):
    from .retinalchaos_reference import FixedSheet

    return FixedSheet(prow, model_tables["table"], lattice.shape, key=int(key))


#: Cells a sheet spaces apart (the authors' lattice has no spacing; this one, a SAC soma spacing, gives lengths in um).
SPACING_UM = 20.0
#: The authors' run (``run_model``): 64 x 64 cells, one a pixel, 30 s of warm-up; frames every 0.1 s (a burst's
#: calcium lasts about a second).
RUN = RunSpec(
    retina=Retina(width_um=(AUTHORS_NODES + 0.5) * SPACING_UM, height_um=(AUTHORS_NODES + 0.5) * SPACING_UM,
                  spacing_um=SPACING_UM, dendrite_radius_um=SPACING_UM, shape="rectangle"),
    readout=Readout(um_per_pixel=SPACING_UM, frame_period_s=0.1),
    timing=Timing(duration_s=60.0, warmup_s=30.0),
)

MODEL = WaveModel(
    name=NAME,
    summary="biophysical SACs with calcium-driven sAHP, ACh and GABA, stochastic drive (RetinalChaos, Tarchick et al.)",
    params_cls=RetinalChaosParams,
    presets=PRESETS,
    default_preset=DEFAULT_PRESET,
    state_fields=rule.STATE_FIELDS,
    quantise=quantise,
    tables=tables,
    kernel_module="wavesim.kernels.retinalchaos",
    reference=_reference,
    fit_defaults=FIT_DEFAULTS,
    fit_ranges=FIT_RANGES,
    graded_readout="c",  # 0 .. VALUE_SPAN_C
    lattice=SquareLattice,
    run=RUN,
    coupling="pull",
)


__all__ = ["RetinalChaosParams", "MODEL", "PRESETS", "DEFAULT_PRESET", "FIT_DEFAULTS", "FIT_RANGES", "INITIAL_STATE", "quantise",
           "tables"]
