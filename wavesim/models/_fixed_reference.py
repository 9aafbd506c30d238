"""Vectorised helpers of the continuous models' NumPy references: the fixed-point arithmetic and the lattice sums.

Written for whole int64 arrays, apart from the compiled rules
(:mod:`wavesim.kernels.fixed_point`), so that a reference checks a rule
rather than sharing its code; only the tables are shared.
"""

from __future__ import annotations

import numpy as np

from ..kernels.fixed_point import STEP_SHIFT, X_MAX, X_SHIFT

_BELOW = X_SHIFT - STEP_SHIFT  # argument bits below one table step


def lookup(table: np.ndarray, base: int, x_q24: np.ndarray) -> np.ndarray:
    """The function tabulated at ``table[base:]`` on [-X_MAX, X_MAX] at ``x`` (Q24), interpolated in integers."""
    u = np.clip(x_q24 + (X_MAX << X_SHIFT), 0, (2 * X_MAX << X_SHIFT) - 1)
    lo = table[base + (u >> _BELOW)].astype(np.int64)
    hi = table[base + (u >> _BELOW) + 1].astype(np.int64)
    return lo + (((hi - lo) * (u & ((1 << _BELOW) - 1)) + (1 << (_BELOW - 1))) >> _BELOW)


def argument(v_q20: np.ndarray, centre_q20: int, inv_scale_q32: int) -> np.ndarray:
    """``(v - centre) / scale`` in Q24."""
    return ((v_q20 - centre_q20) * inv_scale_q32 + (1 << 27)) >> 28


def gate(table: np.ndarray, base: int, v_q20: np.ndarray, centre_q20: int, inv_scale_q32: int) -> np.ndarray:
    """``(1 + tanh((v - centre) / scale)) / 2`` in Q30."""
    return ((1 << 30) + lookup(table, base, argument(v_q20, centre_q20, inv_scale_q32))) >> 1


def current(g_q32, gate_q30, v_q20: np.ndarray, reversal_q20: int) -> np.ndarray:
    """The voltage change in one step through a conductance per step ``g`` (Q32) and a gate (Q30), Q20 mV."""
    return ((g_q32 * gate_q30 >> 30) * (v_q20 - reversal_q20) + (1 << 31)) >> 32


def mirrored_sums(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sum over the four lattice neighbours, and previous row minus next row, mirrored at the edges.

    A neighbour beyond an edge is the one opposite it (the Neumann ghost
    points of the models' authors).
    """
    p = np.pad(a, 1, mode="reflect")
    return p[:-2, 1:-1] + p[2:, 1:-1] + p[1:-1, :-2] + p[1:-1, 2:], p[:-2, 1:-1] - p[2:, 1:-1]


class FixedSheetBase:
    """What both models' fixed-point references share: the parameter row, the table, the key, the cells.

    Parameters
    ----------
    prow : ndarray of int64, shape (N_PARAMS,)
        One row of the model's ``quantise``.
    table : ndarray of int32
        The model's ``tables(lattice)["table"]``.
    shape : (int, int)
    key : int
        Generator key (``wavesim.kernels.random.retina_keys``).
    """

    def __init__(self, prow: np.ndarray, table: np.ndarray, shape, key: int = 0):
        self.q = [int(x) for x in prow]
        self.table = np.asarray(table)
        self.key = int(key)
        self.cells = np.arange(shape[0] * shape[1]).reshape(shape)
        #: Where a cell is: everywhere (the models run on rectangles), as the conformance suite reads it.
        self.exists = np.ones(shape, dtype=bool)
        self.t = 0
