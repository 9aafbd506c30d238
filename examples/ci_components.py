"""Where the correlation index of a recording comes from, and what virtual electrodes can reproduce.

For a Kirkby2013 wild-type recording and the model fitted to it
(docs/fit_examples.md), the CI against distance of:

- the recording;
- the recording with every spike moved to a uniformly random time inside
  its own burst: the bursts' envelopes (where and when each electrode is
  active) stay, any synchrony finer than a burst goes;
- the fitted model seen through Poisson electrodes (a constant 20 Hz while a
  pixel is active) and through burst electrodes (a rate decaying from each
  burst's start, its rate and decay estimated from the recording).

If the jittered recording keeps most of the CI, the CI is set by the burst
envelopes, which are the wave model's, not by how electrodes fire within a
burst.

    NUMBA_NUM_THREADS=1 python examples/ci_components.py --recordings ../shared/recordings
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import numpy as np

import wavesim as ws
from wavesim.analysis import AnalysisParams, detect_spike_bursts, estimate_burst_electrodes
from wavesim.fit.objective import Objective, SimulationSettings, fit_statistics
from wavesim.io.recordings import MEARecording, load_recording

#: The fits of docs/fit_examples.md.
FITS = {
    "Kirkby2013_02_WT_P5.h5": dict(H1=5.37, H2=0.862, D_s=2.37, P_s=13.7, tau_K_s=0.624),
    "Kirkby2013_09_WT_P6.h5": dict(H1=2.76, H2=0.844, D_s=2.98, P_s=5.61, tau_K_s=0.649),
}
BINS_UM = (100, 200, 400)


def jittered_in_bursts(recording: MEARecording, analysis: AnalysisParams, seed: int = 0) -> MEARecording:
    """Each spike inside a burst moved to a uniform time in that burst; spikes outside bursts kept."""
    rng = np.random.default_rng(seed)
    bursts = detect_spike_bursts(recording.spike_times_s, analysis)
    trains = []
    for channel, times in enumerate(recording.spike_times_s):
        times = times.copy()
        mine = bursts.site == channel
        for onset, end in zip(bursts.onset_s[mine], bursts.end_s[mine]):
            inside = (times >= onset) & (times <= end)
            times[inside] = rng.uniform(onset, end, inside.sum())
        trains.append(np.sort(times))
    return dataclasses.replace(recording, spike_times_s=tuple(trains))


def ci_at(stats_list, bins_um=BINS_UM) -> list[float]:
    """Mean CI (over retinas) in the distance bins starting at ``bins_um``."""
    out = []
    for start in bins_um:
        values = [c for s in stats_list for d, c in zip(s.ci_distance_um, s.ci_mean) if d == start]
        out.append(float(np.mean(values)) if values else float("nan"))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recordings", type=Path, default=Path("../shared/recordings"))
    parser.add_argument("--retinas", type=int, default=2)
    parser.add_argument("--backend", default="cpu-events")
    args = parser.parse_args()
    analysis = AnalysisParams()
    print("| recording | source | " + " | ".join(f"CI {b}-{b + 50} um" for b in BINS_UM) + " |")
    print("|---|---|" + "---|" * len(BINS_UM))
    for name, values in FITS.items():
        recording = load_recording(args.recordings / name)
        rows = {"recorded": ci_at([fit_statistics(recording, analysis, 0.01)]),
                "recorded, jittered within bursts": ci_at([fit_statistics(jittered_in_bursts(recording, analysis),
                                                                           analysis, 0.01)])}
        fitted = dataclasses.replace(ws.preset("mouse"), **values)
        for electrodes in ("poisson", "burst"):
            settings = SimulationSettings(n_retinas=args.retinas, electrodes=electrodes, backend=args.backend)
            evaluation = Objective(recording, simulation=settings, analysis=analysis).evaluate([fitted])[0]
            rows[f"fitted model, {electrodes} electrodes"] = ci_at(evaluation.statistics)
        burst = estimate_burst_electrodes(recording.spike_times_s, analysis)
        for source, cis in rows.items():
            print(f"| {recording.name} | {source} | " + " | ".join(f"{c:.1f}" for c in cis) + " |")
        print(f"| {recording.name} | burst model from the recording | {burst.rate_hz:.1f} Hz at the start, "
              f"decay {burst.decay_s:.1f} s | | |", flush=True)


if __name__ == "__main__":
    main()
