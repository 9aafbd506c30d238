"""Movies per second into a store: one process against a Dask LocalCluster.

Usage::

    NUMBA_NUM_THREADS=1 python benchmarks/bench_distributed.py     # 24 movies, LocalCluster(n_workers=2)
    NUMBA_NUM_THREADS=1 python benchmarks/bench_distributed.py --movies 48 --workers 4 --json rows.json

With ``NUMBA_NUM_THREADS=1`` one process simulates on one core and each of the
cluster's workers on one core of its own, which is the comparison meant.
Without it, one ``cpu-events`` retina runs on a parallel region of all the
cores, which made it 2 to 3 times slower on a busy 2-core machine.

Each case writes the same store (mouse preset on ``cpu-events``, 50 um
pixels, 2 frames/s, warm-up cache off) into a fresh folder, after an
untimed run of two movies in the same process or on the same workers, so
that imports and Numba's cache loads are excluded; the cluster's start-up
is timed apart. The cases take turns, ``--repeats`` rounds, and each keeps
its fastest run, the least disturbed by other work on the machine. Cases: one process simulating one retina at a time
(``--batch-size 1``), one process with the default batch of 4 retinas run
in parallel by Numba threads, and the LocalCluster, one movie per task on
workers of one thread each. The stores are checked to be equal. Prints one
table; ``--json FILE`` also writes the rows.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

import wavesim as ws
from wavesim.cluster import generate_store_distributed, open_client
from wavesim.generate import generate_store
from wavesim.io.store import DatasetSpec, open_store


def spec_for(args, n_movies: int, seed: int) -> DatasetSpec:
    run = ws.RunSpec(retina=ws.Retina(width_um=args.width_um, height_um=args.width_um),
                     readout=ws.Readout(um_per_pixel=50, frame_period_s=0.5),
                     timing=ws.Timing(duration_s=args.duration_s, warmup_s=args.warmup_s), backend="cpu-events")
    return DatasetSpec(params=ws.preset("mouse"), run=run, seed=seed, n_movies=n_movies)


def _batched(spec: DatasetSpec, batch_size: int) -> DatasetSpec:
    return dataclasses.replace(spec, run=spec.run.updated(batch_size=batch_size))


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--movies", type=int, default=24)
    parser.add_argument("--workers", type=int, default=2, help="LocalCluster worker processes (default 2)")
    parser.add_argument("--width-um", type=float, default=3200.0, help="square retina side, um (default 3200)")
    parser.add_argument("--warmup-s", type=float, default=900.0)
    parser.add_argument("--duration-s", type=float, default=60.0)
    parser.add_argument("--repeats", type=int, default=2, help="runs per case; the fastest counts (default 2)")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    options = dict(progress=False, warm_cache=False)
    root = Path(tempfile.mkdtemp(prefix="bench-distributed-"))
    try:
        start = time.perf_counter()
        with open_client(n_workers=args.workers) as client:
            startup_s = time.perf_counter() - start
            cases = {
                "one process, 1 retina at a time": lambda p, s: generate_store(p, _batched(s, 1), **options),
                "one process, batches of 4": lambda p, s: generate_store(p, _batched(s, 4), **options),
                f"LocalCluster(n_workers={args.workers}), 1 movie per task":
                    lambda p, s: generate_store_distributed(p, s, client, **options),
            }
            for i, write in enumerate(cases.values()):  # imports and Numba's cache loads, untimed
                write(root / f"warm{i}.zarr", spec_for(args, 2, seed=99))
            # Round robin, so that every case meets the same changes in the machine's other load.
            seconds = {name: float("inf") for name in cases}
            for repeat in range(args.repeats):
                for i, (name, write) in enumerate(cases.items()):
                    path = root / f"case{i}-{repeat}.zarr"
                    t0 = time.perf_counter()
                    write(path, spec_for(args, args.movies, seed=1))
                    seconds[name] = min(seconds[name], time.perf_counter() - t0)
        stores = [open_store(root / f"case{i}-0.zarr") for i in range(len(cases))]
        assert all(np.array_equal(s.movies[:], stores[0].movies[:]) for s in stores[1:]), "the stores differ"
    finally:
        shutil.rmtree(root, ignore_errors=True)
    rows = [{"case": name, "seconds": t} for name, t in seconds.items()]
    rows[-1]["startup_s"] = startup_s
    for row in rows:
        row["movies_per_s"] = args.movies / row["seconds"]
        row["speedup"] = row["movies_per_s"] / rows[0]["movies_per_s"]
    cells = ws.Simulation(ws.preset("mouse"), [0], retina=spec_for(args, 1, 0).retina, backend="cpu").lattice.n_cells
    print(f"\nwavesim {ws.__version__}, mouse preset on cpu-events, {cells:,} cells, warm-up {args.warmup_s:g} s, "
          f"{args.duration_s:g} s of frames per movie, {args.movies} movies, {os.cpu_count()} CPU cores, "
          f"best of {args.repeats}")
    print(f"{'case':<46} {'wall s':>8} {'movies/s':>9} {'speed-up':>9}")
    print("-" * 75)
    for row in rows:
        print(f"{row['case']:<46} {row['seconds']:8.2f} {row['movies_per_s']:9.3f} {row['speedup']:8.2f}x")
    print(f"cluster start-up (not in the rows): {startup_s:.1f} s")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return rows


if __name__ == "__main__":
    main()
