"""Score fitted parameter sets on recordings they were not fitted to.

A fit to one retina is only useful if it describes other retinas of the same
age. This script scores the preset and each given parameter file on every
recording with the objective of ``wavesim fit`` (same retinas, same virtual
electrodes, same analysis), and prints one row per recording.

    python examples/fit_held_out.py --params fits/p5/best_params.toml \
        --params fits/p6/best_params.toml ../shared/recordings/Kirkby2013_*_WT_*.h5

Run it with NUMBA_NUM_THREADS=1 on small machines (the 8x8 arrays give small
lattices, which Numba's parallel loops do not speed up).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from wavesim import preset
from wavesim.models import load_params_file
from wavesim.fit.objective import Objective, SimulationSettings, UnfittableRecordingError
from wavesim.io.recordings import load_recording


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("recordings", nargs="+", help="MEA recordings (.h5)")
    parser.add_argument("--params", action="append", default=[], help="parameter file (TOML); repeatable")
    parser.add_argument("--preset", default="mouse")
    parser.add_argument("--retinas", type=int, default=2)
    parser.add_argument("--warmup-s", type=float, default=SimulationSettings().warmup_s)
    parser.add_argument("--margin-um", type=float, default=SimulationSettings().margin_um)
    parser.add_argument("--backend", default="auto")
    parser.add_argument("--json", default=None, help="also write the rows to this JSON file")
    args = parser.parse_args()

    candidates = {args.preset: preset(args.preset)}
    for path in args.params:
        candidates[Path(path).parent.name or Path(path).stem] = load_params_file(path)
    simulation = SimulationSettings(n_retinas=args.retinas, warmup_s=args.warmup_s, margin_um=args.margin_um,
                                    backend=args.backend)
    names = list(candidates)
    print(f"{'recording':<26} {'age':>4} {'waves':>5}  " + "  ".join(f"{n[:22]:>22}" for n in names))
    rows = []
    for path in args.recordings:
        recording = load_recording(path)
        started = time.perf_counter()
        try:
            objective = Objective(recording, simulation=simulation)
        except UnfittableRecordingError as exc:
            print(f"{recording.name:<26} skipped: {exc}")
            continue
        evaluations = objective.evaluate(list(candidates.values()))
        row = {"recording": recording.name, "age": recording.age, "recorded_waves": objective.recorded.n_waves,
               "distance": {n: e.distance for n, e in zip(names, evaluations)},
               "distance_sem": {n: e.distance_sem for n, e in zip(names, evaluations)},
               "seconds": time.perf_counter() - started}
        rows.append(row)
        cells = "  ".join(f"{e.distance:>13.3f} +- {e.distance_sem:.3f}" for e in evaluations)
        print(f"{recording.name:<26} {recording.age if recording.age is not None else '?':>4} {objective.recorded.n_waves:>5}  {cells}", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
