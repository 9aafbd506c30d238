"""The command-line options of a run description (sheet, frames, timing), shared by ``generate`` and ``sweep``.

Each option's default is the model's (``WaveModel.run``); the help says what
that is for every registered model, read from the models themselves.
"""

from __future__ import annotations

import argparse

from ..errors import ParameterError
from ..readout import READOUTS
from ..run import RunSpec

#: Option -> (part of RunSpec, field, what it is).
_OPTIONS = {
    "--width-um": ("retina", "width_um", "retina width in um"),
    "--height-um": ("retina", "height_um", "retina height in um (default: the width)"),
    "--spacing-um": ("retina", "spacing_um", "distance between neighbouring cells in um"),
    "--um-per-pixel": ("readout", "um_per_pixel", "pixel size in um"),
    "--frame-period-s": ("readout", "frame_period_s", "seconds per frame"),
    "--warmup-s": ("timing", "warmup_s", "simulated time before recording, s"),
}


def model_defaults(part: str, name: str) -> str:
    """``"amacrine 34, directional 50"``: each registered model's default of one run setting."""
    from ..models import get_model, list_models

    values = {m: _text(getattr(getattr(get_model(m).run, part), name)) for m in list_models()}
    if len(set(values.values())) == 1:
        return next(iter(values.values()))
    return ", ".join(f"{m} {v}" for m, v in values.items())


def _text(value) -> str:
    return value if isinstance(value, str) else f"{value:g}"


def add_run_arguments(parser: argparse.ArgumentParser, *, duration_help: str) -> None:
    """Add the options that set a run's sheet, frames and timing (all default to the model's)."""
    parser.add_argument("--duration-s", type=float, default=None, help=duration_help)
    for option, (part, name, text) in _OPTIONS.items():
        default = "" if name == "height_um" else f" (default: the model's: {model_defaults(part, name)})"
        parser.add_argument(option, type=float, default=None, help=text + default)
    parser.add_argument("--shape", choices=("rectangle", "disc"), default=None,
                        help=f"retina shape (default: the model's: {model_defaults('retina', 'shape')})")
    parser.add_argument("--readout", choices=READOUTS, default=None,
                        help=f"frame type: 0/1 active cells, a calcium-like uint8 signal, or (continuous models) the "
                             f"graded readout variable (default: the model's: "
                             f"{model_defaults('readout', 'kind')})")
    parser.add_argument("--calcium-tau-s", type=float, default=None,
                        help="calcium filter time constant, s (default 1; --readout calcium only)")
    parser.add_argument("--blur-um", type=float, default=None,
                        help="Gaussian blur sd of calcium frames, um (default 0: none; --readout calcium only)")


def run_from_args(args, base: RunSpec, *, duration_s: float | None = None) -> RunSpec:
    """``base`` (a model's run) with the options ``args`` gives; ``duration_s`` where ``--duration-s`` is absent.

    Raises
    ------
    ParameterError
        For calcium options without ``--readout calcium``, values out of range, or a movie shorter than a frame.
    """
    kind = args.readout or base.readout.kind
    if kind != "calcium":
        for option, value in (("--calcium-tau-s", args.calcium_tau_s), ("--blur-um", args.blur_um)):
            if value is not None:
                raise ParameterError(f"{option} {value:g} applies to --readout calcium only, not --readout "
                                     f"{kind}.")
    given = {name: getattr(args, name) for _, name, _ in _OPTIONS.values()}
    run = base.updated(**given, shape=args.shape, kind=args.readout, calcium_tau_s=args.calcium_tau_s,
                       blur_um=args.blur_um, duration_s=duration_s if args.duration_s is None else args.duration_s)
    if run.timing.duration_s < run.readout.frame_period_s:
        raise ParameterError(f"--duration-s {run.timing.duration_s:g} s is shorter than one frame (--frame-period-s "
                             f"{run.readout.frame_period_s:g} s); give at least one frame period.")
    return run
