"""Directional waves per second: wavesim's engines against a plain-Python transcription of the rules.

Usage::

    python benchmarks/bench_directional.py            # 2,048 waves per engine, 64 pure-Python waves
    python benchmarks/bench_directional.py --quick    # fewer waves (smoke test)

Waves of the paper's grid (64 x 64 pixels, one cell each), preset
``may2025`` and ``teh2023``, wave mode: each wave is one movie of 128
frames (64 s at 0.5 s per frame; the store's default), read out frame by
frame into host memory as ``wavesim generate`` does. ``python`` is a
straightforward transcription of the rules of DESIGN.md (one wave at a time,
lists and the standard library's generator, the frontier of newly active
cells spread to its 8 neighbours), run until the wave ends: it does less
work than the engines (no frames after the wave's end). ``cpu`` is the dense
engine, ``cpu-events`` the event-driven one (both on all of Numba's
threads), ``cuda`` runs where a GPU is usable. The table gives waves/s and
the speed-up over the transcription.
"""

from __future__ import annotations

import argparse
import math
import random
import time

import numba
import numpy as np

import wavesim as ws
from wavesim.backends import cuda_status

GRID = ws.Retina(width_um=3200, height_um=3200, spacing_um=50)
PIXELS = ws.Readout(um_per_pixel=50, frame_period_s=0.5)
FRAMES = 128
NEIGHBOURS = [(0, 1), (1, 1), (1, 0), (1, -1), (0, -1), (-1, -1), (-1, 0), (-1, 1)]  # (dy, dx)


def python_wave(rng: random.Random, params: ws.DirectionalParams, size: int = 64) -> list[list[list[int]]]:
    """One wave by the rules, in plain Python; returns its binary frames until nothing is lit."""
    margin = params.initiation_margin_cells
    init = (rng.randrange(size - margin), rng.randrange(size - margin))
    if params.directionality == "directional":
        ai = (rng.gauss(params.nose_row_fraction * size, params.inhibition_sd_cells),
              rng.gauss(params.nose_col_fraction * size, params.inhibition_sd_cells))
        if params.inhibition_rounding == "truncate":
            ai = (int(ai[0]), int(ai[1]))
    else:
        ai = (rng.randrange(size - margin), rng.randrange(size - margin))
    theta = math.atan2(init[0] - ai[0], init[1] - ai[1])
    theta_r = (2 * math.pi / 8) * math.floor(8 * theta / (2 * math.pi) + 0.5)
    sigma = params.kernel_sigma()
    g = [math.exp(-math.atan2(dy, dx) ** 2 / (2 * sigma * sigma)) for dy, dx in NEIGHBOURS]
    rho = []
    for dy, dx in NEIGHBOURS:
        d = math.atan2(dy, dx) - theta_r
        if params.angles == "wrapped":
            d = math.atan2(math.sin(d), math.cos(d))
        rho.append(params.q * math.exp(-d * d / (2 * sigma * sigma)) / sum(g))
    refractory = params.steps("t_wave_s") + params.steps("tau_iei_s")
    lit_steps = params.steps("tau_off_s") + params.steps("t_wave_s") + 1
    last = {init: 0}
    frontier = [init]
    frames, t = [], 0
    while True:
        frame = [[0] * size for _ in range(size)]
        any_lit = False
        for (y, x), a in last.items():
            if t - a < lit_steps:
                frame[y][x] = 1
                any_lit = True
        if not any_lit:
            return frames
        frames.append(frame)
        t += 1
        new = []
        for y, x in frontier:
            for k, (dy, dx) in enumerate(NEIGHBOURS):
                ny, nx = y + dy, x + dx
                if 0 <= ny < size and 0 <= nx < size:
                    a = last.get((ny, nx))
                    if (a is None or t - a > refractory) and rng.random() < rho[k]:
                        last[(ny, nx)] = t
                        new.append((ny, nx))
        frontier = new


def engine_waves_per_s(params, backend: str, n_waves: int, batch: int) -> float:
    warm = ws.Simulation(params, [0], retina=GRID, readout=PIXELS, backend=backend)
    list(warm.frames(3, 3))  # compile outside the timing
    start = time.perf_counter()
    for first in range(0, n_waves, batch):
        seeds = list(range(first, min(n_waves, first + batch)))
        sim = ws.Simulation(params, seeds, retina=GRID, readout=PIXELS, backend=backend)
        for _, chunk in sim.frames(FRAMES, 32):
            sim.to_host(chunk)
    return n_waves / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer waves")
    args = parser.parse_args()
    n_waves, n_python = (256, 8) if args.quick else (2048, 64)
    backends = ["cpu", "cpu-events"] + (["cuda"] if cuda_status()[0] else [])
    print(f"directional waves, 64 x 64 px, {FRAMES} frames per movie; Numba threads: {numba.get_num_threads()}")
    print(f"{'preset':<9} {'engine':<11} {'waves':>6} {'waves/s':>9} {'vs python':>10}")
    for preset in ("may2025", "teh2023"):
        params = ws.preset(preset, model="directional")
        rng = random.Random(0)
        start = time.perf_counter()
        lengths = [len(python_wave(rng, params)) for _ in range(n_python)]
        python_rate = n_python / (time.perf_counter() - start)
        print(f"{preset:<9} {'python':<11} {n_python:>6} {python_rate:>9.1f} {1.0:>9.1f}x"
              f"   (mean {np.mean(lengths):.1f} frames per wave)")
        for backend in backends:
            batch = 4096 if backend == "cuda" else 256
            rate = engine_waves_per_s(params, backend, n_waves, batch)
            print(f"{preset:<9} {backend:<11} {n_waves:>6} {rate:>9.1f} {rate / python_rate:>9.1f}x")


if __name__ == "__main__":
    main()
