"""``wavesim generate``: simulate wave movies into a zarr store."""

from __future__ import annotations

import sys
from pathlib import Path

from ..backends import BACKENDS
from ._output import command_line, show_progress


def register(subparsers) -> None:
    """Add the ``generate`` command to ``subparsers``."""
    g = subparsers.add_parser("generate", help="simulate wave movies into a zarr store")
    g.add_argument("store", help="path of the zarr store to write")
    g.add_argument("--model", default=None, help="wave model (default amacrine; see 'wavesim presets')")
    g.add_argument("--preset", default=None, help="parameter preset of the model (amacrine: mouse (default), ferret, "
                   "rabbit, chick, turtle)")
    g.add_argument("--params", default=None, help="TOML file with 'model', 'preset' and a [parameters] table")
    g.add_argument("--movies", type=int, default=4, help="number of movies in the dataset (default %(default)s)")
    g.add_argument("--duration-s", type=float, default=None,
                   help="length of each movie in s (default 60; directional: 64, i.e. 128 frames)")
    g.add_argument("--warmup-s", type=float, default=None,
                   help="simulated time before recording, s (default 900; directional: 0)")
    g.add_argument("--width-um", type=float, default=None, help="retina width in um (default 3200)")
    g.add_argument("--height-um", type=float, default=None, help="retina height in um (default: the width)")
    g.add_argument("--spacing-um", type=float, default=None,
                   help="distance between neighbouring cells in um (default 34; directional: 50, one cell a pixel)")
    g.add_argument("--shape", choices=("rectangle", "disc"), default="rectangle",
                   help="retina shape (default %(default)s)")
    g.add_argument("--um-per-pixel", type=float, default=None, help="pixel size in um (default 50)")
    g.add_argument("--frame-period-s", type=float, default=None, help="seconds per frame (default 0.5)")
    g.add_argument("--readout", choices=("binary", "calcium"), default="binary",
                   help="frame type: 0/1 active cells, or a calcium-like uint8 signal (default %(default)s)")
    g.add_argument("--calcium-tau-s", type=float, default=None,
                   help="calcium filter time constant, s (default 1; --readout calcium only)")
    g.add_argument("--blur-um", type=float, default=None,
                   help="Gaussian blur sd of calcium frames, um (default 0: none; --readout calcium only)")
    g.add_argument("--backend", choices=BACKENDS, default="auto",
                   help="simulation backend: auto picks cuda where a GPU is usable, else the model's CPU engine "
                        "(default %(default)s)")
    g.add_argument("--seed", type=int, default=0, help="dataset seed (default %(default)s)")
    g.add_argument("--movie-range", default=None, help="START:STOP, the movies this process writes (split runs)")
    g.add_argument("--batch-size", type=int, default=None, help="retinas simulated at once (>= 1)")
    g.add_argument("--resume", action="store_true", help="finish an existing store, skipping complete movies")
    g.add_argument("--repair", action="store_true", help="with --resume: also regenerate complete movies whose "
                   "chunks are missing or damaged (see 'wavesim verify')")
    g.add_argument("--overwrite", action="store_true", help="replace an existing store")
    g.add_argument("--no-progress", action="store_true", help="no progress bar")
    cluster = g.add_mutually_exclusive_group()
    cluster.add_argument("--scheduler", default=None, metavar="ADDRESS",
                         help="run the simulations on the Dask cluster whose scheduler is at ADDRESS (tcp://HOST:PORT); "
                              "the store must be on a filesystem the workers share (needs wavesim[distributed])")
    cluster.add_argument("--workers", type=int, default=None, metavar="N",
                         help="run the simulations on a Dask LocalCluster of N worker processes started here "
                              "(needs wavesim[distributed])")
    g.add_argument("--connect-timeout-s", type=float, default=None,
                   help="with --scheduler: seconds to wait for the scheduler (default 30)")
    g.add_argument("--no-warm-cache", action="store_true",
                   help="neither reuse nor store warmed-up retinas (cache in $WAVESIM_CACHE/warm, default "
                        "~/.cache/wavesim/warm; WAVESIM_NO_WARM_CACHE=1 also turns it off)")
    g.set_defaults(func=run)


def _load_params(args):
    from ..models import get_model, load_params_file

    if args.params is not None:
        return load_params_file(args.params, default_preset=args.preset, default_model=args.model)
    return get_model(args.model).preset(args.preset)


#: Run settings where a model states no default of its own (``WaveModel.run_defaults``).
RUN_DEFAULTS = {"duration_s": 60.0, "warmup_s": 900.0, "width_um": 3200.0, "spacing_um": 34.0,
                "um_per_pixel": 50.0, "frame_period_s": 0.5}


def _setting(args, name: str, model) -> float:
    value = getattr(args, name)
    if value is not None:
        return value
    return model.run_defaults.get(name, RUN_DEFAULTS[name])


def run(args) -> int:
    """Generate the store ``args`` describe; print how many movies are complete."""
    from ..backends import cuda_status, resolve_backend
    from ..errors import ParameterError, StoreNotFoundError
    from ..generate import check_run_flags, generate_store, parse_movie_range
    from ..io.store import DatasetSpec
    from ..lattice import Retina
    from ..readout import Readout
    from ..simulate import Timing

    from ..models import model_of

    if args.readout != "calcium":
        for option, value in (("--calcium-tau-s", args.calcium_tau_s), ("--blur-um", args.blur_um)):
            if value is not None:
                raise ParameterError(f"{option} {value:g} applies to --readout calcium only, not --readout "
                                     f"{args.readout}.")
    if args.resume and not args.overwrite and not Path(args.store).exists():  # with both, generate_store says why not
        raise StoreNotFoundError(f"--resume: no store at {args.store} to resume; leave out --resume to create it.")
    params = _load_params(args)
    model = model_of(params)
    width_um = _setting(args, "width_um", model)
    spec = DatasetSpec(
        params=params,
        retina=Retina(width_um=width_um, height_um=args.height_um or width_um, shape=args.shape,
                      spacing_um=_setting(args, "spacing_um", model)),
        readout=Readout(
            um_per_pixel=_setting(args, "um_per_pixel", model),
            frame_period_s=_setting(args, "frame_period_s", model),
            kind=args.readout,
            calcium_tau_s=1.0 if args.calcium_tau_s is None else args.calcium_tau_s,
            blur_um=0.0 if args.blur_um is None else args.blur_um,
        ),
        timing=Timing(duration_s=_setting(args, "duration_s", model), warmup_s=_setting(args, "warmup_s", model)),
        seed=args.seed,
        n_movies=args.movies,
    )
    if spec.timing.duration_s < spec.readout.frame_period_s:
        raise ParameterError(f"--duration-s {spec.timing.duration_s:g} s is shorter than one frame (--frame-period-s "
                             f"{spec.readout.frame_period_s:g} s); give at least one frame period.")
    movies = parse_movie_range(args.movie_range, args.movies) if args.movie_range else None
    options = dict(movies=movies, batch_size=args.batch_size, resume=args.resume, repair=args.repair,
                   overwrite=args.overwrite, progress=show_progress(args),
                   command_line=command_line(args), warm_cache=not args.no_warm_cache)
    if args.connect_timeout_s is not None and args.scheduler is None:
        raise ParameterError("--connect-timeout-s applies to --scheduler only.")
    if args.scheduler is not None or args.workers is not None:
        # Refuse contradictory flags before connecting, which can take the whole timeout.
        check_run_flags(resume=args.resume, repair=args.repair, overwrite=args.overwrite, batch_size=args.batch_size)
        store = _generate_on_cluster(args, spec, model, options)
    else:
        chosen = resolve_backend(args.backend, model)
        if args.backend == "auto":
            _, reason = cuda_status()
            print(f"backend auto -> {chosen} ({reason})", file=sys.stderr)
        store = generate_store(args.store, spec, backend=chosen, **options)
    done = len(store.complete_movies())
    print(f"{store.path}: {done}/{store.n_movies} movies complete, {store.n_frames} frames of "
          f"{store.frame_shape[0]}x{store.frame_shape[1]} px each")
    return 0


def _generate_on_cluster(args, spec, model, options):
    """Connect to the cluster (before anything is written), say where it runs, and generate there."""
    from ..distributed import DEFAULT_CONNECT_TIMEOUT_S, describe_client, generate_store_distributed, open_client, \
        worker_backend

    timeout_s = DEFAULT_CONNECT_TIMEOUT_S if args.connect_timeout_s is None else args.connect_timeout_s
    with open_client(args.scheduler, args.workers, connect_timeout_s=timeout_s) as client:
        print(describe_client(client), file=sys.stderr)
        chosen, reason = worker_backend(client, args.backend, model.name)
        if args.backend == "auto":
            print(f"backend auto -> {chosen} on the workers ({reason})", file=sys.stderr)
        return generate_store_distributed(args.store, spec, client, backend=chosen, **options)
