"""Numba CPU loops that run any model's rule over a batch of retinas.

:func:`build_cpu_runner` takes a model's ``build_rule`` and returns ``init_state``, ``advance`` and ``readout`` compiled for it.
The state of a batch is one (S, B, R, C) int32 array, passed flat with
``(B, R, C)``, so these loops do not depend on the model.

The neighbour input is pushed: each cell active (or, for a rule that
defines it, ``spreading``) at the end of the previous step adds its weights
to its neighbours' inputs. Few cells are active at a time, so this does a few percent of the work of pulling from all ~90
neighbours. To push in parallel without races, rows are cut into blocks
taller than twice the neighbour reach and even and odd blocks are pushed in
two passes. Inputs are integers, so the order of the additions does not
change the result.

Numba's on-disk cache keys a closure by pickling its free variables, which
for compiled functions differ in every process; the runners here are keyed
by the rule's source instead (:func:`cache_by_rule`), so a second process
loads them from the cache rather than compiling them again. That reaches
into Numba's caching internals (``FunctionCache._index_key`` and a
dispatcher's ``_cache``), tested with the numba releases pyproject admits;
where they have moved, runners compile in every process, after a one-line
warning, and still run.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import warnings
from types import SimpleNamespace

import numba
from numba import njit, prange

from .readout import build_readout

#: Rows per push block; must exceed twice the largest row offset (2 * 6).
PUSH_BLOCK_ROWS = 16


@functools.lru_cache(maxsize=1)
def _rule_keyed_cache_class():
    """``(class, None)``: Numba's function cache keyed by a rule's source; ``(None, why)`` where its internals moved."""
    try:
        from numba.core.caching import FunctionCache
    except ImportError as exc:
        return None, f"numba.core.caching.FunctionCache is gone ({exc})"
    index_key = getattr(FunctionCache, "_index_key", None)
    if index_key is None or list(inspect.signature(index_key).parameters) != ["self", "sig", "codegen"]:
        return None, "FunctionCache._index_key(self, sig, codegen) is gone"

    class RuleKeyedCache(FunctionCache):
        """Numba's function cache, with the rule's source hash in place of the pickled closure."""

        def __init__(self, py_func, rule_key: str):
            super().__init__(py_func)
            self._rule_key = rule_key

        def _index_key(self, sig, codegen):
            code = hashlib.sha256(self._py_func.__code__.co_code).hexdigest()
            return (sig, codegen.magic_tuple(), (code, self._rule_key))

        # A failure inside Numba's cache machinery costs the cache, never the run.
        def load_overload(self, sig, target_context):
            try:
                return super().load_overload(sig, target_context)
            except Exception as exc:
                _warn_uncached(f"loading a cached runner failed: {type(exc).__name__}: {exc}")
                return None

        def save_overload(self, sig, data):
            try:
                super().save_overload(sig, data)
            except Exception as exc:
                _warn_uncached(f"saving a compiled runner failed: {type(exc).__name__}: {exc}")

    return RuleKeyedCache, None


@functools.lru_cache(maxsize=None)
def _warn_uncached(why: str) -> None:
    """Say once per reason that runners are not cached on disk."""
    warnings.warn(f"wavesim: compiled runners are not cached on disk with numba {numba.__version__} ({why}); "
                  f"they compile in every process.", RuntimeWarning, stacklevel=3)


def cache_by_rule(dispatcher, rule_key: str) -> bool:
    """Cache ``dispatcher`` on disk under its rule's source hash; False (and a warning) where Numba does not allow it."""
    cls, why = _rule_keyed_cache_class()
    if cls is not None and not hasattr(dispatcher, "_cache"):
        cls, why = None, "a dispatcher has no _cache"
    if cls is None:
        _warn_uncached(why)
        return False
    try:
        dispatcher._cache = cls(dispatcher.py_func, rule_key)
    except Exception as exc:  # e.g. a source file Numba cannot locate
        _warn_uncached(f"{type(exc).__name__}: {exc}")
        return False
    return True


def runner_key(rule_key: str, module_file: str) -> str:
    """A cache key for loops defined in ``module_file`` around a rule: the rule's key and that file's source.

    Loops call helpers that are closures in their own module, which a
    change leaves out of the loops' bytecode; hashing the file catches it.
    """
    with open(module_file, "rb") as f:
        return hashlib.sha256(rule_key.encode() + f.read()).hexdigest()


def _compiled(py_func, rule_key: str | None, parallel: bool):
    dispatcher = njit(parallel=parallel)(py_func)
    if rule_key is not None:
        cache_by_rule(dispatcher, rule_key)
    return dispatcher


@njit(inline="always")
def _no_seed(state, plane, base, key, site, prow, table):
    """A rule's ``seed`` where it has none: nothing to start once per retina."""
    return -1


def readout_loop(pixel_value):
    """The frame loop around a compiled ``pixel_value`` (:func:`wavesim.kernels.readout.build_readout`), to compile."""

    def readout(out, t, state, B, R, C, ca, use_calcium, params, pixel_ptr, cell_rows, cell_cols):
        """Fill ``out`` (B, H, W) uint8 with the frame at the end of step ``t``."""
        plane = B * R * C
        H = out.shape[1]
        W = out.shape[2]
        for j in prange(B * H):
            b = j // H
            y = j % H
            prow = params[b]
            for x in range(W):
                out[b, y, x] = pixel_value(state, plane, b, y * W + x, t, ca, use_calcium, prow, pixel_ptr,
                                           cell_rows, cell_cols, R, C)

    return readout


def build_cpu_runner(build_rule, rule_key: str | None = None):
    """The batched CPU loops of one model's rule.

    Parameters
    ----------
    build_rule : callable
        The model's ``build_rule(jit)`` (``init``, ``step``, ``active``).
    rule_key : str, optional
        A digest of the rule's source; with it the loops are cached on disk.
    """
    # Inlined into the loops at Numba's IR level: left to LLVM, the per-cell step stayed a call and the
    # update pass ran 7x slower (measured on a quiet 3,886-cell sheet).
    inlined = njit(inline="always")
    rule = build_rule(inlined)
    init, step, active = rule.init, rule.step, rule.active
    # A rule whose spreading differs from what frames show says so: ``spreading`` for the push, and a
    # step that returns ``spreads | lit << 1`` (``step_flags``); otherwise both are ``active``.
    spreading = getattr(rule, "spreading", active)
    seed = getattr(rule, "seed", None) or _no_seed
    lit_shift = 1 if getattr(rule, "step_flags", False) else 0
    readout_fns = build_readout(inlined, active)
    pixel_value, calcium_step = readout_fns.pixel_value, readout_fns.calcium_step

    def init_state(state, B, R, C, keys, params, site, table):
        """Fill the flat (S, B, R, C) state with the initial state of every retina."""
        plane = B * R * C
        for j in prange(B * R):
            b = j // R
            r = j % R
            prow = params[b]
            for c in range(C):
                cell = r * C + c
                init(state, plane, b * R * C + cell, keys[b], cell, site, prow, table)
        # A separate pass: the seed may write any cell of its retina.
        for b in prange(B):
            seed(state, plane, b * R * C, keys[b], site, params[b], table)

    def push(t_prev, state, B, R, C, inp, params, dr, dc, w, phase):
        plane = B * R * C
        K = dr.shape[1]
        n_blocks = (R + PUSH_BLOCK_ROWS - 1) // PUSH_BLOCK_ROWS
        n_phase = (n_blocks - phase + 1) // 2
        for j in prange(B * n_phase):
            b = j // n_phase
            blk = 2 * (j % n_phase) + phase
            prow = params[b]
            base = b * R * C
            for r in range(blk * PUSH_BLOCK_ROWS, min(R, (blk + 1) * PUSH_BLOCK_ROWS)):
                p = r & 1
                for c in range(C):
                    if not spreading(state, plane, base + r * C + c, t_prev, prow):
                        continue
                    for k in range(K):
                        rr = r + dr[p, k]
                        cc = c + dc[p, k]
                        if rr >= 0 and rr < R and cc >= 0 and cc < C:
                            inp[b, rr, cc] += w[p, k]

    def update(t, state, B, R, C, ca, ca_alpha_q30, inp, keys, params, site, table):
        plane = B * R * C
        for j in prange(B * R):
            b = j // R
            r = j % R
            prow = params[b]
            key = keys[b]
            base = b * R * C
            for c in range(C):
                x = inp[b, r, c]
                inp[b, r, c] = 0
                cell = r * C + c
                now = step(state, plane, base + cell, t, x, key, cell, site, prow, table)
                if now >= 0 and ca_alpha_q30 > 0:
                    ca[base + cell] = calcium_step(ca[base + cell], now >> lit_shift, ca_alpha_q30)

    push_c = _compiled(push, rule_key, True)
    update_c = _compiled(update, rule_key, True)

    def advance(t0, n_steps, state, B, R, C, ca, ca_alpha_q30, inp, keys, params, site, dr, dc, w, table):
        """Run steps ``t0 + 1 .. t0 + n_steps`` in place; ``inp`` (B, R, C) int32 is zero between calls."""
        for s in range(n_steps):
            t = t0 + s + 1
            push_c(t - 1, state, B, R, C, inp, params, dr, dc, w, 0)
            push_c(t - 1, state, B, R, C, inp, params, dr, dc, w, 1)
            update_c(t, state, B, R, C, ca, ca_alpha_q30, inp, keys, params, site, table)

    return SimpleNamespace(
        init_state=_compiled(init_state, rule_key, True),
        advance=_compiled(advance, rule_key, False),
        readout=_compiled(readout_loop(pixel_value), rule_key, True),
        push=push_c,
    )
