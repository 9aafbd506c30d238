"""Statistics of directional waves per preset and mode, over many single-wave movies (the README's table).

Usage::

    python examples/directional_stats.py            # 2,000 waves per row
    python examples/directional_stats.py --waves 200

Each wave is a wave-mode movie on the paper's grid (64 x 64 px of 50 um,
0.5 s per frame) of 200 frames, simulated on the CPU; measured with
:func:`wavesim.analysis.single_waves.single_wave_stats`: frames until
nothing is lit, the fraction of pixels reached, the plane-fit speed
(pixels per frame) and direction, and B_wave (the mean resultant length of
the directions).
"""

from __future__ import annotations

import argparse
import dataclasses

import numpy as np

import wavesim as ws
from wavesim.analysis.single_waves import SingleWaveStats, single_wave_stats

GRID = ws.Retina(width_um=3200, height_um=3200, spacing_um=50)
PIXELS = ws.Readout(um_per_pixel=50, frame_period_s=0.5)


def measure(params, n_waves: int, n_frames: int = 200, batch: int = 250) -> SingleWaveStats:
    parts = []
    for first in range(0, n_waves, batch):
        sim = ws.Simulation(params, list(range(first, min(n_waves, first + batch))), retina=GRID, readout=PIXELS)
        movies = np.concatenate([c for _, c in sim.frames(n_frames, n_frames)], axis=1)
        parts.append(single_wave_stats(movies))
    return SingleWaveStats(*[np.concatenate([getattr(p, f.name) for p in parts])
                             for f in dataclasses.fields(SingleWaveStats)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--waves", type=int, default=2000)
    args = parser.parse_args()
    print("| preset | waves | frames per wave | area fraction | speed (px/frame) | B_wave | ended within 200 frames |")
    print("|---|---|---|---|---|---|---|")
    for preset in ("may2025", "teh2023"):
        for directionality in ("directional", "undirectional"):
            params = dataclasses.replace(ws.preset(preset, model="directional"), directionality=directionality)
            s = measure(params, args.waves).summary()
            print(f"| {preset} {directionality} | {s['waves']} | {s['length_frames_mean']:.1f} +- "
                  f"{s['length_frames_sd']:.1f} | {s['area_fraction_mean']:.3f} +- {s['area_fraction_sd']:.3f} | "
                  f"{s['speed_px_per_frame_mean']:.2f} +- {s['speed_px_per_frame_sd']:.2f} | "
                  f"{s['direction_bias']:.3f} | {s['ended']} |")


if __name__ == "__main__":
    main()
