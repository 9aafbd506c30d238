"""May, Dauphin & Gjorgjieva (2025): pre-training next-frame predictors on retinal waves, as the paper ran it.

``wavesim reproduce may2025 --size cpu|paper --out DIR`` runs the paper's
conditions (DirectedProp, NotDirectedProp on two kinds of non-directional
waves, NotPretrained, DirectedProp Shuffled, and the time-matched variants
with 1, 2 and 4 wave epochs) on the paper's data flow: fixed wave sets,
pre-training and target training to early stopping with the best weights,
5 folds of target clips and a held-out test set, per-clip paired t-tests,
receptive fields and grating responses. Read from the authors' released code
(comp-neural-circuits/pre-training-ANNs-with-retinal-waves at 9947689);
docs/paper_experiments.md lists what still differs and why.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from ..errors import ParameterError
from ..validate import check_int, check_number
from ._may_config import SIZES, MayConfig

__all__ = ["PAUSED_EXIT_STATUS", "add_arguments", "config_of", "run"]

#: Exit status of a run that its wall budget (--max-minutes) stopped: carry it on with --resume.
PAUSED_EXIT_STATUS = 3

EPILOG = """\
what it does:
  per replicate r (validating on fold r mod 5): pre-train on three fixed wave sets (may2025 directional,
  may2025-undirectional, amacrine mouse waves) to early stopping (at most 200 epochs, patience 5, best weights
  kept; the directional run also keeps its weights after 1, 2 and 4 epochs); train every condition on the
  target to early stopping; measure receptive fields and grating responses. Then OUT/table.md (next to the
  paper's numbers), OUT/results.json and OUT/validation_error.png.

your own movies as the target (instead of the corridor):
  --target-movie PATH (repeat it for several movies): a folder of frame images, a .npy (T, H, W[, 3])
  array, or a .tif/.zarr (T, H, W) stack. Frames are made grayscale in [0, 1], cropped to their central
  square and area-averaged to size_px; each movie is cut into consecutive 11-frame clips, runs of
  clips_per_segment clips form segments, and whole segments go to the test set (test_clips) and the folds
  (fold_clips), as the corridor's do. Give --movie-frame-rate-hz and --train-frame-rate-hz to resample in
  time first. The movies must hold (fold_clips + test_clips) x 11 frames in whole segments; lower the
  counts with --set fold_clips=N --set test_clips=N for short footage.

steps and resuming:
  --max-minutes M stops at a clean point (between two updates, or between jobs) once M minutes have passed,
  saves the run in OUT and exits with status 3 and "run again with --resume"; the resumed run gives the very
  same results as one that never stopped (on the same device, with the same --threads). For steps of at most
  8 minutes on a GPU use --max-minutes 7 (an epoch's validation, a test evaluation or one network's analysis
  finishes after the budget). Keep the data out of OUT with --data-cache DIR when only OUT travels between
  machines (the data are rebuilt and checked against the run's digests).

sizes (--size; change any field with --set NAME=VALUE):
  paper: 64 x 64 frames, 64 channels, 2048/256 wave clips, 1000 fold clips (5 folds) + 500 test clips,
         5 replicates, up to 200 epochs. cpu: 16 x 16 frames, 8 channels, 96/32 wave clips, 200 + 100 target
         clips, pre-training up to 12 epochs, target training up to 6, within an hour on 2 cores.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``wavesim reproduce may2025``."""
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = EPILOG
    parser.add_argument("--size", choices=sorted(SIZES), default="cpu", help="the paper's sizes or the CPU size "
                                                                              "(default %(default)s)")
    parser.add_argument("--out", required=True, help="folder of the run: its state, results and figures")
    parser.add_argument("--resume", action="store_true", help="carry on the run saved in --out")
    parser.add_argument("--max-minutes", type=float, default=None,
                        help="wall budget of this call, minutes: save at a clean point and exit with status 3")
    parser.add_argument("--set", action="append", default=None, metavar="NAME=VALUE",
                        help="change one size or setting (e.g. repetitions=3, batch_size=16); repeatable")
    parser.add_argument("--batch-norm", choices=("train", "eval"), default=None,
                        help="batch-norm mode of the receptive fields and gratings (default: the paper's, train)")
    parser.add_argument("--target-movie", action="append", default=None, metavar="PATH",
                        help="a movie of your own as the target (repeatable); default the procedural corridor")
    parser.add_argument("--movie-frame-rate-hz", type=float, default=None, help="frame rate of --target-movie")
    parser.add_argument("--train-frame-rate-hz", type=float, default=None,
                        help="resample --target-movie in time to this rate first")
    parser.add_argument("--data-cache", default=None, help="folder of the cached data sets (default OUT/data)")
    parser.add_argument("--device", default="auto",
                        help="torch device of training: auto, cpu, cuda, cuda:N (default %(default)s)")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch's CPU threads (default torch's); 1 on a CPU shared with other jobs, where more "
                             "threads wait on each other")
    parser.add_argument("--backend", default="auto",
                        help="backend of the wave simulations: auto, cpu, cuda (default %(default)s)")


def config_of(args) -> MayConfig:
    """The run's configuration: the size, then ``--set`` and ``--batch-norm``."""
    config = SIZES[args.size].with_overrides(args.set or [])
    if args.batch_norm is not None:
        config = config.with_overrides([f"batch_norm={args.batch_norm}"])
    return config


def _target_of(args) -> dict:
    if not args.target_movie:
        if args.movie_frame_rate_hz is not None or args.train_frame_rate_hz is not None:
            raise ParameterError("--movie-frame-rate-hz and --train-frame-rate-hz describe a --target-movie; "
                                 "give the movie too.")
        return {"kind": "corridor"}
    paths = [str(Path(p).resolve()) for p in args.target_movie]
    for p in paths:
        if not Path(p).exists():
            raise ParameterError(f"--target-movie {p} does not exist.")
    return {"kind": "movies", "paths": paths, "frame_rate_hz": args.movie_frame_rate_hz,
            "train_frame_rate_hz": args.train_frame_rate_hz}


def run(args) -> int:
    """Run (or carry on) the comparison; 0 when finished, :data:`PAUSED_EXIT_STATUS` when the budget ran out."""
    from ..cli._paths import check_output_folder
    from ..train.settings import resolve_device
    from ._may_report import write_report
    from ._may_run import MayRun

    check_number("--max-minutes", args.max_minutes, low=0, low_open=True, optional=True)
    if check_int("--threads", args.threads, low=1, optional=True) is not None:
        import torch

        torch.set_num_threads(args.threads)
    out = check_output_folder(args.out, "--out")
    if args.data_cache is not None:
        check_output_folder(args.data_cache, "--data-cache")
    config, target = config_of(args), _target_of(args)
    if target["kind"] == "movies" and not (Path(out) / "run.json").is_file():
        from ._may_data import movie_clips

        # Movies too short for the counts fail here, before anything is written.
        movie_clips(config, target["paths"], frame_rate_hz=target["frame_rate_hz"],
                    train_frame_rate_hz=target["train_frame_rate_hz"])
    started = time.perf_counter()
    device = resolve_device(args.device)
    if device.type == "cuda":
        import torch

        # cuDNN's fastest convolutions may add in any order; an exact resumption needs a fixed one.
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = True, False
    experiment = MayRun(config, out, target, device, data_folder=args.data_cache,
                        backend=args.backend, log=lambda line: print(line, flush=True))
    experiment.start(args.resume)
    if not experiment.run(args.max_minutes):
        print(f"stopped after {args.max_minutes:g} minutes at a clean point, saved in {out}; run again with --resume "
              f"to carry on.", flush=True)
        return PAUSED_EXIT_STATUS
    wall_s = time.perf_counter() - started
    print(write_report(experiment, wall_s))
    print(f"\nthis call took {wall_s / 60:.1f} min; tables in {out / 'table.md'}, figure "
          f"{out / 'validation_error.png'}, everything in {out / 'results.json'}")
    return 0
