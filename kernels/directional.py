"""The directional model's per-cell rule (May et al. 2025 after Teh et al. 2023), written once for every runner.

:func:`build_rule` takes a decorator (``numba.njit`` or
``numba.cuda.jit(device=True, inline=True)``) and returns the rule's scalar
functions compiled with it. The model's description, units and presets are
in :mod:`wavesim.models.directional`.

The lattice is a square grid (:class:`wavesim.lattice.SquareLattice`) whose
neighbour weights are ``1 << k`` for direction ``k``, so a cell's summed
input is the bit mask of the directions from which a neighbour that began
its ON signal one step earlier could reach it. Each such neighbour gives the
cell one Bernoulli chance with the probability of its own wave's kernel in
that direction; the neighbour's wave (direction class) is read from its
state, which no cell writes in this step (it is refractory), so the read is
race-free on every runner.

State: two int32 fields per cell, planes of one (S, B, R, C) array read
through a flat view: ``onset`` (the step of the cell's last activation) and
``wave`` (the direction class 0..7 of the wave that activated it, at
``k * 45`` degrees as in :data:`wavesim.lattice.SQUARE_DR`; class 8 is
-180 degrees, which the released script of May et al. keeps apart from
+180 when it does not wrap angle differences).
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from .random import build_random

STATE_FIELDS = ("onset", "wave")

# Index of each quantity in a batch element's row of integer parameters
# (filled by wavesim.models.directional.quantise).
P_CONTINUOUS = 0  # 1: waves start as a Poisson process; 0: one wave from an initiation point at step 0
P_ON_LO = 1  # a cell is lit while on_lo <= age <= on_hi (ON signal) ...
P_ON_HI = 2
P_OFF_LO = 3  # ... or off_lo <= age <= off_hi (OFF signal); age = steps since activation
P_OFF_HI = 4
P_REFRACTORY = 5  # a cell can activate again once age > this
P_SPREAD_AGE = 6  # a cell spreads at the step after its ON signal begins (age == tau_ON)
P_START_U32 = 7  # continuous mode: per-step probability that a resting cell starts a wave, 2**-32
P_DIRECTIONAL = 8  # 1: inhibition point normal around the nose; 0: uniform on the grid
P_NOSE_ROW_Q16 = 9  # nose position as fractions of the grid's rows and columns, 2**-16
P_NOSE_COL_Q16 = 10
P_SD_Q16 = 11  # sd of the inhibition point around the nose, cells, 2**-16
P_TRUNCATE = 12  # 1: the inhibition point is truncated to whole cells (the released script)
P_INIT_MARGIN = 13  # initiation rows and columns are drawn from [0, n - margin)
P_MINUS_180 = 14  # 1: a direction rounded to -180 degrees (dy < 0) is class 8, with a kernel of its own
P_THR = 16  # 72 thresholds: P_THR + 8 * wave class + direction, propagation probability in 2**-32
N_CLASSES = 9  # 8 directions at k * 45 degrees, and -180 degrees (class 8)
N_PARAMS = P_THR + 8 * N_CLASSES

# Layout of the int32 ``table`` (wavesim.models.directional.tables).
T_ROWS = 0
T_COLS = 1
T_OFFSET = 2  # 8 flat offsets dr * C + dc, one per direction
T_NORMAL = 10  # inverse standard-normal CDF, 2**-16 (as the amacrine model's)

#: ``onset`` of a cell that has never activated.
ONSET_NEVER = -(1 << 30)
#: ``onset`` of a lattice site that holds no cell (outside a disc retina).
ONSET_ABSENT = -(1 << 31)

STREAM_ORIGIN = 11  # wave mode: initiation point (tries), inhibition point
STREAM_SPREAD = 12  # one Bernoulli per (step, cell, direction)
STREAM_START = 13  # continuous mode: a resting cell starts a wave
STREAM_START_AI = 14  # continuous mode: the new wave's inhibition point

#: Tries at an initiation point that holds a cell (a disc retina covers pi/4 of its square).
ORIGIN_TRIES = 64
#: tan(22.5 degrees) in units of 2**-32: the boundary between rounding an angle to 0 or 45 degrees.
TAN_22_5_Q32 = 1779033704

_S16 = np.uint64(16)
_MASK16 = np.uint64(0xFFFF)


def build_rule(jit):
    """Compile the rule with ``jit``: ``init``, ``step``, ``active``, ``spreading`` and helpers, in a namespace."""
    draw_u32 = build_random(jit).draw_u32

    @jit
    def normal_q16(u, table):
        """Standard normal draw in units of 2**-16 from a uniform 32-bit ``u`` (table from T_NORMAL)."""
        idx = np.int64(u >> _S16) + T_NORMAL
        frac = np.int64(u & _MASK16)
        lo = np.int64(table[idx])
        hi = np.int64(table[idx + 1])
        return lo + (((hi - lo) * frac) >> 16)

    @jit
    def uniform_below(u, n):
        """An integer uniform in [0, n) from a uniform 32-bit ``u``."""
        return (np.int64(u) * np.int64(n)) >> 32

    @jit
    def angle_class(dy_q16, dx_q16):
        """``round(atan2(dy, dx) / 45 degrees) mod 8`` in integers (0 for dy = dx = 0, as the script's phase(0))."""
        ax = dx_q16 if dx_q16 >= 0 else -dx_q16
        ay = dy_q16 if dy_q16 >= 0 else -dy_q16
        while ax >= (1 << 30) or ay >= (1 << 30):  # only the ratio counts; keep the products below 2**63
            ax >>= 1
            ay >>= 1
        # Octant of the first quadrant: 0, 1 (45 degrees) or 2 (90 degrees).
        if ay == 0 or (ay << 32) < TAN_22_5_Q32 * ax:
            o = 0
        elif (ax << 32) < TAN_22_5_Q32 * ay:
            o = 2
        else:
            o = 1
        if dx_q16 < 0:
            o = 4 - o
        if dy_q16 < 0:
            o = 8 - o
        return o & 7

    @jit
    def wave_class(dy_q16, dx_q16, prow):
        """The wave's class: :func:`angle_class`, or 8 where the angle rounds to -180 degrees and the
        parameters keep that branch apart (``P_MINUS_180``; ``cmath.phase`` is -pi..-7pi/8 there)."""
        o = angle_class(dy_q16, dx_q16)
        if o == 4 and dy_q16 < 0 and prow[P_MINUS_180] != 0:
            return np.int64(8)
        return o

    @jit
    def inhibition_point(key, stream, step, idx, prow, table):
        """(row, col) of a wave's inhibition point in cells, 2**-16."""
        R = np.int64(table[T_ROWS])
        C = np.int64(table[T_COLS])
        margin = prow[P_INIT_MARGIN]
        u_r = draw_u32(key, stream, step, 2 * idx)
        u_c = draw_u32(key, stream, step, 2 * idx + 1)
        if prow[P_DIRECTIONAL]:
            sd = prow[P_SD_Q16]
            ai_r = prow[P_NOSE_ROW_Q16] * R + ((sd * normal_q16(u_r, table)) >> 16)
            ai_c = prow[P_NOSE_COL_Q16] * C + ((sd * normal_q16(u_c, table)) >> 16)
            if prow[P_TRUNCATE]:
                # Python's int(): toward zero.
                ai_r = (ai_r >> 16) << 16 if ai_r >= 0 else -(((-ai_r) >> 16) << 16)
                ai_c = (ai_c >> 16) << 16 if ai_c >= 0 else -(((-ai_c) >> 16) << 16)
        else:
            ai_r = uniform_below(u_r, R - margin) << 16
            ai_c = uniform_below(u_c, C - margin) << 16
        return ai_r, ai_c

    @jit
    def wave_origin(key, site, prow, table):
        """Wave mode: the initiation cell (flat index, or -1 if no try hit a cell) and the wave's class."""
        R = np.int64(table[T_ROWS])
        C = np.int64(table[T_COLS])
        margin = prow[P_INIT_MARGIN]
        for attempt in range(ORIGIN_TRIES):
            r = uniform_below(draw_u32(key, STREAM_ORIGIN, attempt, 0), R - margin)
            c = uniform_below(draw_u32(key, STREAM_ORIGIN, attempt, 1), C - margin)
            if site[np.uint64(r * C + c)] != 0:
                ai_r, ai_c = inhibition_point(key, STREAM_ORIGIN, attempt, 1, prow, table)
                return r * C + c, wave_class((r << 16) - ai_r, (c << 16) - ai_c, prow)
        return np.int64(-1), np.int64(0)

    @jit
    def init(state, plane, i, key, cell, site, prow, table):
        """Initial state of cell ``i``: never active (``seed`` then starts the wave of wave mode)."""
        j = np.uint64(i)
        state[j] = ONSET_NEVER if site[np.uint64(cell)] != 0 else ONSET_ABSENT
        state[np.uint64(plane) + j] = 0

    @jit
    def seed(state, plane, base, key, site, prow, table):
        """After ``init``, once per retina (cells from ``base``): wave mode activates the initiation cell at step 0.

        Returns that cell (index within the retina), or -1.
        """
        if prow[P_CONTINUOUS] != 0:
            return np.int64(-1)
        origin, cls = wave_origin(key, site, prow, table)
        if origin >= 0:
            j = np.uint64(base + origin)
            state[j] = 0
            state[np.uint64(plane) + j] = cls
        return origin

    @jit
    def lit(age, prow):
        return (age >= prow[P_ON_LO] and age <= prow[P_ON_HI]) or (age >= prow[P_OFF_LO] and age <= prow[P_OFF_HI])

    @jit
    def active(state, plane, i, t, prow):
        """Whether cell ``i`` is lit (ON or OFF signal) at the end of step ``t``: what frames show."""
        return lit(np.int64(t) - np.int64(state[np.uint64(i)]), prow)

    @jit
    def spreading(state, plane, i, t, prow):
        """Whether cell ``i``'s ON signal began at step ``t``: it gives its neighbours a chance at ``t + 1``."""
        return np.int64(t) - np.int64(state[np.uint64(i)]) == prow[P_SPREAD_AGE]

    @jit
    def step(state, plane, i, t, inp, key, cell, site, prow, table):
        """Advance cell ``i`` to the end of step ``t``; -1 if no cell is here, else ``spreads | lit << 1``.

        ``inp`` is the bit mask of the directions ``k`` (source to this
        cell) of the neighbours that spread at ``t``.
        """
        j = np.uint64(i)
        p = np.uint64(plane)
        onset = np.int64(state[j])
        if onset == ONSET_ABSENT:
            return -1
        t = np.int64(t)
        if t - onset > prow[P_REFRACTORY]:
            fired = False
            wave = np.int64(0)
            if inp != 0:
                for k in range(8):
                    if (inp >> k) & 1:
                        source = np.uint64(np.int64(i) - np.int64(table[T_OFFSET + k]))
                        src_wave = np.int64(state[p + source])
                        u = np.int64(draw_u32(key, STREAM_SPREAD, t, 8 * np.int64(cell) + k))
                        if u < prow[P_THR + 8 * src_wave + k]:
                            fired = True
                            wave = src_wave
                            break
            start = prow[P_START_U32]
            if not fired and start > 0:
                if np.int64(draw_u32(key, STREAM_START, t, cell)) < start:
                    fired = True
                    C = np.int64(table[T_COLS])
                    r = np.int64(cell) // C
                    c = np.int64(cell) - r * C
                    ai_r, ai_c = inhibition_point(key, STREAM_START_AI, t, cell, prow, table)
                    wave = wave_class((r << 16) - ai_r, (c << 16) - ai_c, prow)
            if fired:
                onset = t
                state[j] = t
                state[p + j] = wave
        age = t - onset
        out = 2 if lit(age, prow) else 0
        if age == prow[P_SPREAD_AGE]:
            out += 1
        return out

    return SimpleNamespace(init=init, seed=seed, step=step, active=active, spreading=spreading, wave_origin=wave_origin,
                           inhibition_point=inhibition_point, angle_class=angle_class, wave_class=wave_class,
                           normal_q16=normal_q16, step_flags=True)
