"""NumPy references of the Lansdell, Ford & Kutz 2014 model, written from the equations, not from the rule.

:class:`FloatSheet` follows the authors' integration scheme in float64
(``models/retinal2D_split.m`` with ``models/ml_sahp_rhs_split.m``): each
step of ``dt`` first diffuses ``e`` by Crank-Nicolson along one axis and
then the other (mirrored Neumann edges), then advances the reaction terms
by the two-stage (midpoint) Runge-Kutta method, both stages with the noise
conductance held over the step; the noise conductance is redrawn per cell
every noise period. ``diffusion="explicit"`` replaces the Crank-Nicolson
sweeps by one Euler step of the 5-point Laplacian, the rule's scheme.

:class:`FixedSheet` is the fixed-point scheme of
:mod:`wavesim.kernels.lansdell2014`, vectorised over cells, for bit-exact
tests of the compiled rule. Both draw the noise from the one counter-based
generator (:func:`wavesim.kernels.random.uniform_u32`), so that a float
and a fixed-point sheet with one key see the same noise events.
"""

from __future__ import annotations

import numpy as np

from ..kernels import lansdell2014 as rule
from ..kernels.random import uniform_u32
from ._fixed_reference import FixedSheetBase, current, gate, lookup, mirrored_sums
from .lansdell2014 import AUTHORS_NODES, AUTHORS_SPACING_UM, Lansdell2014Params, quantise

DIFFUSION_SCHEMES = ("crank-nicolson", "explicit")


def _noise_events(key: int, period: int, cells: np.ndarray, probability_u32: int) -> np.ndarray:
    """(rows, cols) bool: the cells with a noise event in noise period ``period``."""
    if probability_u32 == 0:
        return np.zeros(cells.shape, dtype=bool)
    return uniform_u32(key, rule.STREAM_NOISE, period, cells) < probability_u32


class FloatSheet:
    """The model on a square sheet in float64, by the authors' split scheme.

    Parameters
    ----------
    params : Lansdell2014Params
    shape : (int, int)
        Rows and columns of nodes (the authors': 64 x 64).
    spacing_um : float (um)
        Node spacing h (the authors': 2000 / 63 um).
    key : int
        Generator key of the noise (as :func:`wavesim.kernels.random.retina_keys` makes them).
    diffusion : {"crank-nicolson", "explicit"}
        The authors' scheme, or the rule's explicit Euler step.

    Attributes
    ----------
    v, r, s, e : ndarray, shape ``shape``
        Voltage (mV), K gating, sAHP variable and ACh, at the end of step ``t``.
    t : int
        Steps taken.
    """

    def __init__(self, params: Lansdell2014Params, shape=(AUTHORS_NODES, AUTHORS_NODES),
                 spacing_um: float = AUTHORS_SPACING_UM, key: int = 0, diffusion: str = "crank-nicolson"):
        if diffusion not in DIFFUSION_SCHEMES:
            raise ValueError(f"diffusion must be one of {DIFFUSION_SCHEMES}, got {diffusion!r}")
        self.p = params
        self.key = int(key)
        self.diffusion = diffusion
        self.spacing_um = spacing_um
        self.cells = np.arange(shape[0] * shape[1]).reshape(shape)
        self.v = np.full(shape, params.E_L_mV)
        self.r = np.zeros(shape)
        self.s = np.zeros(shape)
        self.e = np.zeros(shape)
        self.t = 0
        self.noise_u32 = min(round(params.noise_probability * 2**32), 2**32 - 1)
        self._g_noise = np.zeros(shape)
        self._period = -1
        if diffusion == "crank-nicolson":
            self._cn_rows = self._crank_nicolson(shape[0])
            self._cn_cols = self._crank_nicolson(shape[1])

    def _crank_nicolson(self, n: int) -> np.ndarray:
        """(I - dt/2 T)^-1 (I + dt/2 T) for the 1-D Laplacian T with mirrored ends (the authors' Tx)."""
        lap = (np.diag(np.ones(n - 1), -1) + np.diag(np.ones(n - 1), 1) - 2 * np.eye(n))
        lap[0, 1] = lap[-1, -2] = 2.0
        lap *= self.p.D_um2_per_s / self.spacing_um**2
        half = self.p.dt_s / 2 * lap
        return np.linalg.solve(np.eye(n) - half, np.eye(n) + half)

    def rates(self, v, r, s, e, g_noise):
        """The right-hand sides (per second) of v, r, s and e without diffusion (``ml_sahp_rhs_split.m``)."""
        p = self.p
        release = 1 / (1 + np.exp(-p.kappa_per_mV * (v - p.V0_mV)))
        m_ca = (1 + np.tanh((v - p.V1_mV) / p.V2_mV)) / 2
        lam = np.cosh((v - p.V3_mV) / (2 * p.V4_mV))
        r_inf = (1 + np.tanh((v - p.V3_mV) / p.V4_mV)) / 2
        bound = p.delta * e**2 / (1 + p.delta * e**2)
        current = (-p.g_Ca_nS * m_ca * (v - p.E_Ca_mV) - p.g_K_nS * r * (v - p.E_K_mV) - p.g_L_nS * (v - p.E_L_mV)
                   - p.g_ACh_nS * bound * (v - p.E_ACh_mV) - g_noise * (v - p.E_noise_mV))
        dv = 1000 / p.C_m_pF * current
        dr = (lam * (r_inf - r) + p.alpha * s * (1 - r)) / p.tau_R_s
        ds = p.gamma_per_s * release - s / p.tau_S_s
        de = p.beta_per_s * release - e / p.tau_ACh_s
        return dv, dr, ds, de

    def step(self, g_noise: np.ndarray | None = None) -> None:
        """Advance one step of ``dt``.

        ``g_noise`` (nS, an array of the sheet's shape), if given, is this
        step's noise conductance instead of the generator's (to replay
        another code's noise events).
        """
        p, dt = self.p, self.p.dt_s
        self.t += 1
        if self.diffusion == "crank-nicolson":
            self.e = self._cn_rows @ self.e @ self._cn_cols.T
        else:
            rate = p.D_um2_per_s * dt / self.spacing_um**2
            self.e = self.e + rate * (mirrored_sums(self.e)[0] - 4 * self.e)
        if g_noise is None:
            period = (self.t - 1) // p.noise_steps
            if period != self._period:
                self._period = period
                events = _noise_events(self.key, period, self.cells, self.noise_u32)
                self._g_noise = np.where(events, p.g_noise_nS, 0.0)
            g_noise = self._g_noise
        u = (self.v, self.r, self.s, self.e)
        k1 = self.rates(*u, g_noise)
        mid = [x + dt / 2 * k for x, k in zip(u, k1)]
        k2 = self.rates(*mid, g_noise)
        self.v, self.r, self.s, self.e = (x + dt * k for x, k in zip(u, k2))

    def active(self) -> np.ndarray:
        """(rows, cols) bool: cells above the threshold now."""
        return self.v > self.p.threshold_mV


class FixedSheet(FixedSheetBase):
    """The rule's fixed-point scheme on a square sheet, vectorised in NumPy int64 (for bit-exact tests).

    Parameters as :class:`~wavesim.models._fixed_reference.FixedSheetBase`, with a row of
    :func:`wavesim.models.lansdell2014.quantise`.
    """

    def __init__(self, prow: np.ndarray, table: np.ndarray, shape, key: int = 0):
        super().__init__(prow, table, shape, key)
        self.v = np.full(shape, self.q[rule.P_V_INIT], dtype=np.int64)
        self.r = np.zeros(shape, dtype=np.int64)
        self.s = np.zeros(shape, dtype=np.int64)
        self.e = np.zeros(shape, dtype=np.int64)

    @classmethod
    def from_params(cls, params: Lansdell2014Params, table: np.ndarray, shape, key: int = 0) -> "FixedSheet":
        return cls(quantise([params])[0], table, shape, key)

    def _gate(self, v, centre, inv_scale):
        return gate(self.table, rule.T_TANH, v, self.q[centre], self.q[inv_scale])

    def increments(self, v, r, s, e, g_noise):
        """dt times the right-hand sides, in the state's fixed-point units."""
        q = self.q
        m_ca = self._gate(v, rule.P_V1, rule.P_INV_V2)
        r_inf = self._gate(v, rule.P_V3, rule.P_INV_V4)
        release = self._gate(v, rule.P_V0, rule.P_HALF_KAPPA)
        lam = lookup(self.table, rule.T_COSH, ((v - q[rule.P_V3]) * q[rule.P_INV_2V4] + (1 << 27)) >> 28)
        e2 = ((e >> 4) ** 2 >> 14) * q[rule.P_DELTA] >> 8
        bound = (1 << 30) - (1 << 60) // (e2 + (1 << 30))
        dv = -(current(q[rule.P_G_CA], m_ca, v, q[rule.P_E_CA]) + current(q[rule.P_G_K], r, v, q[rule.P_E_K])
               + current(q[rule.P_G_L], 1 << 30, v, q[rule.P_E_L])
               + current(q[rule.P_G_ACH], bound, v, q[rule.P_E_ACH])
               + current(g_noise, 1 << 30, v, q[rule.P_E_NOISE]))
        drive = (lam * (r_inf - r) >> 20) + (((q[rule.P_ALPHA] * s) >> 22) * ((1 << 30) - r) >> 20)
        dr = ((drive >> 8) * q[rule.P_K_R] + (1 << 23)) >> 24
        ds = ((release * q[rule.P_C_S] + (1 << 39)) >> 40) - ((s * q[rule.P_K_S] + (1 << 35)) >> 36)
        de = ((release * q[rule.P_B_E] + (1 << 35)) >> 36) - ((e * q[rule.P_K_E] + (1 << 31)) >> 32)
        return dv, dr, ds, de

    def step(self) -> None:
        """Advance one step: explicit diffusion of e, then the midpoint step with the step's noise."""
        q = self.q
        self.t += 1
        rate = (q[rule.P_D_DT] * int(self.table[rule.T_INV_H2]) + (1 << 19)) >> 20
        self.e = self.e + ((rate * (mirrored_sums(self.e)[0] - 4 * self.e) + (1 << 31)) >> 32)
        events = _noise_events(self.key, (self.t - 1) // q[rule.P_NOISE_STEPS], self.cells, q[rule.P_NOISE_U32])
        g_noise = np.where(events, q[rule.P_G_NOISE], 0)
        u = (self.v, self.r, self.s, self.e)
        k1 = self.increments(*u, g_noise)
        k2 = self.increments(*((x + ((k + 1) >> 1)) for x, k in zip(u, k1)), g_noise)
        v, r, s, e = (x + k for x, k in zip(u, k2))
        self.v = np.clip(v, -rule.V_LIMIT, rule.V_LIMIT)
        self.r = np.clip(r, 0, rule.INT32_MAX)
        self.s = np.clip(s, 0, rule.INT32_MAX)
        self.e = np.clip(e, 0, rule.E_LIMIT)

    def active(self) -> np.ndarray:
        """(rows, cols) bool: cells above the threshold now."""
        return self.v > self.q[rule.P_THRESHOLD]

    def value(self) -> np.ndarray:
        """(rows, cols) int64: the graded readout, ``v`` mapped onto 0..65535 (clipped)."""
        return np.clip(((self.v - self.q[rule.P_VALUE_LO]) * self.q[rule.P_VALUE_INV_SPAN]) >> 36, 0, 65535)

    def state(self) -> dict[str, np.ndarray]:
        """The state as int32 arrays by field name, in the backends' layout (no batch axis)."""
        return {name: getattr(self, name).astype(np.int32) for name in rule.STATE_FIELDS}

    def load(self, state: dict[str, np.ndarray]) -> None:
        """Replace the state by ``state`` (arrays by field name, in fixed point)."""
        for name in rule.STATE_FIELDS:
            setattr(self, name, np.asarray(state[name], dtype=np.int64).copy())

    def as_float(self) -> dict[str, np.ndarray]:
        """The state in the model's units: v (mV), r, s, e."""
        return {"v": self.v / 2**rule.V_SHIFT, "r": self.r / 2**rule.R_SHIFT, "s": self.s / 2**rule.S_SHIFT,
                "e": self.e / 2**rule.E_SHIFT}


__all__ = ["DIFFUSION_SCHEMES", "FixedSheet", "FloatSheet"]
