"""Simulated mouse waves next to real MEA recordings, through the same analysis.

Recordings (Eglen et al. 2014 repository files in ``--recordings``):

* Kirkby2013: 8 x 8 MCS arrays, 100 um pitch; wild type (WT) and beta2-nAChR
  knockout (B2KO), each row the mean over files of the per-file statistics;
* Maccione2014: 64 x 64 APS array, 42 um pitch (only channels with bursts are
  in the files), one row per file, P3 to P9.

Simulation: the ``mouse`` preset on one square retina large enough to hold
the largest layout plus ``--margin-um`` on every side, a batch of retinas
(default seeds 0 and 1), 900 s warm-up, binary frames at 34 um/pixel and
4 frames/s, as long as the longest layout recording. Each layout (one Kirkby
WT file, the two Maccione P6 files) is placed with its centre on the
retina's centre and sampled by :func:`wavesim.analysis.virtual_electrodes` at
the recording's own electrode positions (Poisson spikes at 20 Hz while the
electrode's pixel is active), over the first ``duration`` seconds of the
movie, ``duration`` being that recording's own length. The virtual
recordings go through :func:`wavesim.analysis.summarize` with the same
:class:`~wavesim.analysis.AnalysisParams` as the real ones; each simulated row
is the mean over the retinas of the batch.

Run::

    python examples/compare_with_recordings.py
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np

import wavesim as ws
from wavesim.io.recordings import MEARecording, Movie, load_recording
from wavesim.analysis import AnalysisParams, Summary, summarize, virtual_electrodes

DEFAULT_RECORDINGS = Path(__file__).resolve().parents[2] / "shared" / "recordings"
KIRKBY_LAYOUT = "Kirkby2013_02_WT_P5"
MACCIONE_LAYOUTS = ("Maccione2014_P6_09May2011_control_bursts_filtered", "Maccione2014_P6_3May11_control_bursts_filtered")

# (header, Summary attribute, format)
COLUMNS = (
    ("waves (n)", "n_waves", ".0f"),
    ("waves/min", "wave_frequency_per_min", ".2f"),
    ("mean IWI (s)", "mean_iwi_s", ".1f"),
    ("mean speed (um/s)", "mean_speed_um_per_s", ".0f"),
    ("mean size (fraction of electrodes)", "mean_size_fraction", ".2f"),
    ("participation (fraction)", "participation_fraction", ".2f"),
    ("direction bias", "direction_bias", ".2f"),
    ("CI closest bin (um)", "ci_closest_distance_um", ".0f"),
    ("CI at closest bin", "ci_closest", ".1f"),
)


def fmt(value: float, spec: str) -> str:
    return "-" if not math.isfinite(value) else format(value, spec)


def row(label: str, summaries: list[Summary], n_label: str) -> str:
    """A table row: the mean over ``summaries`` of each statistic (nan where undefined are skipped)."""
    cells = [label, n_label,
             fmt(float(np.mean([s.duration_s for s in summaries])), ".0f"),
             fmt(float(np.mean([s.n_sites for s in summaries])), ".0f")]
    for _, attr, spec in COLUMNS:
        values = np.array([getattr(s, attr) for s in summaries], dtype=float)
        values = values[np.isfinite(values)]
        cells.append(fmt(float(values.mean()) if values.size else math.nan, spec))
    return "| " + " | ".join(cells) + " |"


def short(name: str) -> str:
    """A file stem without the Maccione files' common tails."""
    return "_".join(name.split("_")[:3]) if name.startswith("Maccione2014") else name


def layout_extent(recording: MEARecording) -> float:
    span = recording.positions_um.max(axis=0) - recording.positions_um.min(axis=0)
    return float(span.max())


def simulate(args: argparse.Namespace, retina_um: float, duration_s: float) -> np.ndarray:
    """(B, T, H, W) uint8 binary frames of the mouse preset after the warm-up."""
    sim = ws.Simulation(
        ws.preset("mouse"), seeds=args.seeds,
        retina=ws.Retina(width_um=retina_um, height_um=retina_um, shape="rectangle"),
        readout=ws.Readout(um_per_pixel=args.um_per_pixel, frame_period_s=args.frame_period_s, kind="binary"),
        backend=args.backend,
    )
    sim.advance_s(args.warmup_s)
    n_frames = int(math.ceil(duration_s / args.frame_period_s))
    movies = np.empty((sim.batch_size, n_frames, *sim.frame_shape), dtype=np.uint8)
    for first, chunk in sim.frames(n_frames, chunk_frames=400):
        movies[:, first:first + chunk.shape[1]] = sim.to_host(chunk)
    return movies


def sample_layout(movies: np.ndarray, layout: MEARecording, args: argparse.Namespace,
                  params: AnalysisParams) -> list[Summary]:
    """Summaries of the virtual recordings of ``layout`` (centred on the retina), one per retina."""
    _, _, height, width = movies.shape
    scale = args.um_per_pixel
    n_frames = int(round(layout.duration_s / args.frame_period_s))
    # shift that puts the array's centre on the retina's (pixel grid) centre
    array_centre = (layout.positions_um.min(axis=0) + layout.positions_um.max(axis=0)) / 2
    shift = np.array([width, height]) * scale / 2 - array_centre
    # origin_um: the position, in the recording's coordinates, of the centre of pixel (0, 0)
    origin = (scale / 2 - shift[0], scale / 2 - shift[1])
    summaries = []
    for b, seed in enumerate(args.seeds):
        movie = Movie(movies[b, :n_frames], scale, args.frame_period_s)
        virtual = virtual_electrodes(movie, layout.positions_um, origin, rate_hz=args.rate_hz, seed=seed)
        summaries.append(summarize(virtual, params, name=f"sim@{layout.name}/seed{seed}"))
    return summaries


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recordings", type=Path, default=DEFAULT_RECORDINGS)
    parser.add_argument("--kirkby-layout", default=KIRKBY_LAYOUT)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    parser.add_argument("--margin-um", type=float, default=1000.0)
    parser.add_argument("--warmup-s", type=float, default=900.0)
    parser.add_argument("--um-per-pixel", type=float, default=34.0)
    parser.add_argument("--frame-period-s", type=float, default=0.25)
    parser.add_argument("--rate-hz", type=float, default=20.0, help="virtual electrode rate on active pixels")
    parser.add_argument("--backend", default="cpu", choices=["cpu", "cuda", "auto"])
    args = parser.parse_args(argv)
    params = AnalysisParams()
    start = time.perf_counter()

    files = sorted(args.recordings.glob("*.h5"))
    recs = {p.stem: load_recording(p) for p in files if p.stem.startswith(("Kirkby2013", "Maccione2014"))}
    if not recs:
        raise SystemExit(f"no Kirkby2013 or Maccione2014 recordings in {args.recordings}")
    real = {name: summarize(r, params, name=name) for name, r in recs.items()}
    wt = [real[n] for n in recs if n.startswith("Kirkby2013") and "_WT_" in n]
    ko = [real[n] for n in recs if n.startswith("Kirkby2013") and "_B2KO_" in n]
    maccione = sorted((n for n in recs if n.startswith("Maccione2014")), key=lambda n: (recs[n].age, n))
    t_real = time.perf_counter() - start
    print(f"recordings analysed in {t_real:.0f} s", file=sys.stderr, flush=True)

    layouts = [recs[args.kirkby_layout]] + [recs[n] for n in MACCIONE_LAYOUTS if n in recs]
    retina_um = max(layout_extent(r) for r in layouts) + 2 * args.margin_um
    retina_um = math.ceil(retina_um / args.um_per_pixel) * args.um_per_pixel
    duration_s = max(r.duration_s for r in layouts)
    t0 = time.perf_counter()
    movies = simulate(args, retina_um, duration_s)
    t_sim = time.perf_counter() - t0
    print(f"simulated {movies.shape} in {t_sim:.0f} s", file=sys.stderr, flush=True)
    t0 = time.perf_counter()
    simulated = [(layout, sample_layout(movies, layout, args, params)) for layout in layouts]
    del movies
    t_virtual = time.perf_counter() - t0

    header = ["source", "files / retinas", "duration (s)", "electrodes"] + [c[0] for c in COLUMNS]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    print(row("Kirkby2013 WT P5-P6 (recordings, mean)", wt, str(len(wt))))
    print(row("Kirkby2013 B2KO P4-P7 (recordings, mean)", ko, str(len(ko))))
    print(row(f"{args.kirkby_layout} (recording; layout below)", [real[args.kirkby_layout]], "1"))
    for name in maccione:
        print(row(f"{short(name)} (recording, P{recs[name].age:g})", [real[name]], "1"))
    for layout, summaries in simulated:
        print(row(f"simulated mouse @ {short(layout.name)} layout", summaries, str(len(summaries))))
    print()
    print(f"Simulation: mouse preset, {retina_um / 1000:g} mm square retina ({args.margin_um:g} um margin "
          f"around the largest layout), layouts centred, seeds {', '.join(map(str, args.seeds))}, warm-up "
          f"{args.warmup_s:g} s, {args.um_per_pixel:g} um/pixel, {args.frame_period_s:g} s/frame, virtual "
          f"electrodes Poisson at {args.rate_hz:g} Hz on active pixels, each layout over its recording's own "
          f"duration; backend {args.backend}. Same AnalysisParams (defaults) for all rows; recording rows that "
          f"say 'mean' average per-file statistics over files, skipping undefined ones; electrodes are "
          f"distinct positions. Times: recordings "
          f"{t_real:.0f} s, simulation {t_sim:.0f} s, virtual electrodes + analysis {t_virtual:.0f} s, total "
          f"{time.perf_counter() - start:.0f} s.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
