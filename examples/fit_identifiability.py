"""Map the fit objective over H1 x P_s for waves of known parameters.

The problem of the parameter-recovery test (tests/fit/test_fit.py): an 800 s
virtual recording of a 5 x 5 array (100 um pitch) of waves with H1 = 4,
P_s = 3 s, D_s = 1 s, scored against candidates simulated on 3 retinas of
300 s each. The printed grid shows the valley of near-equal distances along
H1 / P_s = const (docs/fit_examples.md, "Identifiability"). About 8 minutes
on one core.

    NUMBA_NUM_THREADS=1 python examples/fit_identifiability.py [--recording-seed 777]
"""

from __future__ import annotations

import argparse

import numpy as np

from wavesim import AmacrineParams
from wavesim.fit.objective import Objective, SimulationSettings, VirtualArray
from wavesim.analysis import electrode_grid


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recording-seed", type=int, default=777)
    args = parser.parse_args()

    def params(**values):
        return AmacrineParams(**{"P_s": 3.0, "D_s": 1.0, "spont_rate_hz": 0.0, **values})

    geometry = dict(margin_um=200.0, warmup_s=30.0, backend="cpu")
    truth = params(H1=4.0, P_s=3.0)
    recording = VirtualArray(electrode_grid(5, 5, 100.0), 800.0,
                             SimulationSettings(n_retinas=1, seed=args.recording_seed, burst_rate_hz=30.0,
                                                burst_decay_s=1.5, **geometry)).recordings(truth)[0]
    objective = Objective(recording, simulation=SimulationSettings(n_retinas=3, seed=1, duration_s=300.0, **geometry))
    p_values = np.arange(2.25, 4.76, 0.25)
    print("distance to the recording (truth H1 = 4, P_s = 3)")
    print("H1 \\ P_s " + " ".join(f"{p:6.2f}" for p in p_values) + "   best P_s")
    for h1 in (3.0, 3.5, 4.0, 4.5, 5.0, 5.5, 6.0):
        distances = [e.distance for e in objective.evaluate([params(H1=h1, P_s=float(p)) for p in p_values])]
        best = int(np.argmin(distances))
        print(f"{h1:8.1f}  " + " ".join(f"{d:6.3f}" for d in distances) + f"   {p_values[best]:.2f} ({distances[best]:.3f})",
              flush=True)


if __name__ == "__main__":
    main()
