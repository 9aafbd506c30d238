"""The counter-based generator every model draws from, written once.

A draw is a pure function of (retina key, stream, step, cell): three rounds
of the splitmix64 finaliser. No generator state, so the same draw comes out
on any backend, in any order, and an engine that skips quiet cells (or a
reference that works on whole arrays) sees the same numbers.

:func:`build_random` compiles the scalar functions with a decorator
(``numba.njit`` or ``numba.cuda.jit(device=True)``); :func:`uniform_u32`
evaluates them on NumPy arrays for references and tests;
:func:`retina_keys` and :func:`movie_seeds` derive keys and seeds on the host.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
from numba import njit

# splitmix64 constants; numpy scalars so that numba types them as uint64.
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_STEP_MUL = np.uint64(0xD1B54A32D192ED03)
_KEY_OFFSET = np.uint64(0x632BE59BD9B4E019)
_SEED_MIX = np.uint64(0xA0761D6478BD642F)
_S27, _S29, _S30, _S31, _S32 = (np.uint64(k) for k in (27, 29, 30, 31, 32))


def build_random(jit):
    """Compile ``mix64`` and ``draw_u32`` with ``jit`` and return them in a namespace."""

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

    return SimpleNamespace(mix64=mix64, draw_u32=draw_u32)


_draw_u32_host = build_random(njit).draw_u32


@njit(cache=True)
def _uniform_u32_into(out, key, stream, step, cells):
    for i in range(cells.size):
        out[i] = np.int64(_draw_u32_host(key, stream, step, cells[i]))


def uniform_u32(key: int, stream: int, step: int, cells: np.ndarray) -> np.ndarray:
    """The draws of ``cells`` (any shape of flat cell indices) as int64 in [0, 2**32)."""
    cells = np.asarray(cells)
    flat = np.ascontiguousarray(cells.reshape(-1), dtype=np.int64)
    out = np.empty(flat.size, dtype=np.int64)
    _uniform_u32_into(out, np.uint64(key), np.int64(stream), np.int64(step), flat)
    return out.reshape(cells.shape)


def retina_keys(seeds) -> np.ndarray:
    """(B,) uint64 generator keys, one per retina seed (integers in [0, 2**63))."""
    seeds = np.asarray(seeds, dtype=np.uint64)
    with np.errstate(over="ignore"):
        x = seeds * _GOLDEN + _KEY_OFFSET
        x = (x ^ (x >> _S30)) * _M1
        x = (x ^ (x >> _S27)) * _M2
        return x ^ (x >> _S31)


def movie_seeds(seed: int, movies) -> np.ndarray:
    """(M,) int64 seeds of a dataset's movies: a hash of (dataset seed, movie index).

    Movie ``m`` is the same whichever process, batch or range generates it.
    The caller checks that ``seed`` lies in [0, 2**63).
    """
    m = np.asarray(movies, dtype=np.uint64)
    with np.errstate(over="ignore"):
        x = (np.uint64(seed) * _SEED_MIX) ^ (m + np.uint64(1)) * _GOLDEN
        x = (x ^ (x >> _S29)) * _M1
        x = x ^ (x >> _S32)
    return (x >> np.uint64(1)).astype(np.int64)
