"""Clips per second into training: from a store with 0, 1 and 2 workers, and live.

Usage::

    python benchmarks/bench_data.py                       # store read here, live on every backend available
    python benchmarks/bench_data.py --backends cuda       # live on the GPU only (the gpu_check.sh case)

Clips are those of May et al. (2025): 64 x 64 pixels of 50 um, 11 frames at
0.5 s. The store case writes a store of 16 movies (400 frames each, binary
readout) once, then reads every clip that starts at each frame (clip_step=1)
in shuffled batches of 64 through ``WaveClips.loader``. Its clips/s counts
one whole epoch from the first batch, so worker start-up is excluded and
reported apart.

The live case times batches of ``LiveWaves`` after its warm-up, against
one training step (forward, backward, Adam) of a small convolutional
next-frame network on the same clips: live generation keeps up when its
clips/s exceeds the network's. Prints one table; ``--json FILE`` also
writes the rows.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import torch

import wavesim as ws
from wavesim.backends import cuda_status
from wavesim.data import LiveWaves, WaveClips
from wavesim.generate import generate_store
from wavesim.io.store import DatasetSpec

CLIP_FRAMES = 11
READOUT = ws.Readout(um_per_pixel=50, frame_period_s=0.5)
RETINA = ws.Retina(width_um=3200, height_um=3200, shape="rectangle")


def make_store(path: Path, movies: int, duration_s: float) -> Path:
    run = ws.RunSpec(retina=RETINA, readout=READOUT, timing=ws.Timing(duration_s=duration_s, warmup_s=300))
    spec = DatasetSpec(params=ws.preset("mouse"), run=run, seed=1, n_movies=movies)
    if not path.exists():
        generate_store(path, spec, progress=True)
    return path


def time_store(path: Path, num_workers: int, batch_size: int) -> dict:
    ds = WaveClips(path, clip_frames=CLIP_FRAMES, clip_step=1, batch_size=batch_size, seed=0)
    loader = ds.loader(num_workers=num_workers, persistent_workers=num_workers > 0)
    start = time.perf_counter()
    it = iter(loader)
    first = next(it)
    t0 = time.perf_counter()
    n = 0
    for batch in it:
        n += batch["clips"].shape[0]
    elapsed = time.perf_counter() - t0
    return {
        "case": f"store, {num_workers} worker{'s' if num_workers != 1 else ''}",
        "clips_per_s": n / elapsed,
        "startup_s": t0 - start,
        "clips": n + first["clips"].shape[0],
        "batch": batch_size,
    }


class NextFrameNet(torch.nn.Module):
    """A small convolutional next-frame predictor: 10 frames in as channels, the 11th out."""

    def __init__(self, width: int = 64):
        super().__init__()
        self.net = torch.nn.Sequential(
            torch.nn.Conv2d(CLIP_FRAMES - 1, width, 3, padding=1), torch.nn.ReLU(),
            torch.nn.Conv2d(width, width, 3, padding=1), torch.nn.ReLU(),
            torch.nn.Conv2d(width, 1, 3, padding=1), torch.nn.Sigmoid(),
        )

    def forward(self, x):
        return self.net(x)


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_training_step(clips: torch.Tensor, steps: int) -> float:
    """Clips per second that one small network's training steps consume."""
    net = NextFrameNet().to(clips.device)
    opt = torch.optim.Adam(net.parameters(), lr=1e-4)
    inputs, target = clips[:, :-1], clips[:, -1:]
    for k in range(steps + 2):
        if k == 2:  # the first steps pay for cuDNN's choices
            _sync(clips.device)
            t0 = time.perf_counter()
        opt.zero_grad()
        loss = ((net(inputs) - target) ** 2).sum(dim=(1, 2, 3)).mean()
        loss.backward()
        opt.step()
    _sync(clips.device)
    return clips.shape[0] * steps / (time.perf_counter() - t0)


def time_live(backend: str, n_retinas: int, batches: int, warmup_s: float, train_steps: int) -> dict:
    ds = LiveWaves(ws.preset("mouse"), n_retinas=n_retinas, retina=RETINA, readout=READOUT, warmup_s=warmup_s,
                   clip_frames=CLIP_FRAMES, backend=backend, seed=0, batches_per_epoch=batches)
    t_warm = time.perf_counter()
    next(iter(ds))  # the warm-up and the first round: start-up
    device = torch.device("cuda") if backend == "cuda" else torch.device("cpu")
    _sync(device)
    t0 = time.perf_counter()
    n, last = 0, None
    for batch in ds:
        n += batch["clips"].shape[0]
        last = batch["clips"]
    _sync(device)
    live = n / (time.perf_counter() - t0)
    return {
        "case": f"live {backend}, {n_retinas} retinas",
        "clips_per_s": live,
        "startup_s": t0 - t_warm,
        "clips": n,
        "batch": n_retinas,
        "train_clips_per_s": time_training_step(last[:256], train_steps),
        "device": str(last.device),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default=None, help="comma-separated live backends (default: cpu, and cuda if usable)")
    parser.add_argument("--store", type=Path, default=None, help="store to read (default: write one in a temp folder)")
    parser.add_argument("--workers", default="0,1,2")
    parser.add_argument("--no-store", action="store_true", help="skip the store cases")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    backends = args.backends.split(",") if args.backends else ["cpu"] + (["cuda"] if cuda_status()[0] else [])
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        if not args.no_store:
            path = make_store(args.store or Path(tmp) / "bench.zarr", movies=16, duration_s=200)
            for w in (int(x) for x in args.workers.split(",")):
                rows.append(time_store(path, w, batch_size=64))
                print("  done:", rows[-1]["case"], flush=True)
    for backend in backends:
        if backend == "cuda":
            rows.append(time_live("cuda", 4096, batches=40, warmup_s=60, train_steps=20))
        else:
            rows.append(time_live("cpu", 16, batches=4, warmup_s=60, train_steps=3))
        print("  done:", rows[-1]["case"], flush=True)

    print(f"\nwavesim {ws.__version__}; clips of {CLIP_FRAMES} frames, 64 x 64 px; torch {torch.__version__}, "
          f"{torch.get_num_threads()} CPU threads; GPU: {cuda_status()[1]}")
    header = f"{'case':<30} {'clips/s':>10} {'start-up s':>10} {'clips':>8} {'batch':>6} {'train clips/s':>14}"
    print(header)
    print("-" * len(header))
    for r in rows:
        train = f"{r['train_clips_per_s']:.0f}" if "train_clips_per_s" in r else "-"
        print(f"{r['case']:<30} {r['clips_per_s']:>10.0f} {r['startup_s']:>10.2f} {r['clips']:>8} {r['batch']:>6} {train:>14}")
    print("train clips/s: clips per second one training step of a 3-layer conv next-frame net (64 channels) "
          "consumes on the live clips' device, batch 256")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
