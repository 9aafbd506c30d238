"""The Lansdell, Ford & Kutz 2014 model's per-cell rule, written once for every runner.

:func:`build_rule` takes a decorator (``numba.njit`` or
``numba.cuda.jit(device=True, inline=True)``) and returns the rule's scalar
functions compiled with it. The model's equations, units and parameters are
in :mod:`wavesim.models.lansdell2014`; its float reference in
:mod:`wavesim.models.lansdell2014_reference`.

State: four int32 fields per cell in fixed point (``STATE_FIELDS``):
membrane voltage ``v`` (mV, 2**-20), K gating ``r`` (2**-30), sAHP
variable ``s`` (2**-26) and acetylcholine ``e`` (2**-26). All arithmetic is
on 64-bit integers and the nonlinearities come from the shared tables of
:mod:`wavesim.kernels.fixed_point`, so every runner computes the same bits.

Coupling is by diffusion of ``e``: before each step the runner pulls, for
every cell, the sum of ``e`` over its four lattice neighbours at the end of
the previous step, mirrored at the sheet's edges (a neighbour beyond an
edge is the one opposite it, the authors' Neumann ghost points), and
passes it as ``inp[0]`` (``PULL_FIELDS`` names the field). The step is the
authors' split scheme: diffusion first (here explicit, one Euler step of
the 5-point Laplacian), then the reaction terms by the two-stage
(midpoint) Runge-Kutta method, both stages with the noise conductance of
the step.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from .fixed_point import INT32_MAX, ONE_Q30, TABLE_LEN, V_ABSENT, build_fixed_point
from .random import build_random

STATE_FIELDS = ("v", "r", "s", "e")
F_V, F_R, F_S, F_E = range(4)
#: Fields whose neighbour sums the runner pulls before every step: ``inp[k]`` sums field ``PULL_FIELDS[k]``.
PULL_FIELDS = (F_E,)
#: The state field the readout thresholds (``active``) or shows graded (``value``).
READOUT_FIELD = F_V

#: Fixed-point shifts of the state fields: v in 2**-20 mV, r in 2**-30, s and e in 2**-26.
V_SHIFT, R_SHIFT, S_SHIFT, E_SHIFT = 20, 30, 26, 26
#: Clamps that keep every product below 2**63: |v| <= 512 mV, s < 32, 0 <= e < 8.
V_LIMIT = 512 << V_SHIFT
E_LIMIT = (8 << E_SHIFT) - 1

# Index of each quantity in a batch element's row of integer parameters
# (filled by wavesim.models.lansdell2014.quantise). Conductances are per step:
# g * 1000 * dt / C_m in 2**-32; voltages in 2**-20 mV; inverse slopes in 2**-32 per mV.
P_G_CA = 0
P_G_K = 1
P_G_L = 2
P_G_ACH = 3
P_G_NOISE = 4
P_E_CA = 5
P_E_K = 6
P_E_L = 7
P_E_ACH = 8
P_E_NOISE = 9
P_V1 = 10  # Ca activation: m_inf = (1 + tanh((v - V1) / V2)) / 2
P_INV_V2 = 11
P_V3 = 12  # K activation: r_inf = (1 + tanh((v - V3) / V4)) / 2, rate cosh((v - V3) / (2 V4))
P_INV_V4 = 13
P_INV_2V4 = 14
P_V0 = 15  # release: G = 1 / (1 + exp(-kappa (v - V0))) = (1 + tanh(kappa (v - V0) / 2)) / 2
P_HALF_KAPPA = 16
P_K_R = 17  # dt / tau_R, 2**-32
P_ALPHA = 18  # sAHP coupling alpha, 2**-16
P_K_S = 19  # dt / tau_S, 2**-36
P_C_S = 20  # gamma * dt, 2**-36
P_K_E = 21  # dt / tau_ACh, 2**-32
P_B_E = 22  # beta * dt, 2**-32
P_DELTA = 23  # ACh sensitivity delta, 2**-8
P_D_DT = 24  # D * dt, um**2 in 2**-16 (the lattice gives 1 / h**2)
P_NOISE_U32 = 25  # probability of a noise event per cell and noise period, 2**-32
P_NOISE_STEPS = 26  # steps per noise period
P_THRESHOLD = 27  # a cell is active while v > threshold, 2**-20 mV
P_V_INIT = 28  # resting voltage every cell starts at, 2**-20 mV
P_VALUE_LO = 29  # graded readout: v mapped from [lo, lo + span] to [0, 1], 2**-20 mV ...
P_VALUE_INV_SPAN = 30  # ... and 1 / span, 2**-32 per mV
N_PARAMS = 31

# Layout of the int32 ``table`` (wavesim.models.lansdell2014.tables).
T_INV_H2 = 0  # 1 / spacing**2, um**-2 in 2**-36
T_TANH = 1
T_COSH = T_TANH + TABLE_LEN
TABLE_SIZE = T_COSH + TABLE_LEN

STREAM_NOISE = 21


def build_rule(jit):
    """Compile the rule with ``jit``: ``init``, ``step``, ``active``, ``value`` and helpers, in a namespace."""
    draw_u32 = build_random(jit).draw_u32
    fp = build_fixed_point(jit)
    lookup, argument, gate, current, half = fp.lookup, fp.argument, fp.gate, fp.current, fp.half

    @jit
    def rates(v, r, s, e, g_noise, prow, table):
        """One step's increments of (v, r, s, e) at this state: dt times the right-hand sides."""
        m_ca = gate(table, T_TANH, argument(v, prow[P_V1], prow[P_INV_V2]))
        r_inf = gate(table, T_TANH, argument(v, prow[P_V3], prow[P_INV_V4]))
        lam = lookup(table, T_COSH, argument(v, prow[P_V3], prow[P_INV_2V4]))
        release = gate(table, T_TANH, argument(v, prow[P_V0], prow[P_HALF_KAPPA]))
        e22 = e >> 4
        x = ((((e22 * e22) >> 14) * prow[P_DELTA]) >> 8)  # delta * e**2, 2**-30
        bound = ONE_Q30 - (np.int64(1) << 60) // (x + ONE_Q30)  # delta e**2 / (1 + delta e**2)
        dv = -(current(prow[P_G_CA], m_ca, v - prow[P_E_CA])
               + current(prow[P_G_K], r, v - prow[P_E_K])
               + current(prow[P_G_L], ONE_Q30, v - prow[P_E_L])
               + current(prow[P_G_ACH], bound, v - prow[P_E_ACH])
               + current(g_noise, ONE_Q30, v - prow[P_E_NOISE]))
        alpha_s = (prow[P_ALPHA] * s) >> 22  # alpha * s, 2**-20
        drive = ((lam * (r_inf - r)) >> 20) + ((alpha_s * (ONE_Q30 - r)) >> 20)
        dr = ((drive >> 8) * prow[P_K_R] + (1 << 23)) >> 24
        ds = ((release * prow[P_C_S] + (np.int64(1) << 39)) >> 40) - ((s * prow[P_K_S] + (np.int64(1) << 35)) >> 36)
        de = ((release * prow[P_B_E] + (np.int64(1) << 35)) >> 36) - ((e * prow[P_K_E] + (np.int64(1) << 31)) >> 32)
        return dv, dr, ds, de

    @jit
    def noise_conductance(t, key, cell, prow):
        """The noise conductance of step ``t``: on for a whole noise period with its probability."""
        p = prow[P_NOISE_U32]
        if p == 0:
            return np.int64(0)
        period = (np.int64(t) - 1) // prow[P_NOISE_STEPS]
        if np.int64(draw_u32(key, STREAM_NOISE, period, cell)) < p:
            return prow[P_G_NOISE]
        return np.int64(0)

    @jit
    def cell_step(t, v, r, s, e, inp_e, key, cell, prow, table):
        """Advance one cell to the end of step ``t``; return (v, r, s, e)."""
        rate_q32 = (prow[P_D_DT] * np.int64(table[T_INV_H2]) + (1 << 19)) >> 20  # D dt / h**2
        e = e + ((rate_q32 * (inp_e - 4 * e) + (np.int64(1) << 31)) >> 32)
        g_noise = noise_conductance(t, key, cell, prow)
        dv, dr, ds, de = rates(v, r, s, e, g_noise, prow, table)
        dv, dr, ds, de = rates(v + half(dv), r + half(dr), s + half(ds), e + half(de), g_noise, prow, table)
        v = min(max(v + dv, -V_LIMIT), V_LIMIT)
        r = min(max(r + dr, 0), INT32_MAX)
        s = min(max(s + ds, 0), INT32_MAX)
        e = min(max(e + de, 0), E_LIMIT)
        return v, r, s, e

    @jit
    def init(state, plane, i, key, cell, site, prow, table):
        """Initial state of cell ``i``: at rest (the authors' homogeneous start), ``r = s = e = 0``."""
        j = np.uint64(i)
        p = np.uint64(plane)
        state[j] = prow[P_V_INIT] if site[cell] != 0 else V_ABSENT
        state[p + j] = 0
        state[p + p + j] = 0
        state[p + p + p + j] = 0

    @jit
    def active(state, plane, i, t, prow):
        """Whether cell ``i`` is active (``v`` above the threshold) at the end of step ``t``."""
        return state[np.uint64(i)] > prow[P_THRESHOLD]

    @jit
    def value(state, plane, i, t, prow):
        """Graded readout of cell ``i``: ``v`` mapped from [lo, lo + span] onto [0, 65535], clipped."""
        v = np.int64(state[np.uint64(i)])
        if v == V_ABSENT:
            return 0
        q = ((v - prow[P_VALUE_LO]) * prow[P_VALUE_INV_SPAN]) >> 36
        return min(max(q, 0), 65535)

    @jit
    def step(state, plane, i, t, inp, key, cell, site, prow, table):
        """Advance cell ``i`` to the end of step ``t``: 1 if active then, 0 if not, -1 if no cell is here.

        ``inp[0]`` is the sum of ``e`` over the cell's four neighbours at the
        end of step ``t - 1`` (mirrored at the edges).
        """
        if site[cell] == 0:
            return -1
        j = np.uint64(i)
        p = np.uint64(plane)
        v, r, s, e = cell_step(t, np.int64(state[j]), np.int64(state[p + j]), np.int64(state[p + p + j]),
                               np.int64(state[p + p + p + j]), np.int64(inp[0]), key, cell, prow, table)
        state[j] = v
        state[p + j] = r
        state[p + p + j] = s
        state[p + p + p + j] = e
        return 1 if v > prow[P_THRESHOLD] else 0

    return SimpleNamespace(init=init, step=step, active=active, value=value, cell_step=cell_step, rates=rates,
                           noise_conductance=noise_conductance, pull_fields=PULL_FIELDS)
