"""The per-cell update rule, written once and compiled for the CPU and the GPU.

:func:`build_rule` takes a decorator (``numba.njit`` or
``numba.cuda.jit(device=True)``) and returns the rule's scalar functions
compiled with it; ``backends/cpu.py`` loops over cells with the first,
``kernels/step.py`` launches one thread per cell with the second. Both call
the same source, so the backends cannot drift apart.

Random numbers come from a counter-based hash of (retina key, stream, step,
cell): no generator state, the same draw on any backend and in any order.
All arithmetic is on 64-bit integers (fixed point, see
:mod:`wavesim.models.amacrine`), which keeps the results bit-identical
across compilers, including those that fuse multiply-adds.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from .models.amacrine import (
    P_ALPHA_Q30,
    P_DECAY_BASE_Q36,
    P_DSTEPS,
    P_H2C_Q30,
    P_JITTER_Q16,
    P_RISE0_Q20,
    P_SPONT_U32,
)

#: ``onset`` of a cell that has never depolarised.
ONSET_NEVER = -(1 << 30)
#: ``onset`` of a lattice site that holds no cell (outside a disc retina); such sites are skipped.
ONSET_ABSENT = -(1 << 31)
INT32_MAX = (1 << 31) - 1

STREAM_INIT_THRESHOLD = 1
STREAM_DECAY = 2
STREAM_SPONTANEOUS = 3

# splitmix64 constants; numpy scalars so that numba types them as uint64.
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_STEP_MUL = np.uint64(0xD1B54A32D192ED03)
_S27, _S30, _S31, _S32, _S16 = (np.uint64(k) for k in (27, 30, 31, 32, 16))
_MASK16 = np.uint64(0xFFFF)

_THRESH_LOW_Q20 = 1 << 19  # 0.5
_THRESH_SPAN_Q20 = 9 << 19  # 4.5


def build_rule(jit):
    """Compile the rule's scalar functions with ``jit`` and return them in a namespace."""

    @jit
    def mix64(x):
        # splitmix64 finaliser: a bijection of uint64 with full avalanche.
        x = (x ^ (x >> _S30)) * _M1
        x = (x ^ (x >> _S27)) * _M2
        return x ^ (x >> _S31)

    @jit
    def draw_u32(key, stream, step, cell):
        """Uniform integer in [0, 2**32) for (key, stream, step, cell), as uint64."""
        h = mix64(key ^ (np.uint64(stream) * _GOLDEN))
        h = mix64(h + np.uint64(step) * _STEP_MUL)
        h = mix64(h + np.uint64(cell))
        return h >> _S32

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
    def init_cell(key, cell, frac_q16, prow, table):
        """Initial (onset, exc, thresh, decay): off, no excitation, thresh ~ U(0.5, 5).

        A lattice site without a cell (``frac_q16 == 0``) gets ``ONSET_ABSENT``,
        which the backends test to skip it.
        """
        if frac_q16 == 0:
            return ONSET_ABSENT, 0, np.int64(0), np.int64(0)
        u = np.int64(draw_u32(key, STREAM_INIT_THRESHOLD, 0, cell))
        thresh = _THRESH_LOW_Q20 + ((u * _THRESH_SPAN_Q20) >> 32)
        decay = draw_decay_q20(key, 0, cell, frac_q16, prow, table)
        return ONSET_NEVER, 0, thresh, decay

    @jit
    def is_depolarised(t, onset, dsteps):
        """Whether a cell with this onset is depolarised at the end of step ``t``."""
        age = np.int64(t) - np.int64(onset)
        return age >= 0 and age < dsteps

    @jit
    def cell_step(t, onset, exc, thresh, decay, inp, key, cell, frac, prow, table):
        """Advance one cell to the end of step ``t``; return (onset, exc, thresh, decay).

        ``frac`` is the flat (R * C) neighbour-fraction array, read only when a
        decay is redrawn; ``cell`` indexes it. Callers skip ``ONSET_ABSENT`` sites.

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
                decay = draw_decay_q20(key, t, cell, frac[cell], prow, table)
            else:
                depolarised_now = True
        else:
            if inp != exc:  # the filter leaves exc == inp unchanged; skip its multiply
                exc = exc + (((inp - exc) * prow[P_ALPHA_Q30] + (1 << 29)) >> 30)
                if exc < 0:
                    exc = np.int64(0)
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
        return onset, exc, thresh, decay

    @jit
    def calcium_step(ca_q16, active, alpha_q30):
        """Low-pass filter of activity (0 or 1), in units of 2**-16."""
        ca_q16 = np.int64(ca_q16)
        target = np.int64(active) << 16
        return ca_q16 + (((target - ca_q16) * alpha_q30 + (1 << 29)) >> 30)

    return SimpleNamespace(
        mix64=mix64,
        draw_u32=draw_u32,
        normal_q16=normal_q16,
        draw_decay_q20=draw_decay_q20,
        init_cell=init_cell,
        is_depolarised=is_depolarised,
        cell_step=cell_step,
        calcium_step=calcium_step,
    )


def retina_keys(seeds) -> np.ndarray:
    """(B,) uint64 keys of the counter-based generator, one per retina seed.

    Seeds are non-negative integers below 2**63; equal seeds give equal movies.
    """
    seeds = np.asarray(seeds, dtype=np.uint64)
    with np.errstate(over="ignore"):
        x = seeds * _GOLDEN + np.uint64(0x632BE59BD9B4E019)
        x = (x ^ (x >> _S30)) * _M1
        x = (x ^ (x >> _S27)) * _M2
        return x ^ (x >> _S31)


def build_readout(jit, rule):
    """Compile the per-pixel readout with ``jit``; ``rule`` is the namespace of :func:`build_rule`."""
    is_depolarised = rule.is_depolarised

    @jit
    def pixel_value(b, pix, t, onset, ca, use_calcium, dsteps, pixel_ptr, cell_rows, cell_cols):
        """uint8 value of one pixel at the end of step ``t``.

        Binary: 1 if at least half of the pixel's cells are depolarised.
        Calcium: mean filtered activity of the pixel's cells, times 255, rounded.
        A pixel with no cell reads 0.
        """
        start = pixel_ptr[pix]
        n = np.int64(pixel_ptr[pix + 1]) - np.int64(start)
        if n == 0:
            return 0
        total = np.int64(0)
        for i in range(start, start + n):
            r = cell_rows[i]
            c = cell_cols[i]
            if use_calcium:
                total += np.int64(ca[b, r, c])
            elif is_depolarised(t, onset[b, r, c], dsteps):
                total += 1
        if use_calcium:
            return (total * 255 + (n << 15)) // (n << 16)
        return 1 if 2 * total >= n else 0

    return SimpleNamespace(pixel_value=pixel_value)
