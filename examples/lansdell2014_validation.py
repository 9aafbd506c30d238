"""Side-by-side validation of the Lansdell 2014 model: the authors' code, the float reference, the fixed-point rule.

Usage::

    # voltage movies of the references (frames every 0.1 s), one file per seed
    python examples/lansdell2014_validation.py run float --seeds 1-8 --out runs/
    python examples/lansdell2014_validation.py run fixed --seeds 1-8 --out runs/
    # the table: wave statistics per engine, Welch z-scores against the first engine
    python examples/lansdell2014_validation.py table runs/octave runs/float runs/fixed

Every run starts from the authors' homogeneous state (v = -70 mV, r = s = e
= 0) on their 64 x 64 grid (2 mm, h = 2000/63 um), warms up ``--warmup-s``
(300 s) and records ``--record-s`` (300 s) of v every 0.1 s, as their
``runlongsim`` does (their worksheets warm up 500 s and record 5 x 500 s).
``float`` is :class:`~wavesim.models.lansdell2014_reference.FloatSheet`
(the authors' Crank-Nicolson diffusion; ``float-explicit`` the rule's
explicit step), ``fixed`` the compiled rule (:mod:`wavesim.kernels.lansdell2014`
through :mod:`wavesim.kernels.pull_cpu`). A folder of the authors' runs
holds ``seedN_V.f32`` files (float32, frames x 64 x 64, C order) written by
a private Octave harness around their ``retinal2D_split``.

Statistics are wavesim's (:mod:`wavesim.analysis`) on the thresholded movie
(v > -60 mV, the authors' ``params.threshold``), one value per seed: waves
per minute, mean inter-wave interval at a pixel, mean wave size (fraction
of the sheet), mean local speed, mean duration, and the mean fraction of
cells active per frame. The Welch z-score of a statistic between two engines
is the difference of the seed means over the standard error of that
difference, ``(m1 - m2) / sqrt(s1^2 / n1 + s2^2 / n2)``.
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import numpy as np

from wavesim.analysis import AnalysisParams, detect_movie_waves, inter_wave_intervals
from wavesim.io.recordings import Movie
from wavesim.kernels import lansdell2014 as rule
from wavesim.kernels.pull_cpu import PullSheets, build_pull_cpu_runner
from wavesim.kernels.random import retina_keys
from wavesim.lattice import Retina, SquareLattice
from wavesim.models import lansdell2014 as model
from wavesim.models.lansdell2014_reference import FloatSheet

FRAME_S = 0.1
STATISTICS = {
    "waves_per_min": "waves per minute",
    "iwi_s": "inter-wave interval (s)",
    "size_fraction": "wave size (fraction of sheet)",
    "speed_um_per_s": "speed (um/s)",
    "duration_s": "duration (s)",
    "active_fraction": "cells active per frame",
}


def _seeds(text: str) -> list[int]:
    lo, _, hi = text.partition("-")
    return list(range(int(lo), int(hi or lo) + 1))


def _lattice() -> SquareLattice:
    width = model.authors_sheet_um()
    return SquareLattice(Retina(width_um=width, height_um=width, spacing_um=model.AUTHORS_SPACING_UM))


def run_float(params, seed: int, n_warm: int, n_frames: int, diffusion: str) -> np.ndarray:
    sheet = FloatSheet(params, key=int(retina_keys([seed])[0]), diffusion=diffusion)
    steps = round(FRAME_S / params.dt_s)
    frames = np.empty((n_frames, *sheet.v.shape), np.float32)
    for k in range(n_warm + n_frames):
        for _ in range(steps):
            sheet.step()
        if k >= n_warm:
            frames[k - n_warm] = sheet.v
    return frames


def run_fixed(params, seeds: list[int], n_warm: int, n_frames: int) -> np.ndarray:
    lattice = _lattice()
    sheets = PullSheets(build_pull_cpu_runner(rule.build_rule), *lattice.shape, model.quantise([params] * len(seeds)),
                        retina_keys(seeds), model.tables(lattice, [params]), len(rule.STATE_FIELDS))
    steps = round(FRAME_S / params.dt_s)
    frames = np.empty((len(seeds), n_frames, *lattice.shape), np.float32)
    for k in range(n_warm + n_frames):
        sheets.advance(steps)
        if k >= n_warm:
            frames[:, k - n_warm] = sheets.field(rule.F_V) / 2**rule.V_SHIFT
    return frames


def _mean(x) -> float:
    x = np.asarray(x, float)
    x = x[np.isfinite(x)]
    return float(x.mean()) if x.size else math.nan


def wave_statistics(active: np.ndarray, um_per_pixel: float, params: AnalysisParams) -> tuple[dict[str, float], object]:
    """Waves per minute, mean IWI, size, speed, duration and active fraction of a binary movie; and its waves."""
    movie = Movie(active, um_per_pixel=um_per_pixel, frame_period_s=FRAME_S)
    waves = detect_movie_waves(movie, params)
    _, iwi = inter_wave_intervals(waves)
    return {
        "waves_per_min": len(waves) / (movie.duration_s / 60),
        "iwi_s": _mean(iwi),
        "size_fraction": _mean(waves.size_fraction),
        "speed_um_per_s": _mean(waves.speed_um_per_s),
        "duration_s": _mean(waves.duration_s),
        "active_fraction": float(active.mean()),
    }, waves


def statistics(v_frames: np.ndarray, threshold_mV: float = -60.0) -> dict[str, float]:
    """The table's statistics of one voltage movie (frames every 0.1 s on the authors' grid)."""
    return wave_statistics(v_frames > threshold_mV, model.AUTHORS_SPACING_UM, AnalysisParams())[0]


def welch_z(a: np.ndarray, b: np.ndarray) -> float:
    """(mean a - mean b) / standard error of the difference; nan if undefined."""
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    if a.size < 2 or b.size < 2:
        return math.nan
    se = math.sqrt(a.var(ddof=1) / a.size + b.var(ddof=1) / b.size)
    return (a.mean() - b.mean()) / se if se > 0 else math.nan


def _load(folder: Path) -> dict[str, np.ndarray]:
    runs = {}
    for path in sorted(folder.glob("seed*_*")):
        if path.suffix not in (".npy", ".f32"):
            continue
        seed = path.name.split("_")[0]
        if path.suffix == ".npy":
            runs[seed] = np.load(path, mmap_mode="r")
        else:
            n = model.AUTHORS_NODES
            runs[seed] = np.fromfile(path, dtype=np.float32).reshape(-1, n, n)
    return runs


def table(folders: list[Path], measure=statistics, labels=STATISTICS) -> str:
    """A Markdown table of ``measure`` (one value per saved run) per folder, with Welch z-scores against the first."""
    per_engine = {}
    for folder in folders:
        rows = [measure(np.asarray(v)) for v in _load(folder).values()]
        per_engine[folder.name] = {k: np.array([r[k] for r in rows]) for k in labels}
    names = list(per_engine)
    header = "| statistic | " + " | ".join(f"{n} (n={len(per_engine[n]['iwi_s'])})" for n in names)
    header += " | " + " | ".join(f"z {n} - {names[0]}" for n in names[1:]) + " |"
    lines = [header, "|" + "---|" * (1 + 2 * len(names) - 1)]
    for key, label in labels.items():
        cells = [f"{np.nanmean(per_engine[n][key]):.4g} +- {np.nanstd(per_engine[n][key], ddof=1):.2g}" for n in names]
        zs = [f"{welch_z(per_engine[n][key], per_engine[names[0]][key]):+.2f}" for n in names[1:]]
        lines.append(f"| {label} | " + " | ".join(cells + zs) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="simulate and save voltage movies")
    run.add_argument("engine", choices=("float", "float-explicit", "fixed"))
    run.add_argument("--seeds", default="1-8", help="a seed or a range, e.g. 1-8")
    run.add_argument("--warmup-s", type=float, default=300.0)
    run.add_argument("--record-s", type=float, default=300.0)
    run.add_argument("--preset", default=model.DEFAULT_PRESET, choices=sorted(model.PRESETS))
    run.add_argument("--out", type=Path, required=True)
    tab = sub.add_parser("table", help="the statistics table of saved runs (one folder per engine)")
    tab.add_argument("folders", type=Path, nargs="+")
    args = parser.parse_args()
    if args.command == "table":
        print(table(args.folders))
        return
    params = model.PRESETS[args.preset]
    n_warm, n_frames = round(args.warmup_s / FRAME_S), round(args.record_s / FRAME_S)
    out = args.out / args.engine
    out.mkdir(parents=True, exist_ok=True)
    seeds = _seeds(args.seeds)
    start = time.perf_counter()
    if args.engine == "fixed":
        for seed, frames in zip(seeds, run_fixed(params, seeds, n_warm, n_frames)):
            np.save(out / f"seed{seed}_V.npy", frames)
    else:
        diffusion = "explicit" if args.engine == "float-explicit" else "crank-nicolson"
        for seed in seeds:
            np.save(out / f"seed{seed}_V.npy", run_float(params, seed, n_warm, n_frames, diffusion))
    wall = time.perf_counter() - start
    steps = len(seeds) * (n_warm + n_frames) * round(FRAME_S / params.dt_s)
    cells = model.AUTHORS_NODES**2
    print(f"{args.engine}: {len(seeds)} seeds, {steps} sheet-steps in {wall:.0f} s: {steps / wall:.0f} steps/s, "
          f"{steps * cells / wall:.3g} cell-updates/s")


if __name__ == "__main__":
    main()
