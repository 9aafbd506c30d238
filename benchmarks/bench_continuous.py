"""Steps per second of the continuous models on a 64 x 64 sheet: NumPy references and the compiled rules.

Usage::

    python benchmarks/bench_continuous.py            # 2,000 steps per engine (the references 200)
    python benchmarks/bench_continuous.py --quick    # fewer steps (smoke test)
    python benchmarks/bench_continuous.py --steps 2  # 2 steps of each rule (NUMBA_ENABLE_CUDASIM=1: the cuda rows' code)

Engines, for ``lansdell2014`` (the authors' ``ml_sahp`` set, their 64 x 64
grid) and ``retinalchaos`` (their ``params.json``, 64 x 64 cells):
``numpy-float`` is the float64 reference (for Lansdell, the authors'
Crank-Nicolson scheme), ``numpy-fixed`` the fixed-point reference,
``rule`` the compiled rule in :mod:`wavesim.kernels.pull_cpu` on one thread
(one sheet, and a batch of 8), ``rule-parallel`` the same on all of Numba's
threads, and ``cuda`` the ``cuda`` engine through ``Simulation`` (batches of 1, 8
and 256 sheets; only where ``cuda`` is usable, its CPU rates then being the
host's). The table gives steps/s (of the whole batch: one step advances
every sheet) and cell-updates/s, per wall-clock second and per CPU second
of this process (on a machine shared with other jobs the wall-clock rates
fall with the load; the CPU rates much less; for the parallel rows CPU
time adds up over threads). The
authors' own code runs elsewhere (Octave for Lansdell: a private harness;
RetinalChaos needs Julia): see ``benchmarks/results_continuous.txt``.
"""

from __future__ import annotations

import argparse
import os
import time

import numba

from wavesim import Readout, Simulation
from wavesim.backends import cuda_status
from wavesim.kernels import lansdell2014 as lansdell_rule
from wavesim.kernels import retinalchaos as chaos_rule
from wavesim.kernels.pull_cpu import PullSheets, build_pull_cpu_runner
from wavesim.kernels.random import retina_keys
from wavesim.lattice import Retina, SquareLattice
from wavesim.models import lansdell2014, lansdell2014_reference, retinalchaos, retinalchaos_reference

NODES = 64


def _timed(step, n_steps: int) -> tuple[float, float]:
    """(wall, CPU) seconds per call of ``step``: on a shared machine the CPU time is the fairer one."""
    step()  # warm: compilation, caches
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(n_steps):
        step()
    return (time.perf_counter() - wall) / n_steps, (time.process_time() - cpu) / n_steps


def _lattice(spacing_um: float) -> SquareLattice:
    width = (NODES + 0.5) * spacing_um
    return SquareLattice(Retina(width_um=width, height_um=width, spacing_um=spacing_um, dendrite_radius_um=spacing_um))


def _rule_rows(name, module, rule, params, spacing_um, n_steps, batch, parallel):
    lattice = _lattice(spacing_um)
    tables = module.tables(lattice)
    runner = build_pull_cpu_runner(rule.build_rule, parallel=parallel)
    sheets = PullSheets(runner, NODES, NODES, module.quantise([params] * batch), retina_keys(range(batch)), tables,
                        len(rule.STATE_FIELDS))
    chunk = 100
    wall, cpu = _timed(lambda: sheets.advance(chunk), max(1, n_steps // chunk))
    return (name, "rule-parallel" if parallel else "rule", batch, wall / chunk, cpu / chunk)


def _cuda_rows(name, params, spacing_um, n_steps, batch):
    """The ``cuda`` engine on ``batch`` sheets, synchronised after every chunk of steps."""
    from numba import cuda

    sim = Simulation([params] * batch, list(range(batch)), retina=_lattice(spacing_um).retina,
                     readout=Readout(um_per_pixel=spacing_um), backend="cuda")
    chunk = min(100, n_steps)

    def advance():
        sim.advance(chunk)
        cuda.synchronize()

    wall, cpu = _timed(advance, max(1, n_steps // chunk))
    return (name, "cuda", batch, wall / chunk, cpu / chunk)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--steps", type=int, default=None, help="steps of each rule and engine row")
    args = parser.parse_args()
    n_rule, n_ref = (200, 20) if args.quick else (2000, 200)
    n_rule = args.steps or n_rule
    rows = []
    usable, device = cuda_status()
    p = lansdell2014.PRESETS[lansdell2014.DEFAULT_PRESET]
    h = lansdell2014.AUTHORS_SPACING_UM
    table = lansdell2014.tables(_lattice(h))["table"]
    for label, sheet in (("numpy-float", lansdell2014_reference.FloatSheet(p)),
                         ("numpy-fixed", lansdell2014_reference.FixedSheet.from_params(p, table, (NODES, NODES)))):
        rows.append(("lansdell2014", label, 1, *_timed(sheet.step, n_ref)))
    q = retinalchaos.PRESETS[retinalchaos.DEFAULT_PRESET]
    table = retinalchaos.tables(_lattice(20.0))["table"]
    for label, sheet in (("numpy-float", retinalchaos_reference.FloatSheet(q)),
                         ("numpy-fixed", retinalchaos_reference.FixedSheet.from_params(q, table, (NODES, NODES)))):
        rows.append(("retinalchaos", label, 1, *_timed(sheet.step, n_ref)))
    for name, module, rule, params, spacing in (("lansdell2014", lansdell2014, lansdell_rule, p, h),
                                                ("retinalchaos", retinalchaos, chaos_rule, q, 20.0)):
        for batch, parallel in ((1, False), (8, False), (8, True)):
            rows.append(_rule_rows(name, module, rule, params, spacing, n_rule, batch, parallel))
        if usable:
            # Numba's simulator runs each GPU thread in Python: one sheet checks the code, larger take hours
            batches = (1,) if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1" else (1, 8, 256)
            rows += [_cuda_rows(name, params, spacing, n_rule, batch) for batch in batches]
    print(f"64 x 64 sheet; Numba threads: {numba.get_num_threads()}; rates per wall second and per CPU second; "
          f"cuda: {device}")
    print(f"{'model':<14}{'engine':<15}{'sheets':>7}{'steps/s':>10}{'cell-upd/s':>12}{'steps/cpu-s':>13}"
          f"{'cell-upd/cpu-s':>16}")
    cells = NODES * NODES
    for name, engine, batch, wall, cpu in rows:
        print(f"{name:<14}{engine:<15}{batch:>7}{1 / wall:>10.1f}{batch * cells / wall:>12.3g}{1 / cpu:>13.1f}"
              f"{batch * cells / cpu:>16.3g}")


if __name__ == "__main__":
    main()
