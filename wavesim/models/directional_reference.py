"""A plain-NumPy reference of the directional model, for tests on small grids.

Written from the model's description (:mod:`wavesim.models.directional`),
independently of the rule in :mod:`wavesim.kernels.directional`: whole-array
operations, shifted masks instead of a pushed bit mask, and the wave's
direction rounded from a floating-point ``atan2`` as the released script
does, where the rule compares integers. Only the random draws are shared,
from the one counter-based generator (:func:`wavesim.kernels.random.uniform_u32`).
"""

from __future__ import annotations

import math

import numpy as np

from ..kernels import directional as rule
from ..kernels.random import uniform_u32
from ..lattice import SQUARE_DC, SQUARE_DR, _shift

NEVER = -(1 << 30)
ABSENT = -(1 << 31)


def _normal_q16(u: np.ndarray, normal: np.ndarray) -> np.ndarray:
    lo = normal[u >> 16]
    hi = normal[(u >> 16) + 1]
    return lo + (((hi - lo) * (u & 0xFFFF)) >> 16)


def _class_of(dy: float, dx: float, minus_180: bool = False) -> int:
    """Direction class of the angle from the inhibition point to the initiation point, as the script rounds it.

    The script's rounding gives -4 (theta' = -180 degrees) for angles below
    -157.5 degrees; with ``minus_180`` that is class 8, else class 4.
    """
    theta = math.atan2(dy, dx)
    k = int(math.floor(8 * theta / (2 * math.pi) + 0.5))
    return 8 if minus_180 and k == -4 else k % 8


def inhibition_points(key: int, stream: int, step: int, idx: np.ndarray, prow, shape, normal: np.ndarray):
    """(row, col) arrays of inhibition points in cells, 2**-16, for wave indices ``idx``."""
    R, C = shape
    p = [int(v) for v in prow]
    idx = np.asarray(idx, dtype=np.int64)
    u_r = uniform_u32(key, stream, step, 2 * idx)
    u_c = uniform_u32(key, stream, step, 2 * idx + 1)
    if p[rule.P_DIRECTIONAL]:
        ai_r = p[rule.P_NOSE_ROW_Q16] * R + ((p[rule.P_SD_Q16] * _normal_q16(u_r, normal)) >> 16)
        ai_c = p[rule.P_NOSE_COL_Q16] * C + ((p[rule.P_SD_Q16] * _normal_q16(u_c, normal)) >> 16)
        if p[rule.P_TRUNCATE]:
            ai_r = np.trunc(ai_r / 65536).astype(np.int64) << 16
            ai_c = np.trunc(ai_c / 65536).astype(np.int64) << 16
    else:
        m = p[rule.P_INIT_MARGIN]
        ai_r = ((u_r * (R - m)) >> 32) << 16
        ai_c = ((u_c * (C - m)) >> 32) << 16
    return ai_r, ai_c


def wave_origin(key: int, prow, site: np.ndarray, normal: np.ndarray | None = None):
    """Wave mode: ``((row, col), (inhibition row, col) in cells, class)``, or None if no try found a cell."""
    if normal is None:
        from .amacrine import normal_table_q16

        normal = normal_table_q16().astype(np.int64)
    R, C = site.shape
    m = int(prow[rule.P_INIT_MARGIN])
    for attempt in range(rule.ORIGIN_TRIES):
        u = uniform_u32(key, rule.STREAM_ORIGIN, attempt, np.array([0, 1]))
        r, c = int((u[0] * (R - m)) >> 32), int((u[1] * (C - m)) >> 32)
        if site[r, c]:
            ai_r, ai_c = inhibition_points(key, rule.STREAM_ORIGIN, attempt, [1], prow, (R, C), normal)
            ai_r, ai_c = int(ai_r[0]), int(ai_c[0])
            cls = _class_of((r << 16) - ai_r, (c << 16) - ai_c, bool(prow[rule.P_MINUS_180]))
            return (r, c), (ai_r / 65536, ai_c / 65536), cls
    return None


class ReferenceRetina:
    """One directional retina stepped with whole-array NumPy operations.

    Parameters
    ----------
    lattice : SquareLattice
    prow : (N_PARAMS,) int64
        Quantised parameters (:func:`wavesim.models.directional.quantise`).
    key : int
        Generator key.
    table : int32 array
        The model's table (:func:`wavesim.models.directional.tables`); only its normal table is read.
    """

    def __init__(self, lattice, prow: np.ndarray, key: int, table: np.ndarray):
        self.lattice = lattice
        self.p = [int(v) for v in prow]
        self.key = int(key)
        self.normal = np.asarray(table[rule.T_NORMAL :], dtype=np.int64)
        self.exists = lattice.exists
        self.shape = lattice.shape
        self.cells = np.arange(self.shape[0] * self.shape[1]).reshape(self.shape)
        self.rho_u32 = np.array(self.p[rule.P_THR : rule.N_PARAMS], dtype=np.int64).reshape(rule.N_CLASSES, 8)
        self.onset = np.full(self.shape, NEVER, dtype=np.int64)
        self.wave = np.zeros(self.shape, dtype=np.int64)
        if not self.p[rule.P_CONTINUOUS]:
            origin = wave_origin(self.key, self.p, self.exists, self.normal)
            if origin is not None:
                (r, c), _, cls = origin
                self.onset[r, c] = 0
                self.wave[r, c] = cls
        self.t = 0

    def _age(self, t: int) -> np.ndarray:
        return t - self.onset

    def active(self) -> np.ndarray:
        """(rows, cols) bool: cells lit now (ON or OFF signal), what frames show."""
        age = self._age(self.t)
        p = self.p
        on = (age >= p[rule.P_ON_LO]) & (age <= p[rule.P_ON_HI])
        off = (age >= p[rule.P_OFF_LO]) & (age <= p[rule.P_OFF_HI])
        return self.exists & (on | off)

    def step(self) -> None:
        """Advance to the end of the next step."""
        p = self.p
        t = self.t + 1
        spreads = self.exists & (self._age(self.t) == p[rule.P_SPREAD_AGE])
        resting = self.exists & (self._age(t) > p[rule.P_REFRACTORY])
        fired = np.zeros(self.shape, dtype=bool)
        new_wave = np.zeros(self.shape, dtype=np.int64)
        for k, (dr, dc) in enumerate(zip(SQUARE_DR, SQUARE_DC)):
            # The neighbour at (r - dr, c - dc) reaches (r, c) in direction k.
            source = _shift(spreads, -dr, -dc)
            source_wave = _shift(self.wave, -dr, -dc)
            u = uniform_u32(self.key, rule.STREAM_SPREAD, t, 8 * self.cells + k)
            hit = resting & ~fired & source & (u < self.rho_u32[source_wave, k])
            new_wave = np.where(hit, source_wave, new_wave)
            fired |= hit
        if p[rule.P_START_U32] > 0:
            start = resting & ~fired & (uniform_u32(self.key, rule.STREAM_START, t, self.cells) < p[rule.P_START_U32])
            rr, cc = np.nonzero(start)
            if rr.size:
                cells = self.cells[rr, cc]
                ai_r, ai_c = inhibition_points(self.key, rule.STREAM_START_AI, t, cells, p, self.shape, self.normal)
                for r, c, a_r, a_c in zip(rr, cc, ai_r, ai_c):
                    new_wave[r, c] = _class_of((int(r) << 16) - int(a_r), (int(c) << 16) - int(a_c),
                                               bool(p[rule.P_MINUS_180]))
            fired |= start
        self.onset = np.where(fired, t, self.onset)
        self.wave = np.where(fired, new_wave, self.wave)
        self.t = t

    def state(self) -> dict[str, np.ndarray]:
        """State as int32 arrays, in the backends' layout (no batch axis)."""
        return {
            "onset": np.where(self.exists, self.onset, ABSENT).astype(np.int32),
            "wave": np.where(self.exists, self.wave, 0).astype(np.int32),
        }
