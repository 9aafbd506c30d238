"""``wavesim stats`` and ``wavesim compare``: wave statistics of recordings, movies and stores.

``stats`` also writes a store's per-movie wave tables into it (``--write``)
and exports virtual electrode recordings of movies, or converts an MEA
recording, to the retinal wave repository's HDF5 layout or NWB
(``--export-electrodes``).
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from ..analysis import AnalysisParams, analyse_path, format_table, plot_summaries, write_json
from ..analysis.params import SPEED_METHODS
from ..errors import ParameterError, WavesimError
from ._output import show_progress
from ._paths import check_output_file

if TYPE_CHECKING:
    from ..io.recordings import MEARecording

#: Grid of --export-electrodes where not given: an 8 x 8 array of 100 um pitch, like the MCS arrays.
GRID_DEFAULTS = {"rows": 8, "cols": 8, "pitch_um": 100.0}
_MOVIE_PLACEHOLDER = "{movie}"


def _params_from_args(args: argparse.Namespace) -> AnalysisParams:
    overrides = {
        name: getattr(args, name)
        for name in ("activity_threshold", "min_size_fraction", "max_onset_lag_s", "neighbour_radius_um",
                     "ci_window_s", "sttc_window_s", "seed", "speed_method", "local_speed_radius_um",
                     "virtual_rate_hz")
        if getattr(args, name) is not None
    }
    return AnalysisParams(**overrides)


def _is_recording_file(path: Path) -> bool:
    from ..io.recordings import RECORDING_SUFFIXES

    return path.suffix.lower() in RECORDING_SUFFIXES


def _check_stats_options(args: argparse.Namespace):
    """Check --write, --export-electrodes and the grid before any work; the store to write into, or None."""
    from ..io.store import WaveStore, is_wavesim_store, open_store

    path = Path(args.path)
    grid_given = [f"--{name.replace('_', '-')}" for name in GRID_DEFAULTS if getattr(args, name) is not None]
    if grid_given and not args.export_electrodes:
        raise ParameterError(f"{grid_given[0]} applies with --export-electrodes only.")
    for name in ("rows", "cols"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise ParameterError(f"--{name} must be at least 1 electrode, got {value}.")
    if args.pitch_um is not None:
        # the range of the virtual CI grid's pitch, named as the option
        spec = AnalysisParams.field_specs()["ci_grid_pitch_um"]
        if not (math.isfinite(args.pitch_um) and spec["low"] <= args.pitch_um <= spec["high"]):
            raise ParameterError(f"--pitch-um must be a finite number of um in [{spec['low']:g}, {spec['high']:g}], "
                                 f"got {args.pitch_um:g}.")
    if args.write and not is_wavesim_store(path):
        raise ParameterError(f"--write writes wave tables into a wavesim store; {path} is not one.")
    store = WaveStore(path, mode="r+") if args.write else None
    if not args.export_electrodes:
        return store
    out = args.export_electrodes
    check_output_file(out.replace(_MOVIE_PLACEHOLDER, "0"), "--export-electrodes", ("h5", "hdf5", "nwb"))
    if Path(out).suffix.lower() == ".nwb":
        from ..io.nwb import _pynwb

        _pynwb()  # missing pynwb fails now, not after the analysis
    if _is_recording_file(path) and grid_given:
        raise ParameterError(f"{grid_given[0]} applies to movies and stores; the MEA recording {path} is exported "
                             f"with its own electrodes.")
    if is_wavesim_store(path):
        from ..analysis.electrodes import centred_grid_um

        source = store or open_store(path)
        n_complete = len(source.complete_movies())
        if n_complete > 1 and _MOVIE_PLACEHOLDER not in out:
            raise ParameterError(f"--export-electrodes {out}: {path} holds {n_complete} complete movies; put "
                                 f"{_MOVIE_PLACEHOLDER} in the file name (e.g. {Path(out).stem}-{_MOVIE_PLACEHOLDER}"
                                 f"{Path(out).suffix}) to write one file per movie.")
        centred_grid_um(source.frame_shape, source.um_per_pixel, *_grid(args))
    return store


def _grid(args: argparse.Namespace) -> tuple[int, int, float]:
    return tuple(GRID_DEFAULTS[name] if getattr(args, name) is None else getattr(args, name)
                 for name in ("rows", "cols", "pitch_um"))


def _electrode_recordings(args: argparse.Namespace, params: AnalysisParams) -> dict[str, MEARecording]:
    """``{file: MEARecording}`` to export: virtual electrodes on each complete movie, or the recording itself."""
    from ..analysis.electrodes import grid_virtual_electrodes
    from ..io.recordings import load_movie, load_recording
    from ..io.store import is_wavesim_store, open_store
    from ..simulate import movie_seeds

    path, out = Path(args.path), args.export_electrodes
    if _is_recording_file(path):
        return {out.replace(_MOVIE_PLACEHOLDER, "0"): load_recording(path)}
    provenance = {}
    if is_wavesim_store(path):
        store = open_store(path)
        movies = {m: load_movie(store.read_movie(m), store.um_per_pixel, store.frame_period_s)
                  for m in store.complete_movies()}
        provenance = {m: _simulation(store, m) for m in movies}
        # seeds derived from (seed, movie), never the same stream for every movie
        seeds = dict(zip(movies, (int(s) for s in movie_seeds(params.seed, list(movies)))))
    else:
        movies = {0: load_movie(path, args.um_per_pixel, args.frame_period_s)}
        seeds = {0: params.seed}
    recordings = {}
    for m, movie in movies.items():
        recording = grid_virtual_electrodes(movie, *_grid(args), rate_hz=params.virtual_rate_hz, seed=seeds[m],
                                            threshold=params.activity_threshold)
        virtual = {**recording.metadata["virtual"], "source": str(path), "movie": m}
        metadata = {"virtual": virtual, **({"simulation": provenance[m]} if m in provenance else {})}
        recordings[out.replace(_MOVIE_PLACEHOLDER, str(m))] = dataclasses.replace(recording, metadata=metadata)
    return recordings


def _simulation(store, movie: int) -> dict:
    """A stored movie's provenance, which its virtual recording carries: the store's, the movie, its seed, and
    the preset (and so the species) its parameters are, if they are one's."""
    from ..io.nwb import SPECIES
    from ..models import model_of
    from ..simulate import movie_seeds

    params = store.spec.params
    preset = next((name for name, p in sorted(model_of(params).presets.items()) if p == params), None)
    return {**store.attrs, "store": str(store.path), "movie": movie, "session_id": f"{store.path.name}-movie{movie}",
            "movie_seed": int(movie_seeds(store.spec.seed, [movie])[0]), "preset": preset,
            "species": preset if preset in SPECIES else None}


def _report(paths: Sequence[str], args: argparse.Namespace) -> int:
    try:
        params = _params_from_args(args)
        # Inputs and outputs are checked before the analysis, which can take minutes.
        if args.json:
            check_output_file(args.json, "--json")
        if args.figure:
            from matplotlib.figure import Figure

            check_output_file(args.figure, "--figure", tuple(Figure().canvas.get_supported_filetypes()))
        store = _check_stats_options(args) if args.command == "stats" else None
        if store is not None:
            from ..analysis import combine_summaries
            from ..analysis.report import store_summaries

            per_movie, used = store_summaries(store, params, progress=show_progress(args))
            summaries = [combine_summaries(list(per_movie.values()), name=store.path.stem)]
        else:
            summaries = [
                analyse_path(p, params, um_per_pixel=args.um_per_pixel, frame_period_s=args.frame_period_s,
                             progress=show_progress(args))
                for p in paths
            ]
        # computed whole before any file is written, so that a movie the grid does not fit leaves nothing
        exports = _electrode_recordings(args, params) if getattr(args, "export_electrodes", None) else {}
        print(format_table(summaries))
        for summary in summaries:
            if summary.n_waves == 0:
                print(f"wavesim {args.command}: note: no wave in {summary.name} recruits {params.min_size_fraction:g} "
                      f"of its sites (--min-size-fraction); lower it, or record longer (a warm-up of a few minutes "
                      f"comes before steady waves).", file=sys.stderr)
        for output in (args.json, args.figure, *exports):
            if output:
                Path(output).parent.mkdir(parents=True, exist_ok=True)
        if store is not None:
            _write_wave_tables(store, per_movie, used)
        if exports:
            from ..io.recordings import write_recording
        for output, recording in exports.items():
            print(f"wrote {write_recording(recording, output)} ({recording.n_channels} electrodes, "
                  f"{recording.n_spikes} spikes)")
        if args.json:
            print(f"wrote {write_json(summaries, args.json)}")
        if args.figure:
            print(f"wrote {plot_summaries(summaries, args.figure)}")
    except OSError as exc:
        # an input or output file the system refuses: one line, as main() reports every user's error
        raise WavesimError(str(exc)) from exc
    return 0


def _write_wave_tables(store, per_movie: dict, params: AnalysisParams) -> None:
    from ..analysis.tables import movie_wave_table, wave_tables_provenance

    store.write_wave_tables({m: movie_wave_table(s, store.um_per_pixel) for m, s in per_movie.items()},
                            wave_tables_provenance(params))
    n_waves = sum(s.n_waves for s in per_movie.values())
    print(f"wrote the wave tables of {len(per_movie)} movie(s) ({n_waves} waves) into {store.path}/waves")


def _run_stats(args: argparse.Namespace) -> int:
    return _report([args.path], args)


def _run_compare(args: argparse.Namespace) -> int:
    if len(args.paths) < 2:
        raise ParameterError("give at least two inputs to compare")
    return _report(args.paths, args)


def _add_common_options(parser: argparse.ArgumentParser) -> None:
    defaults = AnalysisParams()
    parser.add_argument("--json", metavar="FILE", help="write the statistics as JSON to FILE")
    parser.add_argument("--figure", metavar="FILE",
                        help="save the figure to FILE (png, pdf, svg): distributions, CI and STTC against distance, "
                             "and per input a map of where waves start and of each site's participation")
    parser.add_argument("--um-per-pixel", type=float, help="pixel size of a movie file, um")
    parser.add_argument("--frame-period-s", type=float, help="time between frames of a movie file, s")
    parser.add_argument("--threshold", dest="activity_threshold", type=float,
                        help="movie pixels above this are active (default: > 0 binary, > 127 calcium)")
    parser.add_argument("--min-size-fraction", type=float,
                        help=f"smallest fraction of sites a wave recruits (default {defaults.min_size_fraction:g})")
    parser.add_argument("--max-onset-lag-s", type=float,
                        help=f"MEA: largest onset lag linking bursts of neighbouring electrodes, s "
                             f"(default {defaults.max_onset_lag_s:g})")
    parser.add_argument("--neighbour-radius-um", type=float,
                        help="MEA: neighbouring electrodes lie within this distance, um (default 2.5 x pitch)")
    parser.add_argument("--speed-method", choices=SPEED_METHODS,
                        help=f"wave speed: median of local plane fits ('local'), or one plane or circle fitted to "
                             f"the whole wave ('front'; overstates curved fronts) (default {defaults.speed_method!r})")
    parser.add_argument("--local-speed-radius-um", type=float,
                        help="radius of the local plane fits, um (default 2.5 x pitch for MEA; "
                             "4 pixels and >= 150 um for movies)")
    parser.add_argument("--ci-window-s", type=float,
                        help=f"correlation index window dt, s (default {defaults.ci_window_s:g})")
    parser.add_argument("--sttc-window-s", type=float,
                        help=f"spike time tiling coefficient window dt, s (default {defaults.sttc_window_s:g})")
    parser.add_argument("--rate-hz", dest="virtual_rate_hz", type=float,
                        help=f"movies: firing rate of a virtual electrode on an active pixel, 1/s, for the CI, the "
                             f"STTC and --export-electrodes (default {defaults.virtual_rate_hz:g})")
    parser.add_argument("--seed", type=int,
                        help=f"seed of virtual spike trains for movies; movie M of a store uses "
                             f"wavesim.movie_seeds(SEED, [M]) for --export-electrodes (default {defaults.seed})")


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
        description="Detect waves and print their statistics; optionally write JSON, a figure, a store's wave "
                    "tables and virtual electrode recordings.",
    )
    stats.add_argument("path", help="an MEA recording (.h5, .nwb), a movie (.npy, .tif, zarr array) or a wavesim "
                                    "store")
    _add_common_options(stats)
    stats.add_argument("--write", action="store_true",
                       help="store: write each complete movie's wave table (onset, duration, size, area, centroid, "
                            "initiation point, direction, speed) into the store's waves/ group, replacing earlier "
                            "tables; read them with WaveStore.wave_table(movie)")
    stats.add_argument("--export-electrodes", metavar="FILE",
                       help="write virtual electrode recordings of the movies to FILE, .h5 (the retinal wave "
                            "repository's layout) or .nwb (needs pynwb); {movie} in FILE stands for the movie index "
                            "(needed for a store of several movies); an MEA recording is converted as it is")
    stats.add_argument("--rows", type=int,
                       help=f"--export-electrodes: rows of the electrode grid, centred on the movie "
                            f"(default {GRID_DEFAULTS['rows']})")
    stats.add_argument("--cols", type=int,
                       help=f"--export-electrodes: columns of the electrode grid (default {GRID_DEFAULTS['cols']})")
    stats.add_argument("--pitch-um", type=float,
                       help=f"--export-electrodes: distance between neighbouring electrodes, um "
                            f"(default {GRID_DEFAULTS['pitch_um']:g})")
    stats.set_defaults(func=_run_stats, command="stats")

    compare = subparsers.add_parser(
        "compare", help="compare wave statistics of several inputs",
        description="Print the statistics of several inputs side by side and overlay their distributions.",
    )
    compare.add_argument("paths", nargs="+", metavar="PATH", help="two or more inputs, as for `stats`")
    _add_common_options(compare)
    compare.set_defaults(func=_run_compare, command="compare")
