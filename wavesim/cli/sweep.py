"""``wavesim sweep``: wave statistics over a grid or a random design of model parameters."""

from __future__ import annotations

import sys
from pathlib import Path

from ..backends import backend_choices
from ..errors import ParameterError
from ._output import command_line, show_progress
from ._paths import check_output_file, check_output_folder
from ._run_args import add_run_arguments, model_defaults, run_from_args

#: Movie length where the model states none: long enough for tens of waves on the default retina.
SWEEP_DURATION_S = 600.0

_GRID_FORM = ("give NAME=LOW:HIGH:N[:log] (N values from LOW to HIGH, e.g. H1=2:6:5) or NAME=V1,V2,... "
              "(e.g. P_s=16,32,64)")
_RANDOM_FORM = "give NAME=LOW:HIGH[:log] (e.g. P_s=16:64, or P_s=10:1000:log)"


def _split(item: str, option: str, form: str) -> tuple[str, str]:
    name, sep, spec = item.partition("=")
    name, spec = name.strip(), spec.strip()
    if not sep or not name or not spec:
        raise ParameterError(f"{option} {item!r}: {form}.")
    return name, spec


def _number_or_name(text: str):
    """A float where ``text`` reads as one; else the text (a choice parameter's value, checked by the design)."""
    try:
        return float(text)
    except ValueError:
        return text


def parse_grid(items) -> dict[str, list]:
    """``["H1=2:6:5", "P_s=16,32,64"]`` -> ``{"H1": [2.0, 3.0, ...], "P_s": [16.0, 32.0, 64.0]}``."""
    from ..sweep import grid_values

    out: dict[str, list] = {}
    for item in items:
        name, spec = _split(item, "--grid", _GRID_FORM)
        if name in out:
            raise ParameterError(f"--grid names {name} twice; give each parameter once.")
        if ":" in spec:
            parts = spec.split(":")
            scale = parts.pop() if len(parts) == 4 else "linear"
            try:
                if len(parts) != 3:
                    raise ValueError
                low, high, n = float(parts[0]), float(parts[1]), int(parts[2])
            except ValueError:
                raise ParameterError(f"--grid {item}: {_GRID_FORM}.") from None
            try:
                out[name] = grid_values(low, high, n, scale)
            except ParameterError as exc:
                raise ParameterError(f"--grid {item}: {exc}") from None
        else:
            values = [v.strip() for v in spec.split(",")]
            if not all(values):
                raise ParameterError(f"--grid {item}: an empty value; {_GRID_FORM}.")
            out[name] = [_number_or_name(v) for v in values]
    return out


def parse_random(items) -> dict[str, tuple]:
    """``["H1=2:6", "P_s=10:1000:log"]`` -> ``{"H1": (2.0, 6.0, "linear"), "P_s": (10.0, 1000.0, "log")}``."""
    out: dict[str, tuple] = {}
    for item in items:
        name, spec = _split(item, "--random", _RANDOM_FORM)
        if name in out:
            raise ParameterError(f"--random names {name} twice; give each parameter once.")
        parts = spec.split(":")
        scale = parts.pop() if len(parts) == 3 else "linear"
        try:
            if len(parts) != 2:
                raise ValueError
            low, high = float(parts[0]), float(parts[1])
        except ValueError:
            raise ParameterError(f"--random {item}: {_RANDOM_FORM}.") from None
        if scale not in ("linear", "log"):
            raise ParameterError(f"--random {item}: the scale must be 'log' (or left out for linear), got {scale!r}.")
        out[name] = (low, high, scale)
    return out


def _design(args, base):
    from ..sweep import SweepDesign

    if bool(args.grid) == bool(args.random):
        raise ParameterError("give the parameters to vary with --grid (a full grid) or with --random "
                             "(a Latin hypercube), not " + ("both." if args.grid else "neither."))
    if args.grid:
        for option, value in (("--points", args.points), ("--design-seed", args.design_seed)):
            if value is not None:
                raise ParameterError(f"{option} {value} applies to --random designs only; a --grid holds every "
                                     f"combination of its values.")
        return SweepDesign.grid(base, parse_grid(args.grid))
    if args.points is None:
        raise ParameterError("--random needs --points N, the number of points of the design.")
    if args.points < 1:
        raise ParameterError(f"--points must be at least 1, got {args.points}.")
    seed = 0 if args.design_seed is None else args.design_seed
    if seed < 0:
        raise ParameterError(f"--design-seed must be >= 0, got {seed}.")
    return SweepDesign.random(base, parse_random(args.random), n_points=args.points, design_seed=seed)


def _objective(args, warmup_s: float):
    from ..analysis import AnalysisParams
    from ..fit.objective import Objective, SimulationSettings
    from ..io.recordings import load_recording

    simulation = SimulationSettings(n_retinas=args.retinas, seed=args.seed, warmup_s=warmup_s,
                                    duration_s=args.recording_duration_s, backend=args.backend)
    return Objective(load_recording(args.recording), simulation=simulation,
                     analysis=AnalysisParams(speed_method=args.speed_method or "local"))


def _print_table(result, design, stats) -> None:
    columns = [*design.parameters, *(s if s == "distance" else f"{s}_mean" for s in stats)]
    print("point  " + "  ".join(f"{c:>12.12}" for c in columns))
    for row in result.rows[:40]:
        cells = [f"{row[c]:>12.4g}" if isinstance(row[c], (int, float)) else f"{row[c]:>12}" for c in columns]
        print(f"{row['point']:>5}  " + "  ".join(cells))
    if len(result.rows) > 40:
        print(f"... {len(result.rows) - 40} more rows in the table")


def run(args) -> int:
    """Run the sweep ``args`` describe; print its table and where it went."""
    from ..analysis import AnalysisParams
    from ..backends import cuda_status, resolve_backend
    from ..models import get_model, load_params_file, model_of
    from ..sweep import plot_sweep, run_sweep
    from ..sweep.plot import figure_statistics

    for option, value in (("--retinas", args.retinas), ("--batch-size", args.batch_size)):
        if value is not None and value < 1:
            raise ParameterError(f"{option} must be at least 1, got {value}.")
    if args.params is not None:
        base = load_params_file(args.params, default_preset=args.preset, default_model=args.model)
    else:
        base = get_model(args.model).preset(args.preset)
    model = model_of(base)
    # Statistics need a long recording of a continuous model; a single-wave movie is over when its wave is.
    single_wave = model.single_wave is not None and model.single_wave(base)
    run_spec = run_from_args(args, model.run, duration_s=None if single_wave else SWEEP_DURATION_S)
    run_spec = run_spec.updated(backend=args.backend)
    timing = run_spec.timing
    if args.recording is None and args.recording_duration_s is not None:
        raise ParameterError("--recording-duration-s applies with --recording only.")
    out = check_output_folder(args.out, "--out")
    if args.figure:
        from matplotlib.figure import Figure

        check_output_file(args.figure, "--figure", tuple(Figure().canvas.get_supported_filetypes()))
    figure = Path(args.figure) if args.figure else out / "sweep.png"
    stats = figure_statistics([s.strip() for s in args.stats.split(",")] if args.stats else None,
                              args.recording is not None)

    design = _design(args, base)
    analysis = AnalysisParams(**{k: v for k, v in (("min_size_fraction", args.min_size_fraction),
                                                   ("speed_method", args.speed_method),
                                                   ("activity_threshold", args.threshold)) if v is not None})
    objective = _objective(args, timing.warmup_s) if args.recording else None
    if args.backend == "auto":
        print(f"backend auto -> {resolve_backend('auto', model)} ({cuda_status()[1]})", file=sys.stderr)
    try:
        result = run_sweep(design, base, out, run=run_spec, n_retinas=args.retinas,
                           seed=args.seed, analysis=analysis, objective=objective, batch_size=args.batch_size,
                           overwrite=args.overwrite, progress=show_progress(args),
                           command_line=command_line(args))
    except KeyboardInterrupt:
        print(f"wavesim sweep: interrupted; the points finished so far are in {out / 'sweep.csv'}: rerun the same "
              f"command to simulate the rest.", file=sys.stderr)
        return 130
    _print_table(result, design, stats)
    figure.parent.mkdir(parents=True, exist_ok=True)
    plot_sweep(result.rows, design, figure, stats,
               title=f"{model.name} sweep: mean over {args.retinas} retina(s) per point, {timing.duration_s:g} s each")
    print(f"{design.n_points} points ({result.n_simulated} simulated now on {result.backend}, "
          f"{design.n_points - result.n_simulated} already in the table)")
    print("wrote " + ", ".join(str(p) for p in [*result.files, figure]))
    return 0


def register(subparsers) -> None:
    """Add the ``sweep`` command to ``subparsers``."""
    p = subparsers.add_parser(
        "sweep", help="wave statistics over a grid or random design of model parameters",
        description="Simulate every point of a parameter design on several retinas (the same seeds for every "
                    "point), analyse each movie as 'wavesim stats' does, and write one row per point (mean and sd "
                    "over the retinas) to OUT/sweep.csv (and .parquet with pyarrow), the design and provenance to "
                    "OUT/sweep.json, and a figure. Rerun the same command to finish an interrupted sweep.")
    p.add_argument("--out", required=True, help="output folder: sweep.csv, sweep.parquet, sweep.json, sweep.png")
    p.add_argument("--grid", action="append", metavar="NAME=LOW:HIGH:N[:log] | NAME=V1,V2,...",
                   help="values of a parameter; the design is every combination; repeatable")
    p.add_argument("--random", action="append", metavar="NAME=LOW:HIGH[:log]",
                   help="range of a parameter for a Latin-hypercube design of --points points; repeatable")
    p.add_argument("--points", type=int, default=None, help="points of a --random design")
    p.add_argument("--design-seed", type=int, default=None, help="seed of a --random design (default 0)")
    p.add_argument("--model", default=None, help="wave model (default amacrine; see 'wavesim presets')")
    p.add_argument("--preset", default=None, help="preset whose values the unswept parameters keep")
    p.add_argument("--params", default=None, help="TOML file with 'model', 'preset' and a [parameters] table")
    p.add_argument("--retinas", type=int, default=2, help="retinas per point, the same seeds for every point "
                                                          "(default 2)")
    p.add_argument("--seed", type=int, default=0, help="seed of the retinas (default 0)")
    add_run_arguments(p, duration_help=f"analysed time per retina, s (default {SWEEP_DURATION_S:g}; the model's for "
                                       f"single-wave models: directional {model_defaults('timing', 'duration_s')})")
    p.add_argument("--threshold", type=float, default=None,
                   help="movie pixels above this are active (default: > 0 binary, > 127 calcium)")
    p.add_argument("--min-size-fraction", type=float, default=None,
                   help="smallest fraction of the pixels a wave recruits (default 0.05)")
    p.add_argument("--speed-method", choices=("local", "front"), default=None,
                   help="wave speed: median of local plane fits (default) or a whole-wave front fit")
    p.add_argument("--recording", default=None, metavar="FILE.h5",
                   help="also score every point against this MEA recording (wavesim fit's distance, simulated "
                        "through the recording's electrode layout)")
    p.add_argument("--recording-duration-s", type=float, default=None,
                   help="simulated time per retina for the --recording distance (default: the recording's)")
    p.add_argument("--stats", default=None,
                   help="comma-separated statistics to draw (default wave_frequency_per_min, median_iwi_s, "
                        "mean_size_fraction, median_speed_um_per_s, participation_fraction; and distance "
                        "with --recording)")
    p.add_argument("--figure", default=None, help="figure file (default OUT/sweep.png)")
    p.add_argument("--batch-size", type=int, default=None, help="points simulated at once (default: as many as fill "
                                                                "the engine's batch of retinas)")
    p.add_argument("--backend", choices=backend_choices(), default="auto",
                   help="simulation backend: auto picks cuda where a GPU is usable, else the model's CPU engine "
                        "(default %(default)s)")
    p.add_argument("--overwrite", action="store_true", help="discard a sweep already in OUT and start again")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)
