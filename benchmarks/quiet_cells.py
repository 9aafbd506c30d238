"""How many cell-updates of the continuous models change nothing: what an event engine could skip.

Usage::

    python benchmarks/quiet_cells.py                 # 2,000 steps of each model after its authors' warm-up
    python benchmarks/quiet_cells.py --steps 60000   # a minute of Lansdell, 6 s of RetinalChaos

The amacrine model's ``cpu-events`` engine gives the bits of ``cpu`` by
visiting only the cells that can change this step: a quiet cell's state is
a fixed point of the rule. This script asks whether the same holds for the
continuous models: it steps the compiled fixed-point rule of each (one
64 x 64 sheet, the authors' parameters and grid, seed 1) through its
authors' warm-up, then one step at a time, and counts the cell-updates
after which every state field of the cell is unchanged, and per field the
fraction unchanged. An event engine could skip only the former.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from bench_continuous import NODES, _lattice

from wavesim.kernels import lansdell2014 as lansdell_rule
from wavesim.kernels import retinalchaos as chaos_rule
from wavesim.kernels.pull_cpu import PullSheets, build_pull_cpu_runner
from wavesim.kernels.random import retina_keys
from wavesim.models import lansdell2014, retinalchaos

# model: (module, rule, grid spacing in um, the authors' warm-up in s)
MODELS = {
    "lansdell2014": (lansdell2014, lansdell_rule, lansdell2014.AUTHORS_SPACING_UM, 300.0),
    "retinalchaos": (retinalchaos, chaos_rule, 20.0, 30.0),
}


def quiet_fractions(name: str, n_steps: int, warmup_s: float | None = None) -> tuple[float, dict[str, float]]:
    """(fraction of cell-updates that change no field, {field: fraction of updates leaving it unchanged})."""
    module, rule, spacing_um, authors_warmup_s = MODELS[name]
    params = module.PRESETS[module.DEFAULT_PRESET]
    sheets = PullSheets(build_pull_cpu_runner(rule.build_rule), NODES, NODES, module.quantise([params]),
                        retina_keys([1]), module.tables(_lattice(spacing_um)), len(rule.STATE_FIELDS))
    sheets.advance(round((authors_warmup_s if warmup_s is None else warmup_s) / params.dt_s))
    n_fields = len(rule.STATE_FIELDS)
    before = sheets.state.reshape(n_fields, -1).copy()
    quiet, per_field = 0.0, np.zeros(n_fields)
    for _ in range(n_steps):
        sheets.advance(1)
        after = sheets.state.reshape(n_fields, -1)
        same = after == before
        quiet += same.all(axis=0).mean()
        per_field += same.mean(axis=1)
        before = after.copy()
    return quiet / n_steps, dict(zip(rule.STATE_FIELDS, (per_field / n_steps).tolist()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2000, help="steps counted after the warm-up")
    parser.add_argument("--warmup-s", type=float, default=None, help="warm-up (default: the authors')")
    args = parser.parse_args()
    print(f"{NODES} x {NODES} sheet, seed 1, the authors' parameters; {args.steps} steps counted")
    print(f"{'model':<14}{'warm-up (s)':>12}{'counted (s)':>12}{'quiet updates':>15}  unchanged per field")
    for name, (module, _, _, authors_warmup_s) in MODELS.items():
        start = time.perf_counter()
        quiet, per_field = quiet_fractions(name, args.steps, args.warmup_s)
        dt_s = module.PRESETS[module.DEFAULT_PRESET].dt_s
        fields = ", ".join(f"{k} {v:.4f}" for k, v in per_field.items())
        warmup_s = authors_warmup_s if args.warmup_s is None else args.warmup_s
        print(f"{name:<14}{warmup_s:>12.0f}{args.steps * dt_s:>12.2f}{quiet:>15.4f}  {fields}"
              f"  ({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
