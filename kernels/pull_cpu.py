"""Numba CPU loops for rules coupled through pulled fields (the continuous-state models).

A rule with ``PULL_FIELDS`` (:mod:`wavesim.kernels.lansdell2014`,
:mod:`wavesim.kernels.retinalchaos`) is coupled by diffusion: before each
step, every cell needs the weighted sum of some state fields over its
lattice neighbours at the end of the previous step. The loops here compute
those sums into an int32 buffer (``inp``, (F, B, R, C)) in a first pass,
mirroring the sheet at its edges (a neighbour beyond an edge is the one
opposite it: the Neumann ghost points of the models' authors), and step
every cell in a second pass with ``inp`` as a tuple of its F sums. State
is updated in place only in the second pass, so the order of cells within
a pass does not matter, and integer sums do not depend on their order.

Frames read the rule's ``active`` through the readout shared with the
push runners (:mod:`wavesim.kernels.readout`), with the same calcium
filter, so the engine built on these loops
(:class:`wavesim.backends.pull_engines.PullCPUEngine`) gives frames as any
other engine does.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
from numba import njit, prange

from .cpu import _compiled, readout_loop, runner_key
from .readout import build_readout


def build_pull_helpers(jit, n_fields: int):
    """Compile ``mirror`` and ``inputs`` with ``jit`` (``numba.njit`` or a CUDA device decorator).

    ``mirror(x, n)`` is an index on a sheet of ``n`` mirrored at its edges;
    ``inputs(inp, plane, i)`` the tuple of cell ``i``'s ``n_fields`` pulled
    sums from the flat (F, B, R, C) buffer, as the rule's ``step`` takes them.
    """

    @jit
    def mirror(x, n):
        if x < 0:
            return -x
        if x >= n:
            return 2 * (n - 1) - x
        return x

    if n_fields == 1:
        @jit
        def inputs(inp, plane, i):
            return (np.int64(inp[np.uint64(i)]),)
    elif n_fields == 2:
        @jit
        def inputs(inp, plane, i):
            return (np.int64(inp[np.uint64(i)]), np.int64(inp[np.uint64(plane + i)]))
    elif n_fields == 3:
        @jit
        def inputs(inp, plane, i):
            return (np.int64(inp[np.uint64(i)]), np.int64(inp[np.uint64(plane + i)]),
                    np.int64(inp[np.uint64(plane + plane + i)]))
    else:
        raise ValueError(f"a rule pulls one to three sums, got {n_fields}")
    return mirror, inputs


def build_graded_value(jit, value):
    """Compile ``graded_value`` with ``jit``: a pixel of the ``graded`` readout from the rule's ``value``.

    The mean of ``value`` (0..65535) over the pixel's cells, times 255 / 65536,
    rounded, as the calcium readout averages its filtered activity; a pixel
    with no cell reads 0. It takes ``pixel_value``'s arguments, so that the
    same frame loops and kernels run either.
    """

    @jit
    def graded_value(state, plane, b, pix, t, ca, use_calcium, prow, pixel_ptr, cell_rows, cell_cols, R, C):
        """As ``pixel_value`` of :mod:`wavesim.kernels.readout` (whose arguments it takes), of ``value``."""
        start = pixel_ptr[pix]
        n = np.int64(pixel_ptr[pix + 1]) - np.int64(start)
        if n == 0:
            return 0
        base = b * R * C
        total = np.int64(0)
        for k in range(start, start + n):
            total += np.int64(value(state, plane, base + cell_rows[k] * C + cell_cols[k], t, prow))
        return (total * 255 + (n << 15)) // (n << 16)

    return graded_value


def pull_rule_key(rule_key: str) -> str:
    """The on-disk cache key of the pulled-field loops around a rule (the rule's key and this file)."""
    return runner_key(rule_key, __file__)


def build_pull_cpu_runner(build_rule, parallel: bool = False, rule_key: str | None = None):
    """The batched CPU loops of a rule with pulled fields.

    Returns a namespace of ``init_state(state, B, R, C, keys, params, site, table)``,
    ``advance(t0, n_steps, state, B, R, C, ca, ca_alpha_q30, inp, keys, params,
    site, pull_dr, pull_dc, pull_w, table)`` (runs steps ``t0 + 1 .. t0 +
    n_steps`` in place; ``inp`` is scratch, (F, B, R, C) int32; ``ca`` the
    flat calcium, filtered where ``ca_alpha_q30 > 0``) and ``readout(out, t,
    state, B, R, C, ca, use_calcium, params, pixel_ptr, cell_rows,
    cell_cols)`` (the frame at the end of step ``t``, as
    :mod:`wavesim.kernels.cpu` reads it), all compiled with Numba;
    ``parallel=True`` spreads rows over Numba's threads (it compiles several
    times slower, and on a shared two-core machine ran slower than one
    thread). With ``rule_key`` (:func:`pull_rule_key`) the loops are cached
    on disk.
    """
    inlined = njit(inline="always")
    rule = build_rule(inlined)
    init, step, active = rule.init, rule.step, rule.active
    fields = tuple(rule.pull_fields)
    n_fields = len(fields)
    mirror, inputs = build_pull_helpers(inlined, n_fields)
    fields_arr = np.array(fields, dtype=np.int64)
    readout_fns = build_readout(inlined, active)
    pixel_value, calcium_step = readout_fns.pixel_value, readout_fns.calcium_step

    def compiled(py_func, par, variant=""):
        # Loops of the same code around other closures (the graded readout) need their own cache key.
        return _compiled(py_func, None if rule_key is None else rule_key + variant, par)

    def init_state(state, B, R, C, keys, params, site, table):
        plane = B * R * C
        for j in prange(B * R):
            b = j // R
            r = j % R
            for c in range(C):
                cell = r * C + c
                init(state, plane, b * R * C + cell, keys[b], cell, site, params[b], table)

    def pull(state, B, R, C, inp, pull_dr, pull_dc, pull_w):
        plane = B * R * C
        K = pull_dr.shape[0]
        for j in prange(B * R):
            b = j // R
            r = j % R
            base = b * R * C
            for f in range(n_fields):
                src = fields_arr[f] * plane + base
                dst = f * plane + base
                for c in range(C):
                    total = np.int64(0)
                    for k in range(K):
                        rr = mirror(r + pull_dr[k], R)
                        cc = mirror(c + pull_dc[k], C)
                        total += np.int64(pull_w[f, k]) * np.int64(state[src + rr * C + cc])
                    inp[dst + r * C + c] = total

    def update(t, state, B, R, C, ca, ca_alpha_q30, inp, keys, params, site, table):
        plane = B * R * C
        for j in prange(B * R):
            b = j // R
            r = j % R
            prow = params[b]
            key = keys[b]
            base = b * R * C
            for c in range(C):
                cell = r * C + c
                now = step(state, plane, base + cell, t, inputs(inp, plane, base + cell), key, cell, site, prow,
                           table)
                if now >= 0 and ca_alpha_q30 > 0:
                    ca[base + cell] = calcium_step(ca[base + cell], now, ca_alpha_q30)

    pull_c = compiled(pull, parallel)
    update_c = compiled(update, parallel)

    def advance(t0, n_steps, state, B, R, C, ca, ca_alpha_q30, inp, keys, params, site, pull_dr, pull_dc, pull_w,
                table):
        for s in range(n_steps):
            pull_c(state, B, R, C, inp, pull_dr, pull_dc, pull_w)
            update_c(t0 + s + 1, state, B, R, C, ca, ca_alpha_q30, inp, keys, params, site, table)

    graded_value = build_graded_value(inlined, rule.value)

    return SimpleNamespace(init_state=compiled(init_state, parallel), advance=compiled(advance, False),
                           readout=compiled(readout_loop(pixel_value), parallel),
                           readout_graded=compiled(readout_loop(graded_value), parallel, ":graded"),
                           n_fields=n_fields)


class PullSheets:
    """A batch of retinas of one pulled-field model, stepped by :func:`build_pull_cpu_runner` (host arrays).

    Parameters
    ----------
    runner : namespace
        From :func:`build_pull_cpu_runner`.
    rows, cols : int
    prows : ndarray of int64, shape (B, P)
        Quantised parameter rows, one per retina.
    keys : ndarray of uint64, shape (B,)
        Generator keys, one per retina.
    tables : dict
        The model's ``tables(lattice)``: ``site``, ``pull_dr``, ``pull_dc``, ``pull_w``, ``table``.
    n_fields : int
        State fields per cell.
    """

    def __init__(self, runner, rows: int, cols: int, prows: np.ndarray, keys: np.ndarray, tables: dict,
                 n_fields: int):
        self.runner = runner
        self.B, self.R, self.C = len(prows), rows, cols
        self.prows = np.ascontiguousarray(prows, dtype=np.int64)
        self.keys = np.ascontiguousarray(keys, dtype=np.uint64)
        self.tables = {k: np.ascontiguousarray(v) for k, v in tables.items()}
        self.site = self.tables["site"].reshape(-1).astype(np.int32)
        self.state = np.zeros(n_fields * self.B * rows * cols, dtype=np.int32)
        self.inp = np.zeros(runner.n_fields * self.B * rows * cols, dtype=np.int32)
        self._no_calcium = np.zeros(1, dtype=np.int32)
        self.t = 0
        runner.init_state(self.state, self.B, rows, cols, self.keys, self.prows, self.site, self.tables["table"])

    def advance(self, n_steps: int) -> None:
        """Run ``n_steps`` steps."""
        tb = self.tables
        self.runner.advance(self.t, n_steps, self.state, self.B, self.R, self.C, self._no_calcium, 0, self.inp,
                            self.keys, self.prows, self.site, tb["pull_dr"], tb["pull_dc"], tb["pull_w"], tb["table"])
        self.t += n_steps

    def field(self, index: int) -> np.ndarray:
        """(B, R, C) int32 view of one state field."""
        return self.state.reshape(-1, self.B, self.R, self.C)[index]
