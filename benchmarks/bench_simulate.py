"""Cell-updates per second of each backend, against a plain PyTorch version on the GPU.

Usage::

    python benchmarks/bench_simulate.py                 # every backend available here
    python benchmarks/bench_simulate.py --backends cpu --quick

Each case warms its retinas up (so that waves, refractory domains and quiet
regions are as in a real run) and then times a block of steps. Prints one
table; ``--json FILE`` also writes the rows.

Roofline of the CUDA step kernel, per cell-update (DRAM traffic, bulk of a
sheet): it reads the cell's onset, excitation, threshold and decay (4 x 4 B)
and its neighbour fraction (4 B, shared by a batch, often from L2) and
writes its threshold (4 B; excitation, onset and decay only when they
change): 24 B. Integer operations: about 75 for a cell in a quiet tile
(halo load, flag test, rule), about 350 where a tile holds activity and the
90-neighbour pull runs. At the H100's ~3.0 TB/s of copy bandwidth that
bounds the kernel at ~1.2e11 cell-updates/s; its ~1.7e13 int32 op/s bound
quiet sheets at ~2e11, so the kernel is memory-bound and the printed
fraction is of the bandwidth bound, measured in the same run.

The CPU backend's state for 200k cells (about 5 MB) lives in cache, so a
DRAM roofline does not bound it; it is reported without one.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import time
from pathlib import Path

import numpy as np

import wavesim as ws
from wavesim.backends import cuda_status

GPU_BYTES_PER_UPDATE = 24


def _retina_for_cells(rows: int, cols: int) -> ws.Retina:
    spacing = 34.0
    return ws.Retina(width_um=cols * spacing, height_um=rows * spacing * math.sqrt(3) / 2 + 1e-6)


def _sync(backend):
    if backend == "cuda":
        import cupy

        cupy.cuda.runtime.deviceSynchronize()


def time_wavesim(backend, retina, batch, warmup_steps, steps):
    sim = ws.Simulation(ws.preset("mouse"), seeds=list(range(batch)), retina=retina,
                        readout=ws.Readout(um_per_pixel=1000.0), backend=backend)
    sim.advance(warmup_steps)
    _sync(backend)
    start = time.perf_counter()
    sim.advance(steps)
    _sync(backend)
    seconds = time.perf_counter() - start
    cells = sim.lattice.n_cells * batch
    onset = sim.state()["onset"]
    age = sim.step - onset.astype(np.int64)
    recruited = float(((age >= 0) & (age < steps)).sum() / cells)
    return cells, cells * steps / seconds, steps / seconds, recruited


def time_torch(rows, cols, batch, steps, device):
    path = Path(__file__).with_name("torch_baseline.py")
    spec = importlib.util.spec_from_file_location("torch_baseline", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    import torch

    model = mod.TorchWaveModel(rows, cols, batch, device)
    model.step(20)
    torch.cuda.synchronize()
    start = time.perf_counter()
    model.step(steps)
    torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    return rows * cols * batch * steps / seconds


def copy_bandwidth(backend) -> float:
    """Bytes read plus written per second by a large device (or host) copy."""
    n = 1 << 28
    if backend == "cuda":
        import cupy

        a = cupy.ones(n, dtype=np.uint8)
        b = cupy.empty_like(a)
        b[...] = a
        cupy.cuda.runtime.deviceSynchronize()
        start = time.perf_counter()
        for _ in range(10):
            b[...] = a
        cupy.cuda.runtime.deviceSynchronize()
        return 2 * n * 10 / (time.perf_counter() - start)
    a = np.ones(n, dtype=np.uint8)
    b = np.empty_like(a)
    start = time.perf_counter()
    for _ in range(3):
        np.copyto(b, a)
    return 2 * n * 3 / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default=None, help="comma-separated: cpu,cuda (default: all available)")
    parser.add_argument("--quick", action="store_true", help="short warm-up and timing (smoke test)")
    parser.add_argument("--json", default=None, help="also write the rows to this JSON file")
    args = parser.parse_args()
    usable, reason = cuda_status()
    backends = args.backends.split(",") if args.backends else (["cpu", "cuda"] if usable else ["cpu"])
    # 900 s: past the start-up transient (the first waves recruit every cell, then
    # refractoriness silences the sheet for minutes), so timings see ordinary waves.
    warm = 2000 if args.quick else 36000
    rows_out = []
    for backend in backends:
        bw = copy_bandwidth(backend) if backend == "cuda" else float("nan")
        bound = bw / GPU_BYTES_PER_UPDATE
        if backend == "cpu":
            cases = [
                ("small sheet 2 mm square", ws.Retina(width_um=2000, height_um=2000), 1, None),
                ("200k-cell disc (17 mm)", ws.Retina(width_um=17000, height_um=17000, shape="disc"), 1, None),
            ]
            steps = 400 if args.quick else 2000
        else:
            cases = [
                ("small sheet 128x128 cells", _retina_for_cells(128, 128), 1, (128, 128, 1)),
                ("batch 256 x 128x128 cells", _retina_for_cells(128, 128), 256, (128, 128, 256)),
                ("one sheet 2048x2048 cells", _retina_for_cells(2048, 2048), 1, (2048, 2048, 1)),
                ("batch 1024 x 128x128 cells", _retina_for_cells(128, 128), 1024, (128, 128, 1024)),
            ]
            steps = 200 if args.quick else 2000
        for label, retina, batch, torch_shape in cases:
            if args.quick and batch > 256:
                continue
            cells, rate, steps_per_s, recruited = time_wavesim(backend, retina, batch, warm, steps)
            row = {
                "backend": backend,
                "case": label,
                "cells": cells,
                "cell_updates_per_s": rate,
                "steps_per_s": steps_per_s,
                "fraction_of_cells_firing_while_timed": recruited,
                "roofline_cell_updates_per_s": bound,
                "fraction_of_roofline": rate / bound,
                "copy_bandwidth_B_per_s": bw,
            }
            if backend == "cuda" and torch_shape is not None:
                torch_rate = time_torch(*torch_shape, steps=100 if torch_shape[0] * torch_shape[2] > 1e5 else 300,
                                        device="cuda")
                row["torch_cell_updates_per_s"] = torch_rate
                row["speedup_vs_torch"] = rate / torch_rate
            rows_out.append(row)
            print(f"  done: {backend} {label}", flush=True)
    print()
    print(f"wavesim {ws.__version__}, mouse preset, warm-up {warm} steps; GPU: {reason}")
    header = (f"{'backend':<7} {'case':<28} {'cells':>10} {'fired':>6} {'cell-upd/s':>11} {'steps/s':>9} "
              f"{'roofline':>9} {'fraction':>8} {'torch':>9} {'x torch':>7}")
    print(header)
    print("-" * len(header))
    for r in rows_out:
        torch_rate = f"{r['torch_cell_updates_per_s']:.2e}" if "torch_cell_updates_per_s" in r else "-"
        ratio = f"{r['speedup_vs_torch']:.1f}" if "speedup_vs_torch" in r else "-"
        if math.isnan(r["roofline_cell_updates_per_s"]):
            roof, frac = "-", "-"
        else:
            roof, frac = f"{r['roofline_cell_updates_per_s']:.2e}", f"{r['fraction_of_roofline']:.1%}"
        print(f"{r['backend']:<7} {r['case']:<28} {r['cells']:>10} {r['fraction_of_cells_firing_while_timed']:>6.1%} "
              f"{r['cell_updates_per_s']:>11.2e} {r['steps_per_s']:>9.0f} {roof:>9} {frac:>8} {torch_rate:>9} {ratio:>7}")
    print(f"fired = fraction of cells that depolarised during the timed steps; roofline = copy bandwidth / "
          f"{GPU_BYTES_PER_UPDATE} B per cell-update (GPU; see this script's docstring)")
    if args.json:
        Path(args.json).write_text(json.dumps(rows_out, indent=2))


if __name__ == "__main__":
    main()
