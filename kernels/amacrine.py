"""The amacrine-cell model's per-cell rule, written once for every runner.

:func:`build_rule` takes a decorator (``numba.njit`` or
``numba.cuda.jit(device=True, inline=True)``) and returns the rule's scalar
functions compiled with it; :mod:`wavesim.kernels.cpu` and
:mod:`wavesim.kernels.cuda` loop over cells with them. The model's
equations, units and quantisation are in :mod:`wavesim.models.amacrine`.

State: four int32 fields per cell, planes of one (S, B, R, C) array read
through a flat view: field ``s`` of cell ``i`` is ``state[s * plane + i]``.
All arithmetic is on 64-bit integers (fixed point), which keeps the results
bit-identical across compilers, including those that fuse multiply-adds.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from .random import build_random

STATE_FIELDS = ("onset", "exc", "thresh", "decay")

# Index of each quantity in a batch element's row of integer parameters
# (filled by wavesim.models.amacrine.quantise).
P_DSTEPS = 0  # steps a depolarisation lasts: first step strictly later than onset + D
P_ALPHA_Q30 = 1  # dt / tau_K in units of 2**-30
P_RISE0_Q20 = 2  # dt * H1 / D per step, 2**-20
P_H2C_Q30 = 3  # dt * H2 / D, 2**-30
P_DECAY_BASE_Q36 = 4  # dt * H1 / P per step, 2**-36
P_JITTER_Q16 = 5  # decay_jitter, 2**-16
P_SPONT_U32 = 6  # per-step probability of a spontaneous depolarisation, 2**-32
N_PARAMS = 7

#: ``onset`` of a cell that has never depolarised.
ONSET_NEVER = -(1 << 30)
#: ``onset`` of a lattice site that holds no cell (outside a disc retina); such sites are skipped.
ONSET_ABSENT = -(1 << 31)
INT32_MAX = (1 << 31) - 1

STREAM_INIT_THRESHOLD = 1
STREAM_DECAY = 2
STREAM_SPONTANEOUS = 3

THRESH_LOW_Q20 = 1 << 19  # 0.5
THRESH_SPAN_Q20 = 9 << 19  # 4.5

_S16 = np.uint64(16)
_MASK16 = np.uint64(0xFFFF)


def build_rule(jit):
    """Compile the rule with ``jit``: ``init``, ``step``, ``active`` and their helpers, in a namespace.

    ``site`` is the model's per-site table (the flat (R * C) neighbour
    fraction in units of 2**-16, 0 where no cell is) and ``table`` its
    inverse normal CDF table (see :func:`wavesim.models.amacrine.tables`).
    """
    draw_u32 = build_random(jit).draw_u32

    @jit
    def normal_q16(u, table):
        """Standard normal draw in units of 2**-16 from a uniform 32-bit ``u``."""
        idx = np.int64(u >> _S16)
        frac = np.int64(u & _MASK16)
        lo = np.int64(table[idx])
        hi = np.int64(table[idx + 1])
        return lo + (((hi - lo) * frac) >> 16)

    @jit
    def draw_decay_q20(key, step, cell, frac_q16, prow, table):
        """Threshold decay per step: dt * (H1 / P) * (nbr / max_nbr) * N(1, jitter), 2**-20."""
        z = normal_q16(draw_u32(key, STREAM_DECAY, step, cell), table)
        factor_q16 = 65536 + ((prow[P_JITTER_Q16] * z) >> 16)
        if factor_q16 < 0:
            factor_q16 = 0
        scaled_q16 = (np.int64(frac_q16) * factor_q16) >> 16
        return (prow[P_DECAY_BASE_Q36] * scaled_q16 + (1 << 31)) >> 32

    @jit
    def filter_exc(exc, inp, alpha_q30):
        """An off cell's excitation one step on: ``exc += (inp - exc) * dt / tau_K``, rounded, clamped at 0."""
        if inp == exc:  # the filter leaves exc == inp unchanged; skip its multiply
            return exc
        exc = exc + (((inp - exc) * alpha_q30 + (1 << 29)) >> 30)
        if exc < 0:
            exc = np.int64(0)
        return exc

    @jit
    def init(state, plane, i, key, cell, site, prow, table):
        """Initial state of cell ``i``: off, no excitation, thresh ~ U(0.5, 5).

        A lattice site without a cell (``site[cell] == 0``) gets ``ONSET_ABSENT``,
        which :func:`step` answers with -1.
        """
        frac_q16 = site[cell]
        onset = ONSET_ABSENT
        thresh = np.int64(0)
        decay = np.int64(0)
        if frac_q16 != 0:
            onset = ONSET_NEVER
            u = np.int64(draw_u32(key, STREAM_INIT_THRESHOLD, 0, cell))
            thresh = THRESH_LOW_Q20 + ((u * THRESH_SPAN_Q20) >> 32)
            decay = draw_decay_q20(key, 0, cell, frac_q16, prow, table)
        j = np.uint64(i)
        p = np.uint64(plane)
        state[j] = onset
        state[p + j] = 0
        state[p + p + j] = thresh
        state[p + p + p + j] = decay

    @jit
    def depolarised(t, onset, dsteps):
        age = np.int64(t) - np.int64(onset)
        return age >= 0 and age < dsteps

    @jit
    def active(state, plane, i, t, prow):
        """Whether cell ``i`` is depolarised at the end of step ``t``."""
        return depolarised(t, state[np.uint64(i)], prow[P_DSTEPS])

    @jit
    def cell_step(t, onset, exc, thresh, decay, inp, key, cell, site, prow, table):
        """Advance one cell to the end of step ``t``; return (onset, exc, thresh, decay).

        ``inp`` is the summed weight (2**-20) of the neighbours depolarised at
        the end of step ``t - 1``. Order within the step, as in the original:
        cells whose time is up switch off (exc reset, new decay drawn, no
        filtering, no firing); off cells filter their input and fire if
        ``exc >= thresh`` of the previous step (or on a Poisson draw); then
        the threshold moves by ``-decay`` plus, if depolarised now, the rise.
        """
        onset = np.int64(onset)
        exc = np.int64(exc)
        thresh = np.int64(thresh)
        decay = np.int64(decay)
        inp = np.int64(inp)
        dsteps = prow[P_DSTEPS]
        age = np.int64(t) - onset
        depolarised_now = False
        if age >= 1 and age <= dsteps:
            if age == dsteps:
                exc = np.int64(0)
                decay = draw_decay_q20(key, t, cell, site[cell], prow, table)
            else:
                depolarised_now = True
        else:
            exc = filter_exc(exc, inp, prow[P_ALPHA_Q30])
            fire = exc >= thresh
            spont = prow[P_SPONT_U32]
            if not fire and spont > 0:
                fire = np.int64(draw_u32(key, STREAM_SPONTANEOUS, t, cell)) < spont
            if fire:
                onset = np.int64(t)
                depolarised_now = True
        thresh = thresh - decay
        if depolarised_now:
            thresh += prow[P_RISE0_Q20] + ((inp * prow[P_H2C_Q30] + (1 << 29)) >> 30)
        if thresh < 0:
            thresh = np.int64(0)
        if thresh > INT32_MAX:
            thresh = np.int64(INT32_MAX)
        return onset, exc, thresh, decay, depolarised_now

    @jit
    def step(state, plane, i, t, inp, key, cell, site, prow, table):
        """Advance cell ``i`` to the end of step ``t``: 1 if depolarised then, 0 if not, -1 if no cell is here.

        Writes only the fields that change: a quiet cell's onset, exc and decay stay put.
        """
        # Unsigned offsets spare the negative-index wraparound Numba adds to signed ones.
        j = np.uint64(i)
        p = np.uint64(plane)
        o0 = state[j]
        if o0 == ONSET_ABSENT:
            return -1
        e0 = state[p + j]
        th0 = state[p + p + j]
        d0 = state[p + p + p + j]
        o, e, th, d, now = cell_step(t, o0, e0, th0, d0, inp, key, cell, site, prow, table)
        if o != o0:
            state[j] = o
        if e != e0:
            state[p + j] = e
        if th != th0:
            state[p + p + j] = th
        if d != d0:
            state[p + p + p + j] = d
        return 1 if now else 0

    return SimpleNamespace(init=init, step=step, active=active, cell_step=cell_step, filter_exc=filter_exc,
                           draw_decay_q20=draw_decay_q20, normal_q16=normal_q16)
