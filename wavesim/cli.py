"""The ``wavesim`` command line: generate, info, presets, render (and stats, compare)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .errors import WavesimError


def _load_params(args):
    from .models import get_model, load_params_file

    if args.params is not None:
        return load_params_file(args.params, default_preset=args.preset, default_model=args.model)
    return get_model(args.model).preset(args.preset)


def _cmd_generate(args) -> int:
    from .lattice import Retina
    from .readout import Readout
    from .simulate import Timing
    from .generate import generate_store, parse_movie_range
    from .io.store import DatasetSpec

    params = _load_params(args)
    spec = DatasetSpec(
        params=params,
        retina=Retina(width_um=args.width_um, height_um=args.height_um or args.width_um, shape=args.shape),
        readout=Readout(
            um_per_pixel=args.um_per_pixel,
            frame_period_s=args.frame_period_s,
            kind=args.readout,
            calcium_tau_s=args.calcium_tau_s,
            blur_um=args.blur_um,
        ),
        timing=Timing(duration_s=args.duration_s, warmup_s=args.warmup_s),
        seed=args.seed,
        n_movies=args.movies,
    )
    movies = parse_movie_range(args.movie_range, args.movies) if args.movie_range else None
    from .backends import cuda_status, resolve_backend

    chosen = resolve_backend(args.backend)
    if args.backend == "auto":
        usable, reason = cuda_status()
        print(f"backend auto -> {chosen} ({reason})", file=sys.stderr)
    store = generate_store(
        args.store,
        spec,
        movies=movies,
        backend=chosen,
        batch_size=args.batch_size,
        resume=args.resume,
        overwrite=args.overwrite,
        progress=not args.no_progress,
        command_line=["wavesim", *sys.argv[1:]],
    )
    done = len(store.complete_movies())
    print(f"{store.path}: {done}/{store.n_movies} movies complete, {store.n_frames} frames of "
          f"{store.frame_shape[0]}x{store.frame_shape[1]} px each")
    return 0


def _cmd_info(args) -> int:
    import json

    import numpy as np

    from .io.store import open_store

    store = open_store(args.store)
    a = store.attrs
    complete = store.complete_movies()
    print(f"store            {store.path}")
    print(f"format           {a['format']} v{a['format_version']}, written by wavesim {a.get('wavesim_version')}")
    print(f"created          {a.get('created_utc')} with backend {a.get('created_with_backend')}")
    print(f"command line     {' '.join(a.get('command_line', []))}")
    print(f"model            {a['model']}")
    for name, v in a["parameters"].items():
        print(f"  {name:<14} {v['value']:<10g} {v['unit']}")
    r = a["retina"]
    print(f"retina           {r['width_um']['value']:g} x {r['height_um']['value']:g} um {r['shape']['value']}, "
          f"spacing {r['spacing_um']['value']:g} um, dendrite radius {r['dendrite_radius_um']['value']:g} um")
    print(f"readout          {a['readout_kind']}, {a['um_per_pixel']:g} um/pixel, {a['frame_period_s']:g} s/frame "
          f"({a['readout_scale']})")
    print(f"timing           dt {a['dt_s']:g} s, warm-up {a['warmup_s']:g} s, "
          f"{store.n_frames} frames = {store.n_frames * store.frame_period_s:g} s per movie")
    print(f"seed             {a['seed']}")
    print(f"movies           {len(complete)}/{store.n_movies} complete, frames {store.n_frames} x "
          f"{store.frame_shape[0]} x {store.frame_shape[1]} px")
    if complete:
        sample = complete[: args.sample]
        fractions = [float((store.read_movie(m) > 0).mean()) for m in sample]
        print(f"active pixels    {np.mean(fractions):.4f} of pixel-frames are non-zero "
              f"(mean over {len(sample)} movie(s))")
    if args.json:
        print(json.dumps(a, indent=2))
    return 0


def _cmd_presets(args) -> int:
    from .models import get_model, list_models

    for name in [args.model] if args.model else list_models():
        model = get_model(name)
        specs = model.params_cls.field_specs()
        names = list(model.presets)
        print(f"model {model.name}: {model.summary} (default preset {model.default_preset})")
        print(f"{'parameter':<14} {'unit':<5} " + " ".join(f"{n:>8}" for n in names) + "   allowed range")
        for field_name, meta in specs.items():
            values = " ".join(f"{getattr(model.presets[n], field_name):>8g}" for n in names)
            print(f"{field_name:<14} {meta['unit']:<5} {values}   [{meta['low']:g}, {meta['high']:g}]  {meta['doc']}")
        print()
    return 0


def _cmd_render(args) -> int:
    from .io.render import render_movie
    from .io.store import open_store

    store = open_store(args.store)
    complete = store.complete_movies()
    if args.movie not in complete:
        from .errors import StoreError

        raise StoreError(f"movie {args.movie} of {store.path} is not complete; complete movies: {complete[:10]}")
    n = store.n_frames
    start = int(round(args.start_s / store.frame_period_s))
    stop = n if args.duration_s is None else min(n, start + int(round(args.duration_s / store.frame_period_s)))
    frames = store.read_movie(args.movie, start, stop)
    out = Path(args.out) if args.out else store.path.with_suffix(f".movie{args.movie}.gif")
    render_movie(
        frames,
        um_per_pixel=store.um_per_pixel,
        frame_period_s=store.frame_period_s,
        path=out,
        fps=args.fps,
        start_time_s=start * store.frame_period_s,
        title=f"{store.path.name} movie {args.movie}",
    )
    print(f"wrote {out}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = argparse.ArgumentParser(prog="wavesim", description="Simulate developmental retinal waves.")
    parser.add_argument("--version", action="version", version=f"wavesim {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    g = sub.add_parser("generate", help="simulate wave movies into a zarr store")
    g.add_argument("store", help="path of the zarr store to write")
    g.add_argument("--model", default=None, help="wave model (default amacrine; see 'wavesim presets')")
    g.add_argument("--preset", default=None, help="parameter preset of the model (amacrine: mouse (default), ferret, "
                   "rabbit, chick, turtle)")
    g.add_argument("--params", default=None, help="TOML file with 'model', 'preset' and a [parameters] table")
    g.add_argument("--movies", type=int, default=4, help="number of movies in the dataset (default 4)")
    g.add_argument("--duration-s", type=float, default=60.0, help="length of each movie in s (default 60)")
    g.add_argument("--warmup-s", type=float, default=900.0, help="simulated time before recording, s (default 900)")
    g.add_argument("--width-um", type=float, default=3200.0, help="retina width in um (default 3200)")
    g.add_argument("--height-um", type=float, default=None, help="retina height in um (default: the width)")
    g.add_argument("--shape", choices=("rectangle", "disc"), default="rectangle", help="retina shape")
    g.add_argument("--um-per-pixel", type=float, default=50.0, help="pixel size in um (default 50)")
    g.add_argument("--frame-period-s", type=float, default=0.5, help="seconds per frame (default 0.5)")
    g.add_argument("--readout", choices=("binary", "calcium"), default="binary", help="frame type")
    g.add_argument("--calcium-tau-s", type=float, default=1.0, help="calcium filter time constant, s")
    g.add_argument("--blur-um", type=float, default=0.0, help="Gaussian blur sd of calcium frames, um")
    g.add_argument("--backend", choices=("auto", "cpu", "cuda"), default="auto")
    g.add_argument("--seed", type=int, default=0, help="dataset seed (default 0)")
    g.add_argument("--movie-range", default=None, help="START:STOP, the movies this process writes (split runs)")
    g.add_argument("--batch-size", type=int, default=None, help="retinas simulated at once")
    g.add_argument("--resume", action="store_true", help="finish an existing store, skipping complete movies")
    g.add_argument("--overwrite", action="store_true", help="replace an existing store")
    g.add_argument("--no-progress", action="store_true", help="no progress bar")
    g.set_defaults(func=_cmd_generate)

    i = sub.add_parser("info", help="provenance and summary of a store")
    i.add_argument("store")
    i.add_argument("--sample", type=int, default=8, help="movies read for the activity summary")
    i.add_argument("--json", action="store_true", help="also print all attributes as JSON")
    i.set_defaults(func=_cmd_info)

    p = sub.add_parser("presets", help="list each model's parameter presets with units and ranges")
    p.add_argument("--model", default=None, help="only this model")
    p.set_defaults(func=_cmd_presets)

    r = sub.add_parser("render", help="animated GIF of a movie, with time stamps and a scale bar")
    r.add_argument("store")
    r.add_argument("--movie", type=int, default=0)
    r.add_argument("--out", default=None, help="output .gif (or .mp4 with imageio-ffmpeg)")
    r.add_argument("--start-s", type=float, default=0.0)
    r.add_argument("--duration-s", type=float, default=None)
    r.add_argument("--fps", type=float, default=None)
    r.set_defaults(func=_cmd_render)

    from .stats_report import register_cli

    register_cli(sub)
    from .train.cli import register_cli as register_train_cli

    register_train_cli(sub)
    from .fit import register_cli as register_fit_cli

    register_fit_cli(sub)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except WavesimError as exc:
        print(f"wavesim {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"wavesim {args.command}: interrupted; complete movies are kept, rerun with --resume.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
