"""Helpers of the continuous-model tests: tiny square sheets, random states, the compiled rule on them."""

import numpy as np

import wavesim as ws
from wavesim.kernels.pull_cpu import PullSheets, build_pull_cpu_runner
from wavesim.kernels.random import retina_keys

_RUNNERS = {}


def square_lattice(rows, cols, spacing_um):
    """A rectangle of ``rows`` x ``cols`` cells on a square lattice (reach one spacing)."""
    retina = ws.Retina(width_um=(cols + 0.5) * spacing_um, height_um=(rows + 0.5) * spacing_um,
                       spacing_um=spacing_um, dendrite_radius_um=spacing_um)
    lattice = ws.SquareLattice(retina)
    assert lattice.shape == (rows, cols)
    return lattice


def rule_sheets(rule_module, prows, seeds, tables):
    """The compiled rule (kernels/pull_cpu.py) on a batch of sheets, one per row of ``prows``."""
    if rule_module not in _RUNNERS:
        _RUNNERS[rule_module] = build_pull_cpu_runner(rule_module.build_rule)
    rows, cols = tables["site"].shape
    return PullSheets(_RUNNERS[rule_module], rows, cols, prows, retina_keys(seeds), tables,
                      len(rule_module.STATE_FIELDS))


def random_fixed_state(rng, shape, ranges, shifts):
    """A dict of int64 fields drawn uniformly from ``ranges`` (model units) in fixed point ``shifts``."""
    return {name: np.round(rng.uniform(lo, hi, shape) * 2.0**shifts[name]).astype(np.int64)
            for name, (lo, hi) in ranges.items()}


def set_state(sheets, b, fields, state):
    """Write one retina's fields (dict of (R, C) int arrays) into a PullSheets batch."""
    for index, name in enumerate(fields):
        sheets.field(index)[b] = state[name]


def assert_rule_matches_reference(rule_module, reference_cls, prows, tables, ranges, shifts, seed=0, checks=3,
                                  steps=100):
    """The compiled rule and the vectorised fixed-point reference, from random states, agree bit for bit.

    One retina per row of ``prows``; the states are compared every ``steps`` steps, ``checks`` times.
    Returns the references (at the end).
    """
    shape = tables["site"].shape
    seeds = list(range(1, len(prows) + 1))
    sheets = rule_sheets(rule_module, prows, seeds, tables)
    rng = np.random.default_rng(seed)
    refs = []
    for b, key in enumerate(retina_keys(seeds)):
        start = random_fixed_state(rng, shape, ranges, shifts)
        set_state(sheets, b, rule_module.STATE_FIELDS, start)
        ref = reference_cls(prows[b], tables["table"], shape, key=int(key))
        ref.load(start)
        refs.append(ref)
    for _ in range(checks):
        sheets.advance(steps)
        for b, ref in enumerate(refs):
            for _ in range(steps):
                ref.step()
            for index, name in enumerate(rule_module.STATE_FIELDS):
                assert np.array_equal(sheets.field(index)[b], ref.state()[name]), (b, name, sheets.t)
    return refs
