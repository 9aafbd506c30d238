"""Validation of the RetinalChaos model: one cell against SciPy, the fixed-point sheet against the float one.

Usage::

    python examples/retinalchaos_validation.py single-cell            # the single-cell tables
    python examples/retinalchaos_validation.py run fixed --seeds 1-4 --out runs/
    python examples/retinalchaos_validation.py run float --seeds 1-4 --out runs/
    python examples/retinalchaos_validation.py table runs/float runs/fixed

Julia cannot run here, so the authors' code is not run. ``single-cell``
integrates the authors' equations for one cell with SciPy's LSODA
and compares the compiled rule (dt = 0.1 ms): (1) their figure 2 set-up,
15 pA applied, no transmitter release, no noise, 120 s (rtol 1e-9);
(2) the default parameters with the stochastic current ``W`` for 300 s,
SciPy (rtol 1e-7) driven by the very path of ``W`` the rule drew (``W``
is an Ornstein-Uhlenbeck process that does not depend on the cell, so
the SDE is an ODE along a given path, linear between the rule's steps). Bursts are runs of spikes (upward crossings of
-20 mV) less than 500 ms apart.

``run`` simulates the authors' sheet (64 x 64 cells, their ``run_model``:
30 s warm-up from ``conds.json``, 120 s recorded; ``--nodes`` and
``--record-s`` make it smaller) and saves calcium ``c`` every 0.1 s; ``table`` gives wavesim's statistics of the movies thresholded
at ``c > 0.15`` (one value per seed; speeds in cells/s, the model's
lattice having no physical spacing) and Welch z-scores against the first
folder.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import numpy as np
from numba import njit
from scipy.integrate import solve_ivp

from wavesim.analysis import AnalysisParams
from wavesim.analysis.single_waves import direction_bias
from wavesim.kernels import retinalchaos as rule
from wavesim.kernels.pull_cpu import PullSheets, build_pull_cpu_runner
from wavesim.kernels.random import retina_keys
from wavesim.lattice import Retina, SquareLattice
from wavesim.models import retinalchaos as model
from wavesim.models.retinalchaos_reference import (FloatSheet, initial_state, single_cell_rhs,
                                                   single_cell_rhs_along)

sys.path.insert(0, str(Path(__file__).parent))
from lansdell2014_validation import _seeds, table, wave_statistics  # noqa: E402

FRAME_S = 0.1
SHIFTS = np.array([2.0**s for s in (rule.V_SHIFT, rule.N_SHIFT, rule.C_SHIFT, rule.A_SHIFT, rule.B_SHIFT,
                                    rule.E_SHIFT, rule.I_SHIFT, rule.W_SHIFT)])
STATISTICS = {
    "waves_per_min": "waves per minute",
    "iwi_s": "inter-wave interval (s)",
    "size_fraction": "wave size (fraction of sheet)",
    "speed_cells_per_s": "speed (cells/s)",
    "duration_s": "duration (s)",
    "active_fraction": "cells active per frame",
    "direction_bias": "direction bias (resultant length)",
    "mean_direction_deg": "mean direction (deg; +90 = increasing rows)",
}


def _lattice(rows: int, cols: int, spacing_um: float = 20.0) -> SquareLattice:
    """A rectangle of cells (the rule's tables depend only on its shape: the model's lattice is in cell units)."""
    return SquareLattice(Retina(width_um=(cols + 0.5) * spacing_um, height_um=(rows + 0.5) * spacing_um,
                                spacing_um=spacing_um, dendrite_radius_um=spacing_um))


def _bursts(t_ms, v_mV, gap_ms=500.0):
    spikes = t_ms[1:][(v_mV[1:] > -20) & (v_mV[:-1] <= -20)]
    if spikes.size == 0:
        return spikes, spikes, spikes
    breaks = np.flatnonzero(np.diff(spikes) > gap_ms)
    starts = np.r_[spikes[0], spikes[breaks + 1]]
    ends = np.r_[spikes[breaks], spikes[-1]]
    return spikes, starts, ends - starts


def _rule_trace(p, duration_ms: float, seed: int) -> np.ndarray:
    """The compiled rule for one isolated cell: the state every step, in the model's units."""
    cell_step = rule.build_rule(njit(inline="always")).cell_step

    @njit
    def run(n, u0, prow, table, key):
        out = np.empty((n, 8), np.int64)
        u = (u0[0], u0[1], u0[2], u0[3], u0[4], u0[5], u0[6], u0[7])
        for t in range(1, n + 1):
            u = cell_step(t, u, 4 * u[5], 4 * u[6], np.int64(0), key, 0, prow, table)
            for f in range(8):
                out[t - 1, f] = u[f]
        return out

    prow = model.quantise([p])[0]
    table = model.tables(_lattice(2, 2))["table"]
    u0 = np.round(initial_state() * SHIFTS).astype(np.int64)
    return run(round(duration_ms / p.dt_ms), u0, prow, table, np.uint64(retina_keys([seed])[0])) / SHIFTS


def _scipy_trace(p, duration_ms: float, w_path=None, rtol: float = 1e-9):
    """LSODA on the authors' equations; ``w_path``, W (pA) at 0, dt, 2 dt, ..., drives the noise current if given."""
    if w_path is None:
        rhs, y0 = single_cell_rhs(p), initial_state()
    else:
        rhs, y0 = single_cell_rhs_along(p, w_path), initial_state()[:7]
    return solve_ivp(rhs, (0, duration_ms), y0, method="LSODA", rtol=rtol, atol=rtol / 100, max_step=0.5,
                     dense_output=True)


def _compare(label, t_rule, v_rule, sol, duration_ms, sahp=None):
    t = np.arange(0, duration_ms, 0.05)
    y = sol.sol(t)
    spikes, starts, durations = _bursts(t_rule, v_rule)
    ref_spikes, ref_starts, ref_durations = _bursts(t, y[0])
    print(f"\n{label}")
    print("| | SciPy (LSODA) | rule (fixed point) |")
    print("|---|---|---|")
    print(f"| spikes | {ref_spikes.size} | {spikes.size} |")
    print(f"| bursts | {ref_starts.size} | {starts.size} |")
    if ref_starts.size and starts.size:
        print(f"| burst duration (ms), mean | {ref_durations.mean():.1f} | {durations.mean():.1f} |")
    if ref_starts.size > 1 and starts.size > 1:
        print(f"| inter-burst interval (s), mean | {np.diff(ref_starts).mean() / 1000:.3f} | "
              f"{np.diff(starts).mean() / 1000:.3f} |")
    if ref_starts.size == starts.size and starts.size:
        print(f"| largest burst-onset difference (ms) | | {np.max(np.abs(starts - ref_starts)):.2f} |")
    if ref_spikes.size == spikes.size and spikes.size:
        print(f"| largest spike-time difference (ms) | | {np.max(np.abs(spikes - ref_spikes)):.2f} |")
    if sahp is not None:
        trace, every = sahp
        ref = sol.sol(t_rule[every - 1 :: every])
        for k, name in ((2, "c"), (3, "a"), (4, "b")):
            err = np.max(np.abs(trace[every - 1 :: every, k] - ref[k]))
            print(f"| {name}: peak; largest difference (every 0.5 s) | {ref[k].max():.4f} | {err:.2e} |")


def single_cell() -> None:
    p = dataclasses.replace(model.PRESETS["isolated_15pA"], sigma_pA_per_sqrt_ms=0.0)
    duration_ms = 120_000.0
    trace = _rule_trace(p, duration_ms, seed=1)
    t_rule = np.arange(1, trace.shape[0] + 1) * p.dt_ms
    _compare("15 pA applied, no release, no noise (their figure 2 set-up), 120 s", t_rule, trace[:, 0],
             _scipy_trace(p, duration_ms), duration_ms, sahp=(trace, round(500 / p.dt_ms)))
    p = model.PRESETS[model.DEFAULT_PRESET]
    duration_ms = 300_000.0
    trace = _rule_trace(p, duration_ms, seed=1)
    t_rule = np.arange(1, trace.shape[0] + 1) * p.dt_ms
    # W has a kink at every step, so LSODA takes about 25 evaluations per step at rtol 1e-9 (40 minutes for
    # 300 s); at 1e-7 it takes 7, and over 60 s its spikes lie within 0.05 ms of those at 1e-9.
    sol = _scipy_trace(p, duration_ms, w_path=np.r_[0.0, trace[:, 7]], rtol=1e-7)
    _compare("default parameters, noise current W (SciPy along the rule's W path), 300 s", t_rule, trace[:, 0],
             sol, duration_ms)


def run_sheets(engine: str, seeds: list[int], warm_s: float, record_s: float, n: int) -> np.ndarray:
    p = model.PRESETS[model.DEFAULT_PRESET]
    steps = round(FRAME_S / p.dt_s)
    n_warm, n_frames = round(warm_s / FRAME_S), round(record_s / FRAME_S)
    frames = np.empty((len(seeds), n_frames, n, n), np.float32)
    if engine == "fixed":
        sheets = PullSheets(build_pull_cpu_runner(rule.build_rule), n, n, model.quantise([p] * len(seeds)),
                            retina_keys(seeds), model.tables(_lattice(n, n)), len(rule.STATE_FIELDS))
        for k in range(n_warm + n_frames):
            sheets.advance(steps)
            if k >= n_warm:
                frames[:, k - n_warm] = sheets.field(rule.F_C) / 2.0**rule.C_SHIFT
        return frames
    for b, seed in enumerate(seeds):
        sheet = FloatSheet(p, (n, n), key=int(retina_keys([seed])[0]))
        for k in range(n_warm + n_frames):
            for _ in range(steps):
                sheet.step()
            if k >= n_warm:
                frames[b, k - n_warm] = sheet.u["c"]
    return frames


def statistics(c_frames: np.ndarray, threshold: float = 0.15) -> dict[str, float]:
    """The table's statistics of one calcium movie; one pixel per cell, lengths in cells (local fits of 4 cells)."""
    stats, waves = wave_statistics(np.asarray(c_frames) > threshold, 1.0, AnalysisParams(local_speed_radius_um=4.0))
    stats["speed_cells_per_s"] = stats.pop("speed_um_per_s")
    directions = waves.direction_rad[np.isfinite(waves.direction_rad)]
    stats["direction_bias"] = direction_bias(directions)
    # +90 degrees is towards increasing rows, where GABA drifts
    stats["mean_direction_deg"] = float(np.degrees(np.angle(np.exp(1j * directions).sum()))) if directions.size else np.nan
    return stats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("single-cell", help="the single-cell tables (rule against SciPy)")
    run = sub.add_parser("run", help="simulate the authors' sheet and save calcium movies")
    run.add_argument("engine", choices=("float", "fixed"))
    run.add_argument("--seeds", default="1-4")
    run.add_argument("--warmup-s", type=float, default=30.0)
    run.add_argument("--record-s", type=float, default=120.0)
    run.add_argument("--nodes", type=int, default=model.AUTHORS_NODES, help="cells per side of the square sheet")
    run.add_argument("--out", type=Path, required=True)
    tab = sub.add_parser("table", help="the statistics table of saved runs (one folder per engine)")
    tab.add_argument("folders", type=Path, nargs="+")
    args = parser.parse_args()
    if args.command == "single-cell":
        single_cell()
    elif args.command == "table":
        print(table(args.folders, statistics, STATISTICS))
    else:
        seeds = _seeds(args.seeds)
        out = args.out / args.engine
        out.mkdir(parents=True, exist_ok=True)
        start = time.perf_counter()
        for seed, frames in zip(seeds, run_sheets(args.engine, seeds, args.warmup_s, args.record_s, args.nodes)):
            np.save(out / f"seed{seed}_c.npy", frames)
        print(f"{args.engine}: {len(seeds)} seeds in {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
