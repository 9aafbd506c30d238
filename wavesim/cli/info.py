"""``wavesim info``: what this installation runs (models, engines, GPU), or the provenance and a summary of a store."""

from __future__ import annotations


def register(subparsers) -> None:
    """Add the ``info`` command to ``subparsers``."""
    i = subparsers.add_parser("info", help="models and engines of this installation, or a store's provenance")
    i.add_argument("store", nargs="?", default=None,
                   help="path of a wavesim store (without it: the registered models and engines, and whether a GPU "
                        "is usable here)")
    i.add_argument("--sample", type=int, default=8,
                   help="movies read for the activity summary, >= 1 (default %(default)s)")
    i.add_argument("--json", action="store_true", help="also print all attributes as JSON")
    i.set_defaults(func=run)


def run(args) -> int:
    """Print the provenance of ``args.store`` and the active fraction of a few of its movies (or the installation)."""
    if args.store is None:
        return _installation()
    return _store(args)


def _installation() -> int:
    """The registered models (with their engines and natural run) and engines (with whether each runs here)."""
    from .._version import __version__
    from ..backends import cuda_status, engine_entries, engines_for
    from ..models import get_model, list_models

    usable, reason = cuda_status()
    print(f"wavesim {__version__}")
    print("models")
    for name in list_models():
        model = get_model(name)
        run = model.run
        print(f"  {name:<12} {model.summary}")
        print(f"  {'':<12} engines {', '.join(engines_for(model))}; presets {', '.join(model.presets)} "
              f"(default {model.default_preset})")
        print(f"  {'':<12} runs on {run.retina.width_um:g} x {run.retina.height_um:g} um at {run.retina.spacing_um:g} um "
              f"spacing, {run.readout.um_per_pixel:g} um pixels, {run.readout.frame_period_s:g} s frames, "
              f"warm-up {run.timing.warmup_s:g} s")
    print("engines (backend=)")
    for entry in engine_entries():
        here = "usable here" if entry.device == "cpu" or usable else "not usable here"
        print(f"  {entry.name:<12} {entry.summary} ({here})")
    print(f"  {'auto':<12} cuda where a GPU is usable, else the model's event engine, else cpu")
    print(f"GPU              {reason}")
    return 0


def _store(args) -> int:
    import json

    import numpy as np

    from ..errors import ParameterError
    from ..io.store import open_store

    if args.sample < 1:
        raise ParameterError(f"--sample must be at least 1 movie, got {args.sample}.")
    store = open_store(args.store)
    a = store.attrs
    complete = store.complete_movies()
    print(f"store            {store.path}")
    print(f"format           {a['format']} v{a['format_version']}, written by wavesim {a.get('wavesim_version')}")
    print(f"created          {a.get('created_utc')} with backend {a.get('created_with_backend')}")
    print(f"command line     {' '.join(a.get('command_line', []))}")
    print(f"model            {a['model']}")
    for name, v in a["parameters"].items():
        value = f"{v['value']:<10g}" if isinstance(v["value"], (int, float)) else f"{v['value']!s:<10}"
        print(f"  {name:<22} {value} {v['unit']}")
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
    records = store.records() if complete else {}
    if "length_frames" in records:
        length = records["length_frames"][complete]
        print(f"wave length      {length.mean():.1f} +- {length.std():.1f} frames (mean +- sd of {len(complete)} "
              f"single-wave movies; {int((length >= store.n_frames).sum())} outlast the movie)")
    if "direction_deg" in records:
        d = np.radians(records["direction_deg"][complete])
        d = d[np.isfinite(d)]
        if d.size:
            print(f"intended dirs    B_wave {np.abs(np.exp(1j * d).mean()):.3f} over {d.size} waves "
                  f"(the records' rounded directions)")
    tables = store.wave_tables_attrs
    if tables is not None:
        counts = store.wave_counts()
        analysed = counts >= 0
        speed = tables.get("analysis", {}).get("speed_method", {}).get("value")
        print(f"wave tables      {int(counts[analysed].sum())} waves in {int(analysed.sum())}/{store.n_movies} movies "
              f"(written {tables.get('written_utc')} by wavesim {tables.get('wavesim_version')}, speed {speed}; "
              f"WaveStore.wave_table(movie))")
    else:
        print(f"wave tables      none (wavesim stats {store.path} --write adds them)")
    if args.json:
        print(json.dumps(a, indent=2))
    return 0
