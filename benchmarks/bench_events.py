"""Dense ``cpu`` against event-driven ``cpu-events``: cell-updates per second on one thread and two.

Usage::

    python benchmarks/bench_events.py            # 3.6k, 20k and 200k cells
    python benchmarks/bench_events.py --quick    # short warm-up and timing (smoke test)
    python benchmarks/bench_events.py --cells 1000000   # other sizes; peak RSS is printed at the end
    python benchmarks/bench_events.py --cells 0 --fit ../shared/recordings/Kirkby2013_02_WT_P5.h5
        # only the fit: `wavesim fit` of 20 trials with each engine, wall time of the whole fit

Mouse preset, one square retina per case. Each case warms up once with
``cpu-events`` (900 s, 36,000 steps) and copies that state into a ``cpu``
engine (the engines are bit-identical, which the tests check), so both time
the same steps of the same waves. Cell-updates/s is cells x steps / wall
seconds for both engines, whatever cells they actually update; ``visited``
is the fraction of cells ``cpu-events`` updated per step while timed, and
``fired`` the fraction of cells that depolarised while timed. Thread counts
go up to ``NUMBA_NUM_THREADS``; ``cpu-events`` runs one retina on one thread.
"""

from __future__ import annotations

import argparse
import math
import resource
import time

import numba
import numpy as np

import wavesim as ws

SPACING_UM = 34.0


def _square(cells: int) -> ws.Retina:
    side = math.sqrt(cells)
    return ws.Retina(width_um=side * SPACING_UM, height_um=side * SPACING_UM * math.sqrt(3) / 2)


def _sim(backend: str, retina: ws.Retina) -> ws.Simulation:
    return ws.Simulation(ws.preset("mouse"), seeds=[0], retina=retina, readout=ws.Readout(um_per_pixel=1000.0),
                         backend=backend)


def _rate(sim: ws.Simulation, steps: int) -> float:
    start = time.perf_counter()
    sim.advance(steps)
    return sim.lattice.n_cells * steps / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short warm-up and timing (smoke test)")
    parser.add_argument("--cells", default="3600,20000,200000",
                        help="comma-separated sheet sizes (cells); 0 for none")
    parser.add_argument("--fit", metavar="RECORDING", help="also time a 20-trial `wavesim fit` of this recording")
    parser.add_argument("--trials", type=int, default=20, help="trials of the fit (default 20)")
    args = parser.parse_args()
    warm = 2000 if args.quick else 36000
    budget = 2e7 if args.quick else 4e8  # dense cell-updates per timing
    threads = sorted({1, min(2, numba.config.NUMBA_NUM_THREADS)})
    rows = []
    for target in (int(float(c)) for c in args.cells.split(",") if float(c) > 0):
        events = _sim("cpu-events", _square(target))
        events.advance(warm)
        n = events.lattice.n_cells
        steps = max(2000, int(budget / n))
        for k in threads:
            numba.set_num_threads(k)
            dense = _sim("cpu", _square(target))
            dense.engine.state_array[...] = np.stack(list(events.state().values()))
            dense.engine.t = events.step
            dense_rate = _rate(dense, steps)
            visits0 = events.engine.visits.sum()
            events_rate = _rate(events, steps)
            visited = (events.engine.visits.sum() - visits0) / (n * steps)
            age = events.step - events.state()["onset"].astype(np.int64)
            fired = float(((age >= 0) & (age < steps)).sum()) / n
            rows.append((n, k, steps, dense_rate, events_rate, visited, fired))
            print(f"  done: {n} cells, {k} thread(s)", flush=True)
    print()
    print(f"wavesim {ws.__version__}, mouse preset, warm-up {warm} steps, one retina")
    header = (f"{'cells':>8} {'threads':>7} {'steps':>7} {'dense upd/s':>12} {'events upd/s':>13} {'speed-up':>8} "
              f"{'visited':>8} {'fired':>6}")
    print(header)
    print("-" * len(header))
    for n, k, steps, d, e, v, f in rows:
        print(f"{n:>8} {k:>7} {steps:>7} {d:>12.2e} {e:>13.2e} {e / d:>7.1f}x {v:>8.2%} {f:>6.1%}")
    if args.fit:
        _time_fits(args.fit, args.trials)
    # ru_maxrss is in KiB on Linux: the peak of the whole run, so of its largest case (both engines alive).
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GiB")


def _time_fits(recording: str, trials: int) -> None:
    """Wall time of the same fit with each engine (warm-state cache off: every warm-up is simulated)."""
    import json
    import tempfile
    from pathlib import Path

    from wavesim.cli import main as cli

    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    lines = []
    for backend in ("cpu", "cpu-events"):
        with tempfile.TemporaryDirectory() as out:
            start = time.perf_counter()
            cli(["fit", recording, "--out", out, "--trials", str(trials), "--sampler-seed", "0", "--backend", backend,
                 "--no-warm-cache", "--no-progress"])
            wall = time.perf_counter() - start
            report = json.loads((Path(out) / "report.json").read_text())
        lines.append((backend, wall, report))
    print(f"\nwavesim fit {recording} --trials {trials} --sampler-seed 0 --no-warm-cache, "
          f"{numba.config.NUMBA_NUM_THREADS} threads:")
    for backend, wall, report in lines:
        print(f"  --backend {backend:<10} {wall:6.1f} s wall, best distance {report['best_distance']:.4f} "
              f"at trial {report['best_trial']}")
    print(f"  speed-up {lines[0][1] / lines[1][1]:.1f}x")


if __name__ == "__main__":
    main()
