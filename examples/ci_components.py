"""Where the correlation index of a recording comes from, and how much of it each virtual electrode model reproduces.

For the recordings fitted in docs/fit_examples.md and the parameters fitted
to them, the CI against distance of:

- the recording;
- the recording with every spike moved to a uniformly random time inside
  its own burst (:func:`wavesim.analysis.jitter_within_bursts`): the bursts'
  envelopes (where and when each electrode is active) stay, any synchrony
  finer than a burst goes;
- the fitted model, one simulation per recording (2 retinas), seen through
  each electrode model of the fit: Poisson electrodes (a constant 20 Hz
  while a pixel is active), burst electrodes (a rate decaying from each
  burst's start) and synchronous electrodes (bursts whose rates share a
  spatially correlated gain, :class:`wavesim.analysis.SharedSynchrony`), the
  last two with their values estimated from the recording.

If the jittered recording keeps most of the CI, the CI is set by the burst
envelopes, which are the wave model's, not by how electrodes fire within a
burst. The last rows compare the envelopes themselves: for electrodes
100-150 um apart, how often a burst of one comes with a burst of the other,
and when they do, how far apart their onsets are and how long they overlap.

    NUMBA_NUM_THREADS=1 python examples/ci_components.py --recordings ../shared/recordings

``--params REC=best_params.toml`` (repeatable; a recording may take several)
replaces the parameters below with those of fits, e.g. one fitted with burst
and one with synchronous electrodes; each fit's rows are named by its folder.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import numpy as np

import wavesim as ws
from wavesim.analysis import AnalysisParams, detect_spike_bursts, jitter_within_bursts
from wavesim.fit.objective import Objective
from wavesim.fit.statistics import fit_statistics
from wavesim.fit.virtual import ELECTRODE_MODELS, SimulationSettings, VirtualArray
from wavesim.io.recordings import load_recording
from wavesim.models import load_params_file

#: The burst-electrode fits of docs/fit_examples.md (sampler seed 1): parameters and the simulated margin (um).
FITS = {
    "Kirkby2013_02_WT_P5.h5": (dict(H1=3.0885, H2=0.8571, D_s=2.4661, P_s=7.1053, tau_K_s=0.5393), 500.0),
    "Kirkby2013_09_WT_P6.h5": (dict(H1=7.1479, H2=0.714, D_s=3.0985, P_s=13.2273, tau_K_s=0.4948), 500.0),
    "Maccione2014_P6_09May2011_control_bursts_filtered.h5": (
        dict(H1=2.7866, H2=0.8001, D_s=1.9564, P_s=18.2314, tau_K_s=0.7794), 300.0),
}
BINS_UM = (100, 200, 400)


def ci_at(stats_list, bins_um=BINS_UM) -> list[float]:
    """Mean CI (over retinas) in the distance bins starting at ``bins_um``."""
    out = []
    for start in bins_um:
        values = [c for s in stats_list for d, c in zip(s.ci_distance_um, s.ci_mean) if d == start]
        out.append(float(np.mean(values)) if values else float("nan"))
    return out


def neighbour_envelopes(spike_times_s, positions_um, analysis, near_um=(100.0, 150.0)) -> tuple[float, ...]:
    """For pairs of electrodes ``near_um`` apart: median burst duration (s); the fraction of one's bursts that
    overlap a burst of the other; and for those, the median onset lag (s) and overlap (s)."""
    bursts = detect_spike_bursts(spike_times_s, analysis)
    by_site = {s: np.flatnonzero(bursts.site == s) for s in np.unique(bursts.site)}
    distance = np.sqrt(((positions_um[:, None] - positions_um[None]) ** 2).sum(-1))
    lags, overlaps, coincident, total = [], [], 0, 0
    for a, b in zip(*np.nonzero((distance >= near_um[0]) & (distance < near_um[1]))):
        if a == b or a not in by_site or b not in by_site:
            continue
        on_a, end_a = bursts.onset_s[by_site[a]], bursts.end_s[by_site[a]]
        on_b, end_b = bursts.onset_s[by_site[b]], bursts.end_s[by_site[b]]
        overlap = np.minimum(end_a[:, None], end_b[None]) - np.maximum(on_a[:, None], on_b[None])
        coincident += int((overlap > 0).any(axis=1).sum())
        total += on_a.size
        if a < b:
            i, j = np.nonzero(overlap > 0)
            lags.extend(np.abs(on_a[i] - on_b[j]))
            overlaps.extend(overlap[i, j])
    duration = np.median(bursts.end_s - bursts.onset_s)
    return float(duration), coincident / max(total, 1), float(np.median(lags)), float(np.median(overlaps))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recordings", type=Path, default=Path("../shared/recordings"))
    parser.add_argument("--retinas", type=int, default=2)
    parser.add_argument("--backend", default="cpu-events")
    parser.add_argument("--params", action="append", default=[], metavar="REC=PATH",
                        help="fitted parameters (best_params.toml) of recording file REC; repeatable")
    args = parser.parse_args()
    fits: dict[str, list[tuple[str, object]]] = {}
    for item in args.params:
        name, _, path = item.partition("=")
        if name not in FITS or not path:
            parser.error(f"--params {item!r}: give REC=PATH with REC one of {sorted(FITS)}")
        fits.setdefault(name, []).append((Path(path).parent.name, load_params_file(path)))
    if not fits:
        fits = {name: [("", dataclasses.replace(ws.preset("mouse"), **values))] for name, (values, _) in FITS.items()}
    analysis = AnalysisParams()
    print("| recording | source | " + " | ".join(f"CI {b}-{b + 50} um" for b in BINS_UM) + " |")
    print("|---|---|" + "---|" * len(BINS_UM))
    envelopes = []
    for name, params_sets in fits.items():
        margin_um = FITS[name][1]
        recording = load_recording(args.recordings / name)
        jittered = dataclasses.replace(recording, spike_times_s=jitter_within_bursts(recording.spike_times_s, analysis))
        rows = {"recorded": ci_at([fit_statistics(recording, analysis, 0.01)]),
                "recorded, jittered within bursts": ci_at([fit_statistics(jittered, analysis, 0.01)])}
        simulation = SimulationSettings(n_retinas=args.retinas, margin_um=margin_um, backend=args.backend,
                                        electrodes="synchronous")
        # the objective estimates every electrode model's values from the recording; one simulation serves all
        estimated = Objective(recording, simulation=simulation, analysis=analysis).simulation
        arrays = {model: VirtualArray(recording.positions_um, recording.duration_s,
                                      dataclasses.replace(estimated, electrodes=model), analysis.activity_threshold)
                  for model in ELECTRODE_MODELS}
        envelopes.append((recording.name, "recorded",
                          neighbour_envelopes(recording.spike_times_s, recording.positions_um, analysis)))
        for label, fitted in params_sets:
            frames = arrays["burst"].simulate([fitted])
            for model, array in arrays.items():
                recordings = [array.recording(frames[r], r) for r in range(args.retinas)]
                fit_name = f"fitted model ({label})" if label else "fitted model"
                rows[f"{fit_name}, {model} electrodes"] = ci_at([fit_statistics(v, analysis, 0.01)
                                                                 for v in recordings])
            envelopes.append((recording.name, fit_name, np.mean([
                neighbour_envelopes(v.spike_times_s, v.positions_um, analysis) for v in recordings], axis=0)))
        for source, cis in rows.items():
            print(f"| {recording.name} | {source} | " + " | ".join(f"{c:.1f}" for c in cis) + " |")
        print(f"| {recording.name} | electrodes from the recording | burst: {estimated.burst_rate_hz:.1f} Hz at the "
              f"start, decay {estimated.burst_decay_s:.1f} s; shared gain: variance {estimated.sync_gain_variance:.2f},"
              f" length {estimated.sync_length_um:.0f} um, bins {estimated.sync_time_s:.2f} s | | |", flush=True)
    print("\n| recording | source | median burst (s) | bursts with a burst of an electrode 100-150 um away | "
          "onset lag of those (s) | their overlap (s) |\n|---|---|---|---|---|---|")
    for name, source, (duration, together, lag, overlap) in envelopes:
        print(f"| {name} | {source} | {duration:.2f} | {together:.2f} | {lag:.2f} | {overlap:.2f} |")


if __name__ == "__main__":
    main()
