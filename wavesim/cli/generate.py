"""``wavesim generate``: simulate wave movies into a zarr store."""

from __future__ import annotations

import sys
from pathlib import Path

from ..backends import backend_choices
from ._output import command_line, show_progress
from ._run_args import add_run_arguments, model_defaults, run_from_args


def register(subparsers) -> None:
    """Add the ``generate`` command to ``subparsers``."""
    g = subparsers.add_parser("generate", help="simulate wave movies into a zarr store")
    g.add_argument("store", help="path of the zarr store to write")
    g.add_argument("--model", default=None, help="wave model (default amacrine; see 'wavesim presets')")
    g.add_argument("--preset", default=None, help="parameter preset of the model (amacrine: mouse (default), ferret, "
                   "rabbit, chick, turtle)")
    g.add_argument("--params", default=None, help="TOML file with 'model', 'preset' and a [parameters] table")
    g.add_argument("--movies", type=int, default=4, help="number of movies in the dataset (default %(default)s)")
    add_run_arguments(g, duration_help="length of each movie in s (default: the model's: "
                                       f"{model_defaults('timing', 'duration_s')})")
    g.add_argument("--backend", choices=backend_choices(), default="auto",
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


def run(args) -> int:
    """Generate the store ``args`` describe; print how many movies are complete."""
    from ..backends import cuda_status, resolve_backend
    from ..errors import ParameterError, StoreNotFoundError
    from ..generate import check_run_flags, generate_store, parse_movie_range
    from ..io.store import DatasetSpec
    from ..models import model_of

    if args.resume and not args.overwrite and not Path(args.store).exists():  # with both, generate_store says why not
        raise StoreNotFoundError(f"--resume: no store at {args.store} to resume; leave out --resume to create it.")
    params = _load_params(args)
    model = model_of(params)
    run_spec = run_from_args(args, model.run).updated(batch_size=args.batch_size, backend=args.backend)
    spec = DatasetSpec(params=params, run=run_spec, seed=args.seed, n_movies=args.movies)
    movies = parse_movie_range(args.movie_range, args.movies) if args.movie_range else None
    options = dict(movies=movies, resume=args.resume, repair=args.repair,
                   overwrite=args.overwrite, progress=show_progress(args),
                   command_line=command_line(args), warm_cache=not args.no_warm_cache)
    if args.connect_timeout_s is not None and args.scheduler is None:
        raise ParameterError("--connect-timeout-s applies to --scheduler only.")
    if args.scheduler is not None or args.workers is not None:
        # Refuse contradictory flags before connecting, which can take the whole timeout.
        check_run_flags(resume=args.resume, repair=args.repair, overwrite=args.overwrite)
        store = _generate_on_cluster(args, spec, model, options)
    else:
        chosen = resolve_backend(args.backend, model)
        if args.backend == "auto":
            _, reason = cuda_status()
            print(f"backend auto -> {chosen} ({reason})", file=sys.stderr)
        store = generate_store(args.store, spec, **options)
    done = len(store.complete_movies())
    print(f"{store.path}: {done}/{store.n_movies} movies complete, {store.n_frames} frames of "
          f"{store.frame_shape[0]}x{store.frame_shape[1]} px each")
    return 0


def _generate_on_cluster(args, spec, model, options):
    """Connect to the cluster (before anything is written), say where it runs, and generate there."""
    from ..cluster import DEFAULT_CONNECT_TIMEOUT_S, describe_client, generate_store_distributed, open_client, \
        worker_backend

    timeout_s = DEFAULT_CONNECT_TIMEOUT_S if args.connect_timeout_s is None else args.connect_timeout_s
    with open_client(args.scheduler, args.workers, connect_timeout_s=timeout_s) as client:
        print(describe_client(client), file=sys.stderr)
        chosen, reason = worker_backend(client, args.backend, model.name)
        if args.backend == "auto":
            print(f"backend auto -> {chosen} on the workers ({reason})", file=sys.stderr)
        return generate_store_distributed(args.store, spec, client, **options)
