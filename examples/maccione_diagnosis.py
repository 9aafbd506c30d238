"""Why the Maccione2014 P6 fit is poor: three causes, each tested on its own.

The fit of Maccione2014_P6_09May2011 (docs/fit_examples.md) matched the IWI
and burst duration, but its waves covered a third of the recorded fraction of
the array and ran nearly twice as fast. Three suspects:

1. **The recording keeps only spikes inside bursts.** Filter the 11
   Kirkby2013 wild-type recordings (all spikes kept) the same way and compare
   their statistics before and after.
2. **The dense array** (444 electrodes, 42 um pitch, against 60 at 100 um).
   Compute the statistics of the Maccione recording, and of a simulation seen
   through its layout, on all electrodes and on the subset nearest a 100 um
   grid.
3. **The model.** A Latin-hypercube design over wide ranges of the five
   fitted parameters, each point simulated through the Maccione layout: does
   any make waves as large and as slow as the recording's at its IWI?

    NUMBA_NUM_THREADS=1 python examples/maccione_diagnosis.py --recordings ../shared/recordings --points 16

About 20 minutes on one core, most of it part 3.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import numpy as np

import wavesim as ws
from wavesim.analysis import AnalysisParams, detect_spike_bursts
from wavesim.fit.objective import Objective, SimulationSettings, fit_statistics
from wavesim.io.recordings import MEARecording, load_recording
from wavesim.sweep.design import SweepDesign

MACCIONE = "Maccione2014_P6_09May2011_control_bursts_filtered.h5"
#: The Maccione P6 fit of docs/fit_examples.md.
MACCIONE_FIT = dict(H1=5.78, H2=2.29, D_s=1.77, P_s=15.6, tau_K_s=0.575)
COLUMNS = (("n_waves", "waves", "{:.0f}"), ("median_iwi_s", "IWI (s)", "{:.1f}"),
           ("median_burst_duration_s", "burst (s)", "{:.2f}"), ("mean_size_fraction", "size", "{:.3f}"),
           ("median_speed_um_per_s", "speed (um/s)", "{:.0f}"), ("participation_fraction", "particip.", "{:.2f}"),
           ("ci_100_um", "CI 100-150 um", "{:.1f}"))


def statistics(recording: MEARecording, analysis: AnalysisParams) -> dict[str, float]:
    return as_row(fit_statistics(recording, analysis, 0.01))


def as_row(stats) -> dict[str, float]:
    row = {name: float(getattr(stats, name)) for name, _, _ in COLUMNS[:-1]}
    at_100 = stats.ci_mean[stats.ci_distance_um == 100.0]
    row["ci_100_um"] = float(at_100[0]) if at_100.size else float("nan")
    return row


def row(label: str, stats: dict[str, float]) -> str:
    return f"| {label} | " + " | ".join(fmt.format(stats[name]) for name, _, fmt in COLUMNS) + " |"


def header(first: str, extra=()) -> str:
    titles = [title for _, title, _ in COLUMNS] + list(extra)
    return f"| {first} | " + " | ".join(titles) + " |\n|" + "---|" * (len(titles) + 1)


def in_bursts_only(recording: MEARecording, analysis: AnalysisParams) -> MEARecording:
    """The recording with only the spikes inside detected bursts, as the Maccione2014 files hold."""
    bursts = detect_spike_bursts(recording.spike_times_s, analysis)
    kept = []
    for channel, times in enumerate(recording.spike_times_s):
        mine = bursts.site == channel
        starts, ends = bursts.onset_s[mine], bursts.end_s[mine]
        if starts.size == 0:
            kept.append(times[:0])
            continue
        which = np.searchsorted(starts, times, "right") - 1
        inside = (which >= 0) & (times <= ends[np.maximum(which, 0)])
        kept.append(times[inside])
    return dataclasses.replace(recording, spike_times_s=tuple(kept))


def on_a_coarser_grid(recording: MEARecording, pitch_um: float) -> MEARecording:
    """The channels nearest the points of a square grid of ``pitch_um`` (within a third of the pitch)."""
    low, high = recording.positions_um.min(axis=0), recording.positions_um.max(axis=0)
    xs, ys = (np.arange(lo, hi + 1e-9, pitch_um) for lo, hi in zip(low, high))
    chosen = set()
    for x in xs:
        for y in ys:
            distance = np.hypot(*(recording.positions_um - [x, y]).T)
            nearest = int(np.argmin(distance))
            if distance[nearest] <= pitch_um / 3:
                chosen.add(nearest)
    keep = np.array(sorted(chosen))
    return dataclasses.replace(recording, spike_times_s=tuple(recording.spike_times_s[k] for k in keep),
                               positions_um=recording.positions_um[keep])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recordings", type=Path, default=Path("../shared/recordings"))
    parser.add_argument("--points", type=int, default=40, help="points of the design of part 3")
    parser.add_argument("--backend", default="cpu-events")
    args = parser.parse_args()
    analysis = AnalysisParams()

    print("## 1. Keeping only in-burst spikes (11 Kirkby2013 WT recordings, mean over recordings)\n")
    full, filtered = [], []
    for path in sorted(args.recordings.glob("Kirkby2013_*_WT_*.h5")):
        recording = load_recording(path)
        full.append(statistics(recording, analysis))
        filtered.append(statistics(in_bursts_only(recording, analysis), analysis))
    print(header("spikes"))
    for label, rows in (("all", full), ("in bursts only", filtered)):
        print(row(label, {k: float(np.nanmean([r[k] for r in rows])) for k in rows[0]}))

    print("\n## 2. The dense array: all electrodes against a 100 um subset\n")
    maccione = load_recording(args.recordings / MACCIONE)
    coarse = on_a_coarser_grid(maccione, 100.0)
    print(header("data"))
    print(row(f"recording, all {len(maccione.spike_times_s)} electrodes", statistics(maccione, analysis)))
    print(row(f"recording, {len(coarse.spike_times_s)} at ~100 um", statistics(coarse, analysis)))
    simulation = SimulationSettings(n_retinas=1, seed=0, duration_s=900.0, backend=args.backend)
    objective = Objective(maccione, simulation=simulation)
    fitted = dataclasses.replace(ws.preset("mouse"), **MACCIONE_FIT)
    frames = objective.array.simulate([fitted])
    virtual = objective.array.recording(frames[0], 0)
    print(row("fitted model, all electrodes", statistics(virtual, analysis)))
    print(row("fitted model, ~100 um subset", statistics(on_a_coarser_grid(virtual, 100.0), analysis)))

    print(f"\n## 3. The model: {args.points} points over wide ranges, through the Maccione layout (900 s each)\n")
    ranges = {"H1": (1.0, 20.0, "log"), "H2": (0.0, 3.0), "D_s": (0.5, 5.0), "P_s": (2.0, 200.0, "log"),
              "tau_K_s": (0.05, 2.0, "log")}
    design = SweepDesign.random(fitted, ranges, args.points, design_seed=0)
    candidates = [dataclasses.replace(fitted, **point) for point in design.points]
    results = []
    for first in range(0, len(candidates), 8):
        for ev in objective.evaluate(candidates[first:first + 8]):
            results.append(as_row(ev.statistics[0]))
        print(f"  {len(results)} of {len(candidates)} points", flush=True)
    recorded = statistics(maccione, analysis)
    print(header("point", ranges))
    order = np.argsort([-r["mean_size_fraction"] if np.isfinite(r["mean_size_fraction"]) else 0 for r in results])
    for i in order:
        p = design.points[i]
        print(row(str(i), results[i]) + " " + " | ".join(f"{p[k]:.3g}" for k in ranges) + " |")
    print(row("recording", recorded))
    big = [r for r in results if r["mean_size_fraction"] >= 0.2]
    slow_and_big = [r for r in big if r["median_speed_um_per_s"] <= 100]
    print(f"\npoints with waves covering >= 20% of the array: {len(big)}; of them at <= 100 um/s: {len(slow_and_big)}")


if __name__ == "__main__":
    main()
