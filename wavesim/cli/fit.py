"""The ``wavesim fit`` subcommand: its arguments and what it prints.

Library code does not import this module; ``wavesim.cli`` adds the
subcommand through :func:`register`.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..analysis import AnalysisParams
from ..analysis.params import SPEED_METHODS
from ..backends import backend_choices
from ..errors import ParameterError
from ..models import get_model, load_params_file, model_of
from ..fit.fidelity import PRUNERS, PruningSettings
from ..fit.objective import TERM_NAMES, ObjectiveSettings
from ..fit.ranges import DEFAULT_FITTED
from ..fit.report import recording_distances, start_note
from ..fit.search import SAMPLERS, fit
from ..fit.virtual import ELECTRODE_MODELS, SimulationSettings
from ._output import show_progress
from ._paths import check_output_folder

__all__ = ["add_objective_options", "add_search_options", "batch_size", "check_search_args",
           "objective_settings", "register", "simulation_settings"]


def _pairs(items, what: str) -> dict[str, str]:
    out = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise ParameterError(f"{what} must look like NAME=VALUE, got {item!r}.")
        out[name.strip()] = value.strip()
    return out


def _parse_ranges(items) -> dict[str, tuple[float, float]]:
    out = {}
    for name, value in _pairs(items, "--range").items():
        low, sep, high = value.partition(":")
        try:
            out[name] = (float(low), float(high))
        except ValueError:
            raise ParameterError(f"--range {name}={value}: give LOW:HIGH as numbers, e.g. P_s=10:100.") from None
        if not sep:
            raise ParameterError(f"--range {name}={value}: give LOW:HIGH, e.g. P_s=10:100.")
    return out


def _parse_weights(items) -> dict[str, float]:
    out = {}
    for name, value in _pairs(items, "--weight").items():
        try:
            out[name] = float(value)
        except ValueError:
            raise ParameterError(f"--weight {name}={value}: the weight must be a number.") from None
    return out


def check_search_args(args) -> None:
    """Fail at once on counts below 1 and an unusable output folder; apply ``--no-warm-cache``."""
    for option, value in (("--trials", args.trials), ("--batch-size", args.batch_size), ("--workers", args.workers)):
        if value is not None and value < 1:
            raise ParameterError(f"{option} must be at least 1, got {value}.")
    check_output_folder(args.out, "--out")
    if args.no_warm_cache:
        os.environ["WAVESIM_NO_WARM_CACHE"] = "1"  # read where candidates are simulated, workers included


def objective_settings(args) -> ObjectiveSettings:
    return ObjectiveSettings(weights=_parse_weights(args.weight), min_recorded_waves=args.min_waves)


def simulation_settings(args) -> SimulationSettings:
    return SimulationSettings(n_retinas=args.retinas, seed=args.seed, margin_um=args.margin_um,
                              um_per_pixel=args.um_per_pixel, frame_period_s=args.frame_period_s,
                              warmup_s=args.warmup_s, duration_s=args.duration_s, backend=args.backend,
                              electrodes=args.electrodes, burst_rate_hz=args.burst_rate_hz,
                              burst_decay_s=args.burst_decay_s, sync_gain_variance=args.sync_gain_variance,
                              sync_length_um=args.sync_length_um, sync_time_s=args.sync_time_s)


def batch_size(args, simulation: SimulationSettings) -> int:
    return args.batch_size if args.batch_size is not None else (8 if simulation.backend == "cuda" else 2)


def _run_fit(args) -> int:
    check_search_args(args)
    if args.params:
        base = load_params_file(args.params, default_preset=args.preset, default_model=args.model)
    else:
        base = get_model(args.model).preset(args.preset or get_model(args.model).fit_start_preset)
    base_name = args.preset or model_of(base).fit_start_preset
    fitted = [n.strip() for n in args.fit.split(",") if n.strip()] if args.fit else None
    settings = objective_settings(args)
    simulation = simulation_settings(args)
    batch = batch_size(args, simulation)
    result = fit(args.recording, args.out, hold_out=args.hold_out or (), storage=args.storage,
                 study_name=args.study_name, base=base,
                 base_name=base_name, fitted=fitted, ranges=_parse_ranges(args.range), n_trials=args.trials,
                 batch_size=batch, sampler=args.sampler, sampler_seed=args.sampler_seed,
                 objective_settings=settings, simulation=simulation,
                 analysis=AnalysisParams(speed_method=args.speed_method), progress=show_progress(args),
                 pruning=PruningSettings(pruner=args.pruning), workers=args.workers)
    r = result.report
    print(f"best distance {r['best_distance']:.4f} +- {r['best_distance_sem'] or 0:.4f} (trial {r['best_trial']}; "
          f"{r['n_trials_complete']} complete and {r['n_trials_pruned']} pruned trials; preset distance "
          f"{r['preset_distance']:.4f})")
    print(start_note(r))
    if r["search"]["note"]:
        print(f"note: {r['search']['note']}")
    for name, (given, used) in r["start"]["clipped"].items():
        low, high = r["ranges"][name]
        print(f"note: the start's {name} = {given:g} lies outside its range [{low:g}, {high:g}]; "
              f"the study started from {used:g}")
    near = r["near_best"]
    print(f"parameter    fitted  preset  range over the {near['n_trials']} trials within {near['n_sem']:g} x "
          f"{near['sem']:.3g} (median sem) of the best")
    for name, value in r["fitted_parameters"].items():
        low, high = near["ranges"][name]
        print(f"  {name:<10} {value:<7.4g} {getattr(base, name):<7g} {low:.4g} - {high:.4g}")
    _print_recordings(r)
    timing = r["study_time"]
    print(f"study: {timing['busy_time_s']:.0f} s busy over {len(timing['workers'])} process(es)")
    figures = "comparison.png" + (", distances.png" if r["recordings"] or r["held_out"] else "")
    print(f"wrote {Path(args.out) / 'best_params.toml'}, report.json, {figures}")
    return 0


def _print_recordings(report) -> None:
    """Each pooled and each held-out recording's distance to the preset and to the fit."""
    rows = recording_distances(report)
    if not rows:
        return
    print(f"{'recording':<34} {'group':<9} {'preset':>8} {'fitted':>8}")
    for name, group, preset, fitted in rows:
        print(f"{name:<34} {group:<9} {preset:>8.4f} {fitted:>8.4f}")
    held = report["held_out"]
    if held:
        print(f"held out, pooled: preset {held['preset']['distance']:.4f} +- {held['preset']['distance_sem']:.4f}, "
              f"fitted {held['fitted']['distance']:.4f} +- {held['fitted']['distance_sem']:.4f}")


def add_search_options(p, trials_default: int = 50) -> None:
    """The options of a fit's search, the same in ``fit`` and ``compare-models``."""
    p.add_argument("--trials", type=int, default=trials_default,
                   help="finished (complete or pruned) trials of the whole study (default %(default)s)")
    p.add_argument("--batch-size", type=int, default=None,
                   help="candidates asked and scored together (default 8 on cuda, 2 on cpu)")
    p.add_argument("--workers", type=int, default=None,
                   help="processes that simulate candidates on the CPU engines (default: one per core; 1 on cuda, "
                        "where a batch runs on the GPU)")
    p.add_argument("--pruning", choices=PRUNERS, default="halving",
                   help="score each candidate on a simulation a third as long first and stop those clearly worse "
                        "than the best there (successive halving within the distance's standard error), or run "
                        "every candidate in full (default %(default)s)")
    p.add_argument("--sampler", choices=SAMPLERS, default="tpe",
                   help="Optuna sampler of the candidates (default %(default)s)")
    p.add_argument("--seed", type=int, default=0,
                   help="seed of the simulated retinas, the same for every candidate (default %(default)s)")
    p.add_argument("--sampler-seed", type=int, default=None,
                   help="seed of the sampler: each trial's candidate is drawn with a seed from this, the study name "
                        "and the trial's number, so reruns and resumes propose the same candidates and processes "
                        "sharing a study different ones (default: --seed)")


def add_objective_options(p) -> None:
    """How candidates are simulated, seen through virtual electrodes and scored."""
    p.add_argument("--weight", action="append", metavar="TERM=W",
                   help=f"weight of an objective term ({', '.join(TERM_NAMES)}; default 1); repeatable")
    p.add_argument("--retinas", type=int, default=2, help="retinas per candidate (default %(default)s)")
    p.add_argument("--warmup-s", type=float, default=900.0,
                   help="simulated time before sampling, s (default %(default)g)")
    p.add_argument("--duration-s", type=float, default=None,
                   help="simulated time per retina (default: the recording's)")
    p.add_argument("--margin-um", type=float, default=500.0,
                   help="retina beyond the electrode layout, um (default %(default)g)")
    p.add_argument("--um-per-pixel", type=float, default=34.0, help="readout pixel size, um (default %(default)g)")
    p.add_argument("--frame-period-s", type=float, default=0.25, help="readout frame period, s (default %(default)g)")
    p.add_argument("--min-waves", type=int, default=5, help="fewest recorded waves to fit (default %(default)s)")
    p.add_argument("--electrodes", choices=ELECTRODE_MODELS, default="burst",
                   help="how a virtual electrode fires while its pixel is active: a burst whose rate decays from "
                        "the burst's start; such a burst whose rate shares a spatially correlated gain with the "
                        "active electrodes nearby (synchronous); or a constant 20 Hz Poisson rate "
                        "(default %(default)s)")
    p.add_argument("--burst-rate-hz", type=float, default=None,
                   help="virtual electrode rate at a burst's start, 1/s (default: estimated from each recording)")
    p.add_argument("--burst-decay-s", type=float, default=None,
                   help="decay time of the burst rate, s (default: estimated from each recording)")
    for name, what in (("sync_gain_variance", "variance of the shared gain"),
                       ("sync_length_um", "distance over which the shared gain decorrelates, um"),
                       ("sync_time_s", "time bins of the shared gain, s")):
        p.add_argument(f"--{name.replace('_', '-')}", type=float, default=None,
                       help=f"synchronous electrodes: {what} (default: estimated from each recording)")
    p.add_argument("--speed-method", choices=SPEED_METHODS, default="local",
                   help="wave speed of the speed term, for recording and simulation alike: median of local plane "
                        "fits ('local') or one whole-wave front fit ('front') (default %(default)s)")
    p.add_argument("--backend", choices=backend_choices(), default="auto",
                   help="simulation backend: auto picks cuda where a GPU is usable, else the model's CPU engine "
                        "(default %(default)s)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument("--no-warm-cache", action="store_true",
                   help="neither reuse nor store warmed-up retinas (as WAVESIM_NO_WARM_CACHE=1)")


def register(subparsers) -> None:
    """Add the ``fit`` subcommand.

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
        From ``ArgumentParser.add_subparsers(dest="command")``.
    """
    p = subparsers.add_parser(
        "fit", help="fit model parameters to an MEA recording",
        description="Search model parameters whose simulated waves, seen through virtual electrodes at the "
                    "recording's electrode positions, match the recording's statistics (Optuna study; resumable, "
                    "shareable by several processes).",
    )
    p.add_argument("recording", nargs="+",
                   help="MEA recording(s) (.h5, or .nwb with pynwb); several are fitted with one parameter set, "
                        "each through its own electrode layout, and their distances pooled")
    p.add_argument("--hold-out", nargs="+", default=None, metavar="RECORDING",
                   help="recordings left out of the fit and scored afterwards with the fitted and the start's "
                        "parameters (the report's held_out)")
    p.add_argument("--out", required=True, help="output folder: best_params.toml, report.json, comparison.png")
    p.add_argument("--storage", default=None,
                   help="journal file or database URL of the study (default OUT/study.journal); "
                        "processes given the same storage work on one study")
    p.add_argument("--study-name", default="wavesim-fit",
                   help="name of the study in --storage; processes with the same name share it (default %(default)s)")
    add_search_options(p)
    p.add_argument("--model", default=None, help="wave model (default amacrine)")
    p.add_argument("--preset", default=None,
                   help="starting preset, the study's first trial (default: the model's fit preset, for amacrine "
                        "mouse, for directional continuous)")
    p.add_argument("--params", default=None,
                   help="TOML parameter file to start from (the study's first trial, instead of --preset)")
    p.add_argument("--fit", default=None,
                   help=f"comma-separated parameters to fit (default: the model's; amacrine {','.join(DEFAULT_FITTED)})")
    p.add_argument("--range", action="append", metavar="NAME=LOW:HIGH",
                   help="search range of a parameter (default: the model's fit range, else its allowed range); "
                        "repeatable")
    add_objective_options(p)
    p.set_defaults(func=_run_fit, command="fit")
