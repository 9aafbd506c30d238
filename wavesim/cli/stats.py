"""``wavesim stats`` and ``wavesim compare``: wave statistics of recordings, movies and stores."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Sequence

from ..analysis import AnalysisParams, analyse_path, format_table, plot_summaries, write_json
from ..analysis.params import SPEED_METHODS
from ..errors import WavesimError
from ._paths import check_output_file


def _params_from_args(args: argparse.Namespace) -> AnalysisParams:
    overrides = {
        name: getattr(args, name)
        for name in ("activity_threshold", "min_size_fraction", "max_onset_lag_s", "neighbour_radius_um",
                     "ci_window_s", "sttc_window_s", "seed", "speed_method", "local_speed_radius_um")
        if getattr(args, name) is not None
    }
    return AnalysisParams(**overrides)


def _report(paths: Sequence[str], args: argparse.Namespace) -> int:
    try:
        params = _params_from_args(args)
        # Outputs are checked before the analysis, which can take minutes.
        if args.json:
            check_output_file(args.json, "--json")
        if args.figure:
            from matplotlib.figure import Figure

            check_output_file(args.figure, "--figure", tuple(Figure().canvas.get_supported_filetypes()))
        summaries = [
            analyse_path(p, params, um_per_pixel=args.um_per_pixel, frame_period_s=args.frame_period_s)
            for p in paths
        ]
        print(format_table(summaries))
        for summary in summaries:
            if summary.n_waves == 0:
                print(f"wavesim {args.command}: note: no wave in {summary.name} recruits {params.min_size_fraction:g} "
                      f"of its sites (--min-size-fraction); lower it, or record longer (a warm-up of a few minutes "
                      f"comes before steady waves).", file=sys.stderr)
        for output in (args.json, args.figure):
            if output:
                Path(output).parent.mkdir(parents=True, exist_ok=True)
        if args.json:
            print(f"wrote {write_json(summaries, args.json)}")
        if args.figure:
            print(f"wrote {plot_summaries(summaries, args.figure)}")
    except (WavesimError, OSError) as exc:
        print(f"wavesim {args.command}: error: {exc}", file=sys.stderr)
        return 2
    return 0


def _run_stats(args: argparse.Namespace) -> int:
    return _report([args.path], args)


def _run_compare(args: argparse.Namespace) -> int:
    if len(args.paths) < 2:
        print("wavesim compare: error: give at least two inputs to compare", file=sys.stderr)
        return 2
    return _report(args.paths, args)


def _add_common_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", metavar="FILE", help="write the statistics as JSON to FILE")
    parser.add_argument("--figure", metavar="FILE", help="save the distributions figure to FILE (png, pdf, svg)")
    parser.add_argument("--um-per-pixel", type=float, help="pixel size of a movie file, um")
    parser.add_argument("--frame-period-s", type=float, help="time between frames of a movie file, s")
    parser.add_argument("--threshold", dest="activity_threshold", type=float,
                        help="movie pixels above this are active (default: > 0 binary, > 127 calcium)")
    parser.add_argument("--min-size-fraction", type=float,
                        help="smallest fraction of sites a wave recruits (default 0.05)")
    parser.add_argument("--max-onset-lag-s", type=float,
                        help="MEA: largest onset lag linking bursts of neighbouring electrodes, s (default 2)")
    parser.add_argument("--neighbour-radius-um", type=float,
                        help="MEA: neighbouring electrodes lie within this distance, um (default 2.5 x pitch)")
    parser.add_argument("--speed-method", choices=SPEED_METHODS,
                        help="wave speed: median of local plane fits (default 'local'), or one plane or circle "
                             "fitted to the whole wave ('front'; overstates curved fronts)")
    parser.add_argument("--local-speed-radius-um", type=float,
                        help="radius of the local plane fits, um (default 2.5 x pitch for MEA; "
                             "4 pixels and >= 150 um for movies)")
    parser.add_argument("--ci-window-s", type=float, help="correlation index window dt, s (default 0.1)")
    parser.add_argument("--sttc-window-s", type=float,
                        help="spike time tiling coefficient window dt, s (default 0.05)")
    parser.add_argument("--seed", type=int, help="seed of virtual spike trains for movies (default 0)")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``stats`` and ``compare`` subcommands.

    Each subcommand sets ``func``: a callable taking the parsed namespace and
    returning the exit status (0, or 2 after printing an error).

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
        From ``ArgumentParser.add_subparsers(dest="command")``.
    """
    stats = subparsers.add_parser(
        "stats", help="wave statistics of a recording, movie or store",
        description="Detect waves and print their statistics; optionally write JSON and a figure.",
    )
    stats.add_argument("path", help="an MEA recording (.h5), a movie (.npy, .tif, zarr array) or a wavesim store")
    _add_common_options(stats)
    stats.set_defaults(func=_run_stats, command="stats")

    compare = subparsers.add_parser(
        "compare", help="compare wave statistics of several inputs",
        description="Print the statistics of several inputs side by side and overlay their distributions.",
    )
    compare.add_argument("paths", nargs="+", metavar="PATH", help="two or more inputs, as for `stats`")
    _add_common_options(compare)
    compare.set_defaults(func=_run_compare, command="compare")
