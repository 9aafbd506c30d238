"""NumPy references of the RetinalChaos model, written from the equations, not from the rule.

:func:`drift` is the model's right-hand side in float64, the authors'
``T_PDE_w_NA`` without diffusion (their units: mV, ms, pA); SciPy can
integrate it for one cell (:func:`single_cell_rhs`). :class:`FloatSheet`
steps a lattice in float64 by the scheme of the rule: one explicit Euler
step of the (drifting) diffusion, the midpoint Runge-Kutta step of the
reaction terms, and the Euler-Maruyama increment of the noise current ``W``
(the authors solve the same SDE with the adaptive SOSRI method at loose
tolerances, 2e-2). :class:`FixedSheet` is the fixed-point scheme of
:mod:`wavesim.kernels.retinalchaos`, vectorised over cells, for bit-exact
tests of the compiled rule. Both draw the noise from the one counter-based
generator (:func:`wavesim.kernels.random.uniform_u32`) through the same
inverse normal CDF table, so a float and a fixed-point sheet with one key
see the same noise.
"""

from __future__ import annotations

import numpy as np

from ..kernels import retinalchaos as rule
from ..kernels.random import uniform_u32
from ._fixed_reference import FixedSheetBase, current, gate, lookup, mirrored_sums
from .amacrine import normal_table_q16
from .retinalchaos import AUTHORS_NODES, INITIAL_STATE, RetinalChaosParams, quantise

FIELDS = rule.STATE_FIELDS


def _gate(x):
    return (1 + np.tanh(x)) / 2


def drift(p: RetinalChaosParams, v, n, c, a, b, e, i, w):
    """The right-hand sides per ms of (v, n, c, a, b, e, i, w), without diffusion and noise."""
    m_ca = _gate((v - p.V1_mV) / p.V2_mV)
    i_ca = -p.g_Ca_nS * m_ca * (v - p.E_Ca_mV)
    current = (-p.g_leak_nS * (v - p.E_leak_mV) + i_ca - p.g_K_nS * n * (v - p.E_K_mV)
               - p.g_TREK_nS * b * (v - p.E_K_mV) - p.g_ACh_nS * e**2 / (e**2 + p.k_ACh) * (v - p.E_ACh_mV)
               - p.g_GABA_nS * i**2 / (i**2 + p.k_GABA) * (v - p.E_Cl_mV) + p.I_app_pA + w)
    phi_e = 1 / (1 + np.exp(-p.VS_e_per_mV * (v - p.V0_e_mV)))
    phi_i = 1 / (1 + np.exp(-p.VS_i_per_mV * (v - p.V0_i_mV)))
    return (
        current / p.C_m_pF,
        np.cosh((v - p.V3_mV) / (2 * p.V4_mV)) * (_gate((v - p.V3_mV) / p.V4_mV) - n) / p.tau_n_ms,
        (p.C_0 + p.delta_c_per_pA * i_ca - p.lambda_c * c) / p.tau_c_ms,
        (p.alpha_a * c**4 * (1 - a) - a) / p.tau_a_ms,
        (p.beta_b * a**4 * (1 - b) - b) / p.tau_b_ms,
        (p.rho_e * phi_e - e) / p.tau_ACh_ms,
        (p.rho_i * phi_i - i) / p.tau_GABA_ms,
        -w / p.tau_w_ms,
    )


def single_cell_rhs(p: RetinalChaosParams):
    """``f(t_ms, y)`` of one isolated, noise-free cell, y = (v, n, c, a, b, e, i, w), for ``scipy.integrate.solve_ivp``.

    An isolated cell still receives its own transmitter (``e`` and ``i``
    act on the cell that releases them, as in the authors' single-cell
    ODE); the presets of their single-cell figure set the release to 0.
    """
    def f(t, y):
        return np.array(drift(p, *y))
    return f


def single_cell_rhs_along(p: RetinalChaosParams, w_path):
    """``f(t_ms, y)`` of one isolated cell driven by a given path of its noise current, y = (v, n, c, a, b, e, i).

    ``W`` is an Ornstein-Uhlenbeck current that does not depend on the
    cell, so along one path of it the SDE is an ODE: ``w_path`` holds W (pA)
    at t = 0, dt, 2 dt, ... (``p.dt_ms``), linear in between.
    """
    w = np.asarray(w_path, dtype=float)

    def f(t, y):
        k = min(int(t / p.dt_ms), w.size - 2)
        return np.array(drift(p, *y, w[k] + (t / p.dt_ms - k) * (w[k + 1] - w[k]))[:7])
    return f


def initial_state() -> np.ndarray:
    """The authors' initial state (conds.json) as an array in the order of ``STATE_FIELDS``."""
    return np.array([INITIAL_STATE[name] for name in FIELDS])


def _normal_q16(table: np.ndarray, u: np.ndarray) -> np.ndarray:
    lo = table[u >> 16].astype(np.int64)
    hi = table[(u >> 16) + 1].astype(np.int64)
    return lo + (((hi - lo) * (u & 0xFFFF)) >> 16)


class FloatSheet:
    """The model on a square sheet in float64, stepped by the rule's scheme.

    Parameters
    ----------
    params : RetinalChaosParams
    shape : (int, int)
        Rows and columns of cells (the authors': 64 x 64).
    key : int
        Generator key of the noise.

    Attributes
    ----------
    u : dict of ndarray
        The state by field name (``v`` mV, ``w`` pA), at the end of step ``t``.
    """

    def __init__(self, params: RetinalChaosParams, shape=(AUTHORS_NODES, AUTHORS_NODES), key: int = 0):
        self.p = params
        self.key = int(key)
        self.cells = np.arange(shape[0] * shape[1]).reshape(shape)
        self.u = {name: np.full(shape, float(INITIAL_STATE[name])) for name in FIELDS}
        self.t = 0
        self._normal = normal_table_q16()

    def step(self) -> None:
        """Advance one step: diffusion of e and i, the midpoint step of the drift, the noise increment of w."""
        p, dt = self.p, self.p.dt_ms
        self.t += 1
        u = self.u
        sum_e, _ = mirrored_sums(u["e"])
        sum_i, back_minus_next = mirrored_sums(u["i"])
        u["e"] = u["e"] + p.D_e_cells2_per_ms * dt * (sum_e - 4 * u["e"])
        u["i"] = u["i"] + p.D_i_cells2_per_ms * dt * (sum_i - 4 * u["i"] + p.gaba_drift * back_minus_next)
        x = [u[name] for name in FIELDS]
        k1 = drift(p, *x)
        k2 = drift(p, *(xi + dt / 2 * ki for xi, ki in zip(x, k1)))
        z = _normal_q16(self._normal, uniform_u32(self.key, rule.STREAM_NOISE, self.t, self.cells)) / 2**16
        for name, xi, ki in zip(FIELDS, x, k2):
            u[name] = xi + dt * ki
        u["w"] = u["w"] + p.sigma_pA_per_sqrt_ms * np.sqrt(dt) * z

    def active(self) -> np.ndarray:
        """(rows, cols) bool: cells whose calcium is above the threshold now."""
        return self.u["c"] > self.p.c_threshold


class FixedSheet(FixedSheetBase):
    """The rule's fixed-point scheme on a square sheet, vectorised in NumPy int64 (for bit-exact tests).

    Parameters as :class:`~wavesim.models._fixed_reference.FixedSheetBase`, with a row of
    :func:`wavesim.models.retinalchaos.quantise`.
    """

    def __init__(self, prow: np.ndarray, table: np.ndarray, shape, key: int = 0):
        super().__init__(prow, table, shape, key)
        q = self.q
        start = {"v": q[rule.P_V_INIT], "c": q[rule.P_C_INIT], "a": q[rule.P_A_INIT], "b": q[rule.P_B_INIT]}
        self.u = {name: np.full(shape, start.get(name, 0), dtype=np.int64) for name in FIELDS}

    @classmethod
    def from_params(cls, params: RetinalChaosParams, table: np.ndarray, shape, key: int = 0) -> "FixedSheet":
        return cls(quantise([params])[0], table, shape, key)

    def _gate(self, centre: int, inv_scale: int, v: np.ndarray) -> np.ndarray:
        return gate(self.table, rule.T_TANH, v, self.q[centre], self.q[inv_scale])

    def increments(self, v, n, c, a, b, e, i, w):
        """One step's increments in the state's fixed-point units, without diffusion and noise."""
        q, one = self.q, 1 << 30
        m_ca = self._gate(rule.P_V1, rule.P_INV_V2, v)
        n_inf = self._gate(rule.P_V3, rule.P_INV_V4, v)
        lam = lookup(self.table, rule.T_COSH, ((v - q[rule.P_V3]) * q[rule.P_INV_2V4] + (1 << 27)) >> 28)
        phi_e = self._gate(rule.P_V0_E, rule.P_HALF_VS_E, v)
        phi_i = self._gate(rule.P_V0_I, rule.P_HALF_VS_I, v)

        def bound(x, k):
            return one - (k << 30) // (((x * x) >> 18) + k)

        dv = (((q[rule.P_I_APP] + w) * q[rule.P_K_CURRENT] + (1 << 31)) >> 32) - (
            current(q[rule.P_G_LEAK], one, v, q[rule.P_E_LEAK]) + current(q[rule.P_G_CA], m_ca, v, q[rule.P_E_CA])
            + current(q[rule.P_G_K], n, v, q[rule.P_E_K]) + current(q[rule.P_G_TREK], b, v, q[rule.P_E_K])
            + current(q[rule.P_G_ACH], bound(e, q[rule.P_K_ACH]), v, q[rule.P_E_ACH])
            + current(q[rule.P_G_GABA], bound(i, q[rule.P_K_GABA]), v, q[rule.P_E_CL]))
        dn = (((lam * (n_inf - n) >> 20) >> 8) * q[rule.P_K_N] + (1 << 23)) >> 24
        influx = ((q[rule.P_G_CA_Q16] * m_ca >> 30) * (q[rule.P_E_CA] - v)) >> 20
        dc = ((q[rule.P_C0] + (q[rule.P_DELTA] * influx >> 22) - (q[rule.P_LAMBDA] * c >> 24)) * q[rule.P_K_C]
              + (1 << 31)) >> 32
        c2 = (c * c) >> 24
        x = np.minimum((q[rule.P_ALPHA] * (((c2 >> 2) ** 2) >> 26)) >> 16, rule.X_LIMIT)
        da = ((((x * (one - a)) >> 18) - a >> 10) * q[rule.P_K_A] + (1 << 25)) >> 26
        y = (q[rule.P_BETA] * ((((a * a) >> 30) ** 2) >> 30)) >> 26
        db = ((((y * (one - b)) >> 20) - b >> 10) * q[rule.P_K_B] + (1 << 25)) >> 26
        de = ((((q[rule.P_RHO_E] * phi_e) >> 22) - e) * q[rule.P_K_E] + (1 << 35)) >> 36
        di = ((((q[rule.P_RHO_I] * phi_i) >> 22) - i) * q[rule.P_K_I] + (1 << 35)) >> 36
        dw = -((w * q[rule.P_K_W] + (1 << 31)) >> 32)
        return dv, dn, dc, da, db, de, di, dw

    def step(self) -> None:
        """Advance one step (the rule's order: diffusion, midpoint reaction step, noise)."""
        q, u = self.q, self.u
        self.t += 1
        sum_e, _ = mirrored_sums(u["e"])
        sum_i, back_minus_next = mirrored_sums(u["i"])
        u["e"] = u["e"] + ((q[rule.P_D_E] * (sum_e - 4 * u["e"]) + (1 << 31)) >> 32)
        lap_i = sum_i - 4 * u["i"] + ((q[rule.P_DRIFT] * back_minus_next + (1 << 15)) >> 16)
        u["i"] = u["i"] + ((q[rule.P_D_I] * lap_i + (1 << 31)) >> 32)
        x = [u[name] for name in FIELDS]
        k1 = self.increments(*x)
        k2 = self.increments(*(xi + ((ki + 1) >> 1) for xi, ki in zip(x, k1)))
        draws = uniform_u32(self.key, rule.STREAM_NOISE, self.t, self.cells)
        z = _normal_q16(self.table[rule.T_NORMAL:], draws)
        new = [xi + ki for xi, ki in zip(x, k2)]
        new[7] = new[7] + ((q[rule.P_SIGMA] * z + (1 << 27)) >> 28)
        limits = ((-rule.V_LIMIT, rule.V_LIMIT), (0, rule.INT32_MAX), (0, rule.C_LIMIT), (0, 1 << 30),
                  (0, 1 << 30), (0, rule.E_LIMIT), (0, rule.E_LIMIT), (-rule.W_LIMIT, rule.W_LIMIT))
        for name, value, (lo, hi) in zip(FIELDS, new, limits):
            u[name] = np.clip(value, lo, hi)

    def active(self) -> np.ndarray:
        """(rows, cols) bool: cells whose calcium is above the threshold now."""
        return self.u["c"] > self.q[rule.P_THRESHOLD]

    def value(self) -> np.ndarray:
        """(rows, cols) int64: the graded readout, ``c`` mapped onto 0..65535 (clipped)."""
        return np.clip(((self.u["c"] - self.q[rule.P_VALUE_LO]) * self.q[rule.P_VALUE_INV_SPAN]) >> 42, 0, 65535)

    def state(self) -> dict[str, np.ndarray]:
        """The state as int32 arrays by field name, in the backends' layout (no batch axis)."""
        return {name: self.u[name].astype(np.int32) for name in FIELDS}

    def load(self, state: dict[str, np.ndarray]) -> None:
        """Replace the state by ``state`` (arrays by field name, in fixed point)."""
        self.u = {name: np.asarray(state[name], dtype=np.int64).copy() for name in FIELDS}

    def as_float(self) -> dict[str, np.ndarray]:
        """The state in the model's units (v mV, w pA)."""
        shifts = (rule.V_SHIFT, rule.N_SHIFT, rule.C_SHIFT, rule.A_SHIFT, rule.B_SHIFT, rule.E_SHIFT, rule.I_SHIFT,
                  rule.W_SHIFT)
        return {name: self.u[name] / 2.0**s for name, s in zip(FIELDS, shifts)}


__all__ = ["FIELDS", "FixedSheet", "FloatSheet", "drift", "initial_state", "single_cell_rhs",
           "single_cell_rhs_along"]
