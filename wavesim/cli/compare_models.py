"""The ``wavesim compare-models`` subcommand: every model fitted to the same recordings, one table.

Library code does not import this module; ``wavesim.cli`` adds the
subcommand through :func:`register`.
"""

from __future__ import annotations

from pathlib import Path

from ..analysis import AnalysisParams
from ..fit.compare import compare_models
from ..fit.fidelity import PruningSettings
from ._output import show_progress
from .fit import (add_objective_options, add_search_options, batch_size, check_search_args, objective_settings,
                  simulation_settings)

__all__ = ["register"]


def _run(args) -> int:
    check_search_args(args)
    simulation = simulation_settings(args)
    comparison = compare_models(args.recording, args.out, models=args.models, hold_out=args.hold_out or (),
                                n_trials=args.trials, batch_size=batch_size(args, simulation),
                                sampler=args.sampler, sampler_seed=args.sampler_seed,
                                objective_settings=objective_settings(args), simulation=simulation,
                                analysis=AnalysisParams(speed_method=args.speed_method),
                                pruning=PruningSettings(pruner=args.pruning), workers=args.workers,
                                progress=show_progress(args))
    print(comparison.table())
    out = Path(args.out)
    print(f"wrote {out / 'comparison.md'}, comparison.json, models.png; each model's fit in "
          f"{', '.join(str(out / s.model) for s in comparison.scores)}")
    return 0


def register(subparsers) -> None:
    """Add the ``compare-models`` subcommand.

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
        From ``ArgumentParser.add_subparsers(dest="command")``.
    """
    p = subparsers.add_parser(
        "compare-models", help="fit every wave model to the same recordings and compare them on held-out ones",
        description="Fit each model (its fit preset as the start, its own fitted parameters and ranges) to "
                    "the same recordings with the same trial budget, objective, electrodes and simulated "
                    "retinas, score each fit on the held-out recordings, and print one table: per model the "
                    "preset's and the fit's distance, the held-out distance and the objective terms that stay "
                    "largest. Each model's fit is an ordinary `wavesim fit` in OUT/MODEL (rerun to resume).",
    )
    p.add_argument("recording", nargs="+", help="MEA recording(s) fitted, pooled (.h5, or .nwb with pynwb)")
    p.add_argument("--hold-out", nargs="+", default=None, metavar="RECORDING",
                   help="recordings no fit sees, on which the models are compared")
    p.add_argument("--out", required=True,
                   help="output folder: comparison.md, comparison.json, models.png, and a fit folder per model")
    p.add_argument("--models", default=None, metavar="NAME[:PRESET],...",
                   help="models to compare, each from its fit preset (as in wavesim fit) or the one named "
                        "(default: every registered model)")
    add_search_options(p)
    add_objective_options(p)
    p.set_defaults(func=_run, command="compare-models")
