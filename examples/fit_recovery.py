"""Parameter recovery of `wavesim fit` with burst electrodes, over several sampler seeds.

The problem of the recovery test (tests/fit/test_fit.py): an 800 s virtual
recording of a 5 x 5 array (100 um pitch) of waves with H1 = 4, P_s = 3 s,
D_s = 1 s, whose electrodes fire bursts (30 Hz at the start, decaying in
1.5 s). Each fit takes its electrodes' rate and decay from the recording,
simulates 3 retinas x 300 s per candidate (``--retinas``), and runs CMA-ES over +-50% ranges
(40 trials in batches of 4, pruned by default as in ``wavesim fit``: each
candidate first scored on the first 100 s of its recording) from the test's
start (H1 = 4, P_s = 3 s, D_s = 1.5 s; CMA-ES itself starts at the centre of the ranges). The table gives the errors of the identifiable
combinations H1/P_s and D_s, and the best distance against the truth's own:
a best below the truth's is the objective's noise, not the search. About a
minute per seed on one core.

    NUMBA_NUM_THREADS=1 python examples/fit_recovery.py --seeds 0 1 2 3
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from wavesim import AmacrineParams
from wavesim.analysis import electrode_grid
from wavesim.fit import PRUNERS, PruningSettings, fit
from wavesim.fit.objective import Objective, SimulationSettings, VirtualArray


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1], help="sampler seeds")
    parser.add_argument("--retinas", type=int, default=3, help="retinas of 300 s per candidate (the test's: 3)")
    parser.add_argument("--pruning", choices=PRUNERS, default="halving", help="as wavesim fit --pruning")
    args = parser.parse_args()

    def params(**values):
        return AmacrineParams(**{"P_s": 3.0, "spont_rate_hz": 0.0, **values})

    geometry = dict(margin_um=200.0, warmup_s=30.0, backend="cpu-events")
    truth = params(H1=4.0, P_s=3.0, D_s=1.0)
    recorded = SimulationSettings(n_retinas=1, seed=777, burst_rate_hz=30.0, burst_decay_s=1.5, **geometry)
    recording = VirtualArray(electrode_grid(5, 5, 100.0), 800.0, recorded).recordings(truth)[0]
    simulation = SimulationSettings(n_retinas=args.retinas, seed=1, duration_s=300.0, **geometry)
    objective = Objective(recording, simulation=simulation)
    truth_distance = objective.evaluate([truth])[0]
    print(f"electrodes from the recording: {objective.simulation.burst_rate_hz:.1f} Hz at the start, decay "
          f"{objective.simulation.burst_decay_s:.2f} s (truth 30 Hz, 1.5 s)")
    print(f"truth's distance {truth_distance.distance:.3f} +- {truth_distance.distance_sem:.3f}")
    print("| sampler seed | H1 | P_s (s) | D_s (s) | H1/P_s error | D_s error | best distance | trials pruned |")
    print("|---|---|---|---|---|---|---|---|")
    for seed in args.seeds:
        with tempfile.TemporaryDirectory() as out:
            # the start: H1 and P_s at the truth's, D_s = 2.3 s clipped to 1.5 s, as in the test
            result = fit(recording, Path(out), base=params(), fitted=(),
                         ranges={"H1": (2.0, 6.0), "P_s": (1.5, 4.5), "D_s": (0.5, 1.5)}, n_trials=40,
                         batch_size=4, sampler="cmaes", sampler_seed=seed, simulation=simulation, progress=False,
                         pruning=PruningSettings(pruner=args.pruning))
        f = result.report["fitted_parameters"]
        ratio_error = abs(f["H1"] / f["P_s"] - truth.H1 / truth.P_s) / (truth.H1 / truth.P_s)
        d_error = abs(f["D_s"] - truth.D_s) / truth.D_s
        print(f"| {seed} | {f['H1']:.2f} | {f['P_s']:.2f} | {f['D_s']:.3f} | {ratio_error:.1%} | {d_error:.1%} | "
              f"{result.best_distance:.3f} +- {result.best_distance_sem:.3f} | {result.report['n_trials_pruned']} |",
              flush=True)


if __name__ == "__main__":
    main()
