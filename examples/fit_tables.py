"""The statistics of a recording beside those of the mouse preset and of fitted parameter sets.

Every parameter set is simulated and sampled as ``wavesim fit`` does (the
same retinas and margin, the electrodes of ``--electrodes`` estimated from the recording, local speed),
and the table gives the fit's statistics, the CI at three distances and the
distance (mean +- standard error over the retinas).

    NUMBA_NUM_THREADS=1 python examples/fit_tables.py ../shared/recordings/Kirkby2013_02_WT_P5.h5 \
        --params fits/p5/best_params.toml
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from wavesim import preset
from wavesim.fit.objective import Objective, SimulationSettings
from wavesim.fit.virtual import ELECTRODE_MODELS
from wavesim.io.recordings import load_recording
from wavesim.models import load_params_file

ROWS = (("n_waves", "waves (n)", "{:.1f}"), ("median_iwi_s", "median IWI (s)", "{:.1f}"),
        ("median_burst_duration_s", "median burst duration (s)", "{:.2f}"),
        ("mean_size_fraction", "mean wave size (fraction)", "{:.3f}"),
        ("median_speed_um_per_s", "median local speed (um/s)", "{:.0f}"),
        ("participation_fraction", "participation", "{:.2f}"))
CI_BINS_UM = (100.0, 200.0, 400.0)


def column(stats) -> list[str]:
    """One column of the table from the statistics of one or more retinas."""
    cells = []
    for name, _, fmt in ROWS:
        values = np.array([getattr(s, name) for s in stats], dtype=float)
        cells.append(fmt.format(np.nanmean(values)) if np.isfinite(values).any() else "n/a")
    for start in CI_BINS_UM:
        values = [c for s in stats for d, c in zip(s.ci_distance_um, s.ci_mean) if d == start]
        cells.append(f"{np.mean(values):.1f}" if values else "n/a")
    return cells


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("recording", type=Path)
    parser.add_argument("--params", type=Path, action="append", default=[], help="fitted parameter file; repeatable")
    parser.add_argument("--retinas", type=int, default=2)
    parser.add_argument("--margin-um", type=float, default=SimulationSettings().margin_um)
    parser.add_argument("--electrodes", choices=ELECTRODE_MODELS, default=SimulationSettings().electrodes,
                        help="virtual electrodes, as the fit's --electrodes")
    parser.add_argument("--backend", default="auto")
    args = parser.parse_args()
    recording = load_recording(args.recording)
    objective = Objective(recording, simulation=SimulationSettings(n_retinas=args.retinas, margin_um=args.margin_um,
                                                                   electrodes=args.electrodes, backend=args.backend))
    sets = {"mouse preset": preset("mouse")} | {p.parent.name or p.stem: load_params_file(p) for p in args.params}
    evaluations = objective.evaluate(list(sets.values()))
    s = objective.simulation
    shared = (f"; shared gain: variance {s.sync_gain_variance:.2f}, length {s.sync_length_um:.0f} um, "
              f"bins {s.sync_time_s:.2f} s" if s.electrodes == "synchronous" else "")
    print(f"{recording.name}: {s.electrodes} electrodes {s.burst_rate_hz:.1f} Hz at the start, decay "
          f"{s.burst_decay_s:.1f} s{shared}\n")
    print("| statistic | recorded | " + " | ".join(sets) + " |")
    print("|---|---|" + "---|" * len(sets))
    columns = [column([objective.recorded])] + [column(ev.statistics) for ev in evaluations]
    labels = [title for _, title, _ in ROWS] + [f"CI, {b:.0f}-{b + 50:.0f} um" for b in CI_BINS_UM]
    for i, label in enumerate(labels):
        print(f"| {label} | " + " | ".join(c[i] for c in columns) + " |")
    print("| distance | 0 | " + " | ".join(f"{ev.distance:.3f} +- {ev.distance_sem:.3f}" for ev in evaluations) + " |")
    for name, params in sets.items():
        print(f"{name}: " + ", ".join(f"{k}={getattr(params, k):.3g}" for k in ("H1", "H2", "D_s", "P_s", "tau_K_s")))


if __name__ == "__main__":
    main()
