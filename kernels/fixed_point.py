"""Tabulated nonlinearities for the continuous-state rules, in integers only.

The continuous models (:mod:`wavesim.kernels.lansdell2014`,
:mod:`wavesim.kernels.retinalchaos`) keep their state in fixed point and
evaluate ``tanh`` and ``cosh`` from one model-wide int32 table by linear
interpolation, all in 64-bit integers. Transcendental functions differ in
their last bits between a CPU's libm and CUDA's libdevice; a table read
and an integer interpolation do not, so both backends step the same state
bit for bit. The logistic function is ``(1 + tanh(x / 2)) / 2``.

Every tabulated function is a function of a dimensionless argument ``x``
in units of 2**-24 (Q24), tabulated on [-8, 8] every 2**-8 and clamped
outside. Parameters such as a half-activation voltage and a slope enter
through the argument, so one table serves every parameter set of a batch.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

#: Fixed-point scale of a tabulated function's argument (2**-24).
X_SHIFT = 24
#: Tables cover x in [-X_MAX, X_MAX].
X_MAX = 8
#: 2**-STEP_SHIFT between table entries.
STEP_SHIFT = 8
#: Entries per tabulated function.
TABLE_LEN = 2 * X_MAX * (1 << STEP_SHIFT) + 1
#: Scale of the tanh table (2**-30) and of the cosh table (2**-20: cosh(8) = 1490.5 fits an int32).
TANH_SHIFT = 30
COSH_SHIFT = 20
ONE_Q30 = 1 << 30
INT32_MAX = (1 << 31) - 1
#: The voltage field of a lattice site that holds no cell (the rules skip it).
V_ABSENT = -(1 << 31)

_INTERP_SHIFT = X_SHIFT - STEP_SHIFT  # bits of the argument below one table step
_X_OFFSET = X_MAX << X_SHIFT
_X_TOP = (2 * X_MAX << X_SHIFT) - 1


def function_tables() -> tuple[np.ndarray, np.ndarray]:
    """``(tanh, cosh)`` tables, each (TABLE_LEN,) int32: tanh in units of 2**-30, cosh in 2**-20.

    Entry ``k`` is the function at ``x = -X_MAX + k * 2**-STEP_SHIFT``,
    rounded to the nearest unit.

    Examples
    --------
    >>> tanh, cosh = function_tables()
    >>> int(tanh[TABLE_LEN // 2]), int(cosh[TABLE_LEN // 2]) == 1 << COSH_SHIFT
    (0, True)
    """
    x = -X_MAX + np.arange(TABLE_LEN) / (1 << STEP_SHIFT)
    tanh = np.rint(np.tanh(x) * (1 << TANH_SHIFT)).astype(np.int32)
    cosh = np.rint(np.cosh(x) * (1 << COSH_SHIFT)).astype(np.int32)
    return tanh, cosh


def build_fixed_point(jit):
    """Compile the shared integer helpers with ``jit`` (``numba.njit`` or a CUDA device decorator).

    Returns a namespace of ``lookup`` (a tabulated function), ``argument``
    (its Q24 argument from a Q20 value), ``gate`` (``(1 + tanh(x)) / 2`` in
    Q30), ``current`` (a conductance's voltage change per step, Q20) and
    ``half`` (the half step of the midpoint method, rounded up).
    """

    @jit
    def lookup(table, base, x_q24):
        """The function tabulated at ``table[base:base + TABLE_LEN]`` at ``x`` (Q24), clamped to [-8, 8]."""
        u = np.int64(x_q24) + _X_OFFSET
        if u < 0:
            u = np.int64(0)
        if u > _X_TOP:
            u = np.int64(_X_TOP)
        k = np.int64(base) + (u >> _INTERP_SHIFT)
        frac = u & ((1 << _INTERP_SHIFT) - 1)
        lo = np.int64(table[k])
        hi = np.int64(table[k + 1])
        return lo + (((hi - lo) * frac + (1 << (_INTERP_SHIFT - 1))) >> _INTERP_SHIFT)

    @jit
    def argument(value, centre, inv_scale_q32):
        """``(value - centre) / scale`` in Q24 from a Q20 value and centre and ``1 / scale`` in Q32.

        Within 512 units of the centre and with ``1 / scale <= 1`` the
        product stays below 2**61: no int64 overflow.
        """
        return ((np.int64(value) - np.int64(centre)) * inv_scale_q32 + (1 << 27)) >> 28

    @jit
    def gate(table, base, x_q24):
        """``(1 + tanh(x)) / 2`` in 2**-30 from the tanh table at ``base``."""
        return (ONE_Q30 + lookup(table, base, x_q24)) >> 1

    @jit
    def current(g_q32, gate_q30, drive_q20):
        """``g * gate * (v - E)``, with ``g`` the conductance per step (``g dt / C_m``, Q32): 2**-20 mV."""
        return ((((g_q32 * gate_q30) >> 30) * drive_q20) + (1 << 31)) >> 32

    @jit
    def half(x):
        return (x + 1) >> 1

    return SimpleNamespace(lookup=lookup, argument=argument, gate=gate, current=current, half=half)

