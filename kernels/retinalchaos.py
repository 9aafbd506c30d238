"""The RetinalChaos model's per-cell rule (Tarchick et al.), written once for every runner.

:func:`build_rule` takes a decorator (``numba.njit`` or
``numba.cuda.jit(device=True, inline=True)``) and returns the rule's scalar
functions compiled with it. The model's equations, units and parameters are
in :mod:`wavesim.models.retinalchaos`; its references in
:mod:`wavesim.models.retinalchaos_reference`.

State: eight int32 fields per cell in fixed point (``STATE_FIELDS``):
voltage ``v`` (mV, 2**-20), K gating ``n`` (2**-30), calcium ``c``
(2**-26), sAHP gates ``a`` and ``b`` (2**-30), acetylcholine ``e`` and
GABA ``i`` (2**-24) and the noise current ``w`` (pA, 2**-20). All
arithmetic is on 64-bit integers; tanh, cosh and the normal draws come from
tables (:mod:`wavesim.kernels.fixed_point`, the amacrine model's inverse
normal CDF), so every runner computes the same bits.

Coupling is by diffusion of ``e`` and ``i``: before each step the runner
pulls three sums over the four lattice neighbours at the end of the previous
step, mirrored at the edges (``PULL_FIELDS`` and the model's ``pull_w``):
``inp[0]``, the sum of ``e``; ``inp[1]``, the sum of ``i``; ``inp[2]``, ``i``
of the previous row minus ``i`` of the next row (GABA's drift). A step
diffuses ``e`` and ``i`` (one explicit Euler step), advances the reaction
terms by the midpoint Runge-Kutta method, and adds the step's Gaussian
increment to ``w`` (Euler-Maruyama; the noise is additive).
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from .fixed_point import INT32_MAX, ONE_Q30, TABLE_LEN, V_ABSENT, build_fixed_point
from .random import build_random

STATE_FIELDS = ("v", "n", "c", "a", "b", "e", "i", "w")
F_V, F_N, F_C, F_A, F_B, F_E, F_I, F_W = range(8)
#: The field each pulled sum reads: ``inp[k]`` sums field ``PULL_FIELDS[k]`` with the weights ``pull_w[k]``.
PULL_FIELDS = (F_E, F_I, F_I)
#: The state field the readout thresholds (``active``) or shows graded (``value``): calcium, which stays up
#: through a burst, where the voltage is above a spike threshold for a few percent of it.
READOUT_FIELD = F_C

V_SHIFT, N_SHIFT, C_SHIFT, A_SHIFT, B_SHIFT, E_SHIFT, I_SHIFT, W_SHIFT = 20, 30, 26, 30, 30, 24, 24, 20
#: Clamps that keep every product below 2**63.
V_LIMIT = 512 << V_SHIFT
C_LIMIT = (4 << C_SHIFT) - 1
E_LIMIT = (8 << E_SHIFT) - 1
W_LIMIT = 1024 << W_SHIFT
#: alpha * c**4 is held below this (2**-18): a saturates within milliseconds long before.
X_LIMIT = 4096 << 18

# Row of integer parameters (wavesim.models.retinalchaos.quantise). Conductances per step:
# g * dt / C_m, 2**-32; voltages and currents 2**-20; inverse slopes 2**-32 per mV.
P_G_LEAK = 0
P_G_CA = 1
P_G_K = 2
P_G_TREK = 3
P_G_ACH = 4
P_G_GABA = 5
P_K_CURRENT = 6  # dt / C_m per pA, 2**-32
P_E_LEAK = 7
P_E_CA = 8
P_E_K = 9
P_E_ACH = 10
P_E_CL = 11
P_V1 = 12
P_V3 = 13
P_V0_E = 14
P_V0_I = 15
P_THRESHOLD = 16  # a cell is active while c > threshold, 2**-26
P_VALUE_LO = 17  # graded readout: c mapped from [lo, lo + span] to [0, 1], 2**-26 ...
P_V_INIT = 18
P_I_APP = 19
P_INV_V2 = 20
P_INV_V4 = 21
P_INV_2V4 = 22
P_HALF_VS_E = 23
P_HALF_VS_I = 24
P_K_N = 25  # dt / tau_n, 2**-32
P_G_CA_Q16 = 26  # g_Ca in nS, 2**-16 (for the calcium influx)
P_C0 = 27  # 2**-26
P_LAMBDA = 28  # 2**-24
P_DELTA = 29  # per pA, 2**-32
P_K_C = 30  # dt / tau_c, 2**-32
P_ALPHA = 31  # 2**-8
P_K_A = 32  # dt / tau_a, 2**-36
P_BETA = 33  # 2**-16
P_K_B = 34  # dt / tau_b, 2**-36
P_K_ACH = 35  # 2**-30
P_RHO_E = 36  # 2**-16
P_K_E = 37  # dt / tau_ACh, 2**-36
P_D_E = 38  # D_e * dt (cells**2), 2**-32
P_K_GABA = 39
P_RHO_I = 40
P_K_I = 41
P_D_I = 42
P_DRIFT = 43  # 2**-16
P_K_W = 44  # dt / tau_w, 2**-32
P_SIGMA = 45  # sigma * sqrt(dt), pA in 2**-32
P_VALUE_INV_SPAN = 46  # ... and 1 / span, 2**-32 per unit of c
P_C_INIT = 47  # initial c, a and b in their fixed-point units
P_A_INIT = 48
P_B_INIT = 49
N_PARAMS = 50

# Layout of the int32 ``table`` (wavesim.models.retinalchaos.tables).
T_TANH = 0
T_COSH = T_TANH + TABLE_LEN
T_NORMAL = T_COSH + TABLE_LEN  # inverse standard-normal CDF, 2**-16, 65537 entries (as the amacrine model's)
TABLE_SIZE = T_NORMAL + (1 << 16) + 1

STREAM_NOISE = 31

_S16 = np.uint64(16)
_MASK16 = np.uint64(0xFFFF)


def build_rule(jit):
    """Compile the rule with ``jit``: ``init``, ``step``, ``active``, ``value`` and helpers, in a namespace."""
    draw_u32 = build_random(jit).draw_u32
    fp = build_fixed_point(jit)
    lookup, argument, gate, current, half = fp.lookup, fp.argument, fp.gate, fp.current, fp.half

    @jit
    def bound(x_q24, k_q30):
        """``x**2 / (x**2 + k)`` in 2**-30."""
        x2 = (x_q24 * x_q24) >> 18
        return ONE_Q30 - (k_q30 << 30) // (x2 + k_q30)

    @jit
    def normal_q16(u, table):
        """Standard normal draw in 2**-16 from a uniform 32-bit ``u`` (inverse CDF, interpolated)."""
        k = T_NORMAL + np.int64(u >> _S16)
        lo = np.int64(table[k])
        hi = np.int64(table[k + 1])
        return lo + (((hi - lo) * np.int64(u & _MASK16)) >> 16)

    @jit
    def rates(v, n, c, a, b, e, i, w, prow, table):
        """One step's increments of (v, n, c, a, b, e, i, w) without diffusion and noise."""
        m_ca = gate(table, T_TANH, argument(v, prow[P_V1], prow[P_INV_V2]))
        n_inf = gate(table, T_TANH, argument(v, prow[P_V3], prow[P_INV_V4]))
        lam = lookup(table, T_COSH, argument(v, prow[P_V3], prow[P_INV_2V4]))
        phi_e = gate(table, T_TANH, argument(v, prow[P_V0_E], prow[P_HALF_VS_E]))
        phi_i = gate(table, T_TANH, argument(v, prow[P_V0_I], prow[P_HALF_VS_I]))
        dv = ((prow[P_I_APP] + w) * prow[P_K_CURRENT] + (1 << 31)) >> 32
        dv -= (current(prow[P_G_LEAK], ONE_Q30, v - prow[P_E_LEAK])
               + current(prow[P_G_CA], m_ca, v - prow[P_E_CA])
               + current(prow[P_G_K], n, v - prow[P_E_K])
               + current(prow[P_G_TREK], b, v - prow[P_E_K])
               + current(prow[P_G_ACH], bound(e, prow[P_K_ACH]), v - prow[P_E_ACH])
               + current(prow[P_G_GABA], bound(i, prow[P_K_GABA]), v - prow[P_E_CL]))
        dn = ((((lam * (n_inf - n)) >> 20) >> 8) * prow[P_K_N] + (1 << 23)) >> 24
        influx = (((prow[P_G_CA_Q16] * m_ca) >> 30) * (prow[P_E_CA] - v)) >> 20  # Ca current, pA in 2**-16
        drive_c = prow[P_C0] + ((prow[P_DELTA] * influx) >> 22) - ((prow[P_LAMBDA] * c) >> 24)
        dc = (drive_c * prow[P_K_C] + (np.int64(1) << 31)) >> 32
        c2 = (c * c) >> 24  # 2**-28
        x = min((prow[P_ALPHA] * (((c2 >> 2) * (c2 >> 2)) >> 26)) >> 16, X_LIMIT)  # alpha c**4, 2**-18
        drive_a = ((x * (ONE_Q30 - a)) >> 18) - a
        da = ((drive_a >> 10) * prow[P_K_A] + (1 << 25)) >> 26
        a2 = (a * a) >> 30
        y = (prow[P_BETA] * ((a2 * a2) >> 30)) >> 26  # beta a**4, 2**-20
        drive_b = ((y * (ONE_Q30 - b)) >> 20) - b
        db = ((drive_b >> 10) * prow[P_K_B] + (1 << 25)) >> 26
        de = ((((prow[P_RHO_E] * phi_e) >> 22) - e) * prow[P_K_E] + (np.int64(1) << 35)) >> 36
        di = ((((prow[P_RHO_I] * phi_i) >> 22) - i) * prow[P_K_I] + (np.int64(1) << 35)) >> 36
        dw = -((w * prow[P_K_W] + (np.int64(1) << 31)) >> 32)
        return dv, dn, dc, da, db, de, di, dw

    @jit
    def cell_step(t, u, inp_e, inp_i, inp_drift, key, cell, prow, table):
        """Advance one cell's state ``u`` (an 8-tuple of int64) to the end of step ``t``; return the new tuple."""
        v, n, c, a, b, e, i, w = u
        e = e + ((prow[P_D_E] * (inp_e - 4 * e) + (np.int64(1) << 31)) >> 32)
        lap_i = inp_i - 4 * i + ((prow[P_DRIFT] * inp_drift + (1 << 15)) >> 16)
        i = i + ((prow[P_D_I] * lap_i + (np.int64(1) << 31)) >> 32)
        k = rates(v, n, c, a, b, e, i, w, prow, table)
        k = rates(v + half(k[0]), n + half(k[1]), c + half(k[2]), a + half(k[3]), b + half(k[4]), e + half(k[5]),
                  i + half(k[6]), w + half(k[7]), prow, table)
        z = normal_q16(draw_u32(key, STREAM_NOISE, t, cell), table)
        w = w + k[7] + ((prow[P_SIGMA] * z + (1 << 27)) >> 28)
        return (min(max(v + k[0], -V_LIMIT), V_LIMIT), min(max(n + k[1], 0), INT32_MAX),
                min(max(c + k[2], 0), C_LIMIT), min(max(a + k[3], 0), ONE_Q30), min(max(b + k[4], 0), ONE_Q30),
                min(max(e + k[5], 0), E_LIMIT), min(max(i + k[6], 0), E_LIMIT), min(max(w, -W_LIMIT), W_LIMIT))

    @jit
    def init(state, plane, i, key, cell, site, prow, table):
        """Initial state of cell ``i`` (the authors' conds.json); ``v`` marks a site without a cell."""
        j = np.uint64(i)
        p = np.uint64(plane)
        state[j] = prow[P_V_INIT] if site[cell] != 0 else V_ABSENT
        state[p + j] = 0
        state[np.uint64(2) * p + j] = prow[P_C_INIT]
        state[np.uint64(3) * p + j] = prow[P_A_INIT]
        state[np.uint64(4) * p + j] = prow[P_B_INIT]
        for f in range(5, 8):
            state[np.uint64(f) * p + j] = 0

    @jit
    def active(state, plane, i, t, prow):
        """Whether cell ``i`` is active (calcium ``c`` above the threshold) at the end of step ``t``."""
        j = np.uint64(i)
        return state[j] != V_ABSENT and state[np.uint64(2) * np.uint64(plane) + j] > prow[P_THRESHOLD]

    @jit
    def value(state, plane, i, t, prow):
        """Graded readout of cell ``i``: ``c`` mapped from [lo, lo + span] onto [0, 65535], clipped."""
        j = np.uint64(i)
        if state[j] == V_ABSENT:
            return 0
        c = np.int64(state[np.uint64(2) * np.uint64(plane) + j])
        q = ((c - prow[P_VALUE_LO]) * prow[P_VALUE_INV_SPAN]) >> 42
        return min(max(q, 0), 65535)

    @jit
    def step(state, plane, i, t, inp, key, cell, site, prow, table):
        """Advance cell ``i`` to the end of step ``t``: 1 if active then, 0 if not, -1 if no cell is here.

        ``inp`` holds the three pulled sums of the end of step ``t - 1`` (module docstring).
        """
        if site[cell] == 0:
            return -1
        j = np.uint64(i)
        p = np.uint64(plane)
        u = (np.int64(state[j]), np.int64(state[p + j]), np.int64(state[np.uint64(2) * p + j]),
             np.int64(state[np.uint64(3) * p + j]), np.int64(state[np.uint64(4) * p + j]),
             np.int64(state[np.uint64(5) * p + j]), np.int64(state[np.uint64(6) * p + j]),
             np.int64(state[np.uint64(7) * p + j]))
        u = cell_step(t, u, np.int64(inp[0]), np.int64(inp[1]), np.int64(inp[2]), key, cell, prow, table)
        for f in range(8):
            state[np.uint64(f) * p + j] = u[f]
        return 1 if u[2] > prow[P_THRESHOLD] else 0

    return SimpleNamespace(init=init, step=step, active=active, value=value, cell_step=cell_step, rates=rates,
                           normal_q16=normal_q16, pull_fields=PULL_FIELDS)
