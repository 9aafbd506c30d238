"""Wave statistics of every preset, as a markdown table.

For each preset in ``wavesim.PRESETS`` this simulates a batch of retinas
(default: 2 seeds, 4 mm x 4 mm rectangle, CPU), warms them up for 900 s,
records 20 min of binary frames at 34 um/pixel and 4 frames/s, and measures
with :mod:`wavesim.analysis`:

* wave speed (um/s): mean and median over the waves with a speed: by
  default each wave's median local speed (plane fits of the onsets within
  ``local_speed_radius_um`` of each pixel), with ``speed_method="front"``
  one plane or circular front fitted to the whole wave (adjusted R^2 >=
  ``min_fit_r2``);
* inter-wave interval (IWI, s): mean over pixels of the time between the
  onsets of consecutive waves that recruited the pixel;
* wave area (mm^2): mean over waves of the recruited pixels times the pixel
  area;
* waves per minute over the whole retina.

"Waves" are space-time connected components that recruit at least
``AnalysisParams.min_size_fraction`` of the pixels (5 % by default: 0.8 mm^2
on a 4 mm x 4 mm retina); smaller events (single cells or small clusters that
do not propagate) are not waves. The table's footer states the threshold.

Frames are produced chunk by chunk into one preallocated uint8 array per
batch (the connected-component analysis needs the whole movie); nothing else
is kept. Run::

    python examples/preset_table.py                 # everything as specified
    python examples/preset_table.py --minutes 10    # shorter recording
"""

from __future__ import annotations

import argparse
import math
import sys
import time

import numpy as np

import wavesim as ws
from wavesim.io.recordings import Movie
from wavesim.analysis import AnalysisParams, Summary, combine_summaries, summarize


def simulate_batch(preset: str, args: argparse.Namespace) -> tuple[np.ndarray, float]:
    """Warm up and record one batch; returns (B, T, H, W) uint8 frames and the seconds it took."""
    start = time.perf_counter()
    sim = ws.Simulation(
        ws.preset(preset),
        seeds=args.seeds,
        retina=ws.Retina(width_um=args.size_um, height_um=args.size_um, shape="rectangle"),
        readout=ws.Readout(um_per_pixel=args.um_per_pixel, frame_period_s=args.frame_period_s, kind="binary"),
        backend=args.backend,
    )
    sim.advance_s(args.warmup_s)
    n_frames = int(round(args.minutes * 60 / args.frame_period_s))
    movies = np.empty((sim.batch_size, n_frames, *sim.frame_shape), dtype=np.uint8)
    for first, chunk in sim.frames(n_frames, chunk_frames=args.chunk_frames):
        movies[:, first:first + chunk.shape[1]] = sim.to_host(chunk)
    return movies, time.perf_counter() - start


def analyse_batch(preset: str, movies: np.ndarray, args: argparse.Namespace,
                  params: AnalysisParams) -> Summary:
    """One summary per retina, pooled over the batch."""
    summaries = [
        summarize(Movie(movies[b], args.um_per_pixel, args.frame_period_s), params, name=f"{preset}/seed{seed}")
        for b, seed in enumerate(args.seeds)
    ]
    return combine_summaries(summaries, preset)


def fmt(value: float, spec: str) -> str:
    return "-" if not math.isfinite(value) else format(value, spec)


#: The footer's words for each AnalysisParams.speed_method.
SPEED_METHODS = {"local": "speed: each wave's median local speed (plane fits of the onsets within 150 um)",
                 "front": "speed: whole-wave front fits with adjusted R^2 >= {r2:g}"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--presets", nargs="+", default=list(ws.PRESETS), choices=list(ws.PRESETS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    parser.add_argument("--size-um", type=float, default=4000.0, help="retina width and height, um")
    parser.add_argument("--warmup-s", type=float, default=900.0)
    parser.add_argument("--minutes", type=float, default=20.0, help="recorded duration, min")
    parser.add_argument("--um-per-pixel", type=float, default=34.0)
    parser.add_argument("--frame-period-s", type=float, default=0.25)
    parser.add_argument("--chunk-frames", type=int, default=400)
    parser.add_argument("--backend", default="cpu", choices=["cpu", "cuda", "auto"])
    args = parser.parse_args(argv)

    params = AnalysisParams()
    pixel_area_mm2 = (args.um_per_pixel / 1000) ** 2
    rows = []
    total_start = time.perf_counter()
    n_pixels = None
    for preset in args.presets:
        movies, sim_s = simulate_batch(preset, args)
        n_pixels = movies.shape[2] * movies.shape[3]
        start = time.perf_counter()
        pooled = analyse_batch(preset, movies, args, params)
        stats_s = time.perf_counter() - start
        del movies
        area_mm2 = pooled.wave_size_fraction * n_pixels * pixel_area_mm2
        rows.append((preset, pooled, float(area_mm2.mean()) if area_mm2.size else math.nan))
        print(f"{preset}: {pooled.n_waves} waves, simulated in {sim_s:.0f} s, analysed in {stats_s:.0f} s",
              file=sys.stderr, flush=True)

    header = ("| preset | waves (n) | waves/min | mean speed (um/s) | median speed (um/s) "
              "| waves with speed (n) | mean IWI at a pixel (s) | median IWI (s) | mean wave area (mm^2) |")
    print(header)
    print("|" + "---|" * header.count(" | ") + "---|")
    for preset, s, area in rows:
        print(f"| {preset} | {s.n_waves} | {fmt(s.wave_frequency_per_min, '.2f')} "
              f"| {fmt(s.mean_speed_um_per_s, '.0f')} | {fmt(s.median_speed_um_per_s, '.0f')} "
              f"| {s.n_waves_with_speed} | {fmt(s.mean_iwi_s, '.1f')} | {fmt(s.median_iwi_s, '.1f')} "
              f"| {fmt(area, '.2f')} |")
    min_sites = max(3, math.ceil(params.min_size_fraction * n_pixels - 1e-9))
    print()
    print(f"{len(args.seeds)} retinas per preset (seeds {', '.join(map(str, args.seeds))}), "
          f"{args.size_um / 1000:g} mm x {args.size_um / 1000:g} mm, warm-up {args.warmup_s:g} s, "
          f"{args.minutes:g} min recorded at {args.um_per_pixel:g} um/pixel and {args.frame_period_s:g} s/frame, "
          f"backend {args.backend}. Waves: space-time connected components recruiting >= "
          f"{params.min_size_fraction:.0%} of the pixels ({min_sites} pixels = "
          f"{min_sites * pixel_area_mm2:.2f} mm^2); {SPEED_METHODS[params.speed_method].format(r2=params.min_fit_r2)}. "
          f"waves/min counts waves over the whole retina. "
          f"Total {time.perf_counter() - total_start:.0f} s.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
