"""``wavesim presets``: each model's parameter presets with units and allowed ranges."""

from __future__ import annotations


def register(subparsers) -> None:
    """Add the ``presets`` command to ``subparsers``."""
    p = subparsers.add_parser("presets", help="list each model's parameter presets with units and ranges")
    p.add_argument("--model", default=None, help="only this model")
    p.set_defaults(func=run)


def run(args) -> int:
    """Print one table per model (or only ``args.model``): parameters by preset, units, ranges."""
    from ..models import get_model, list_models

    for name in [args.model] if args.model else list_models():
        model = get_model(name)
        specs = model.params_cls.field_specs()
        names = list(model.presets)
        print(f"model {model.name}: {model.summary} (default preset {model.default_preset})")
        width = max(11, *(len(n) for n in names))
        print(f"{'parameter':<23} {'unit':<5} " + " ".join(f"{n:>{width}}" for n in names) + "   allowed")
        for field_name, meta in specs.items():
            values = " ".join(f"{_shown(getattr(model.presets[n], field_name)):>{width}}" for n in names)
            allowed = ("one of " + ", ".join(meta["choices"]) if "choices" in meta
                       else f"[{meta['low']:g}, {meta['high']:g}]" + (" or none" if meta.get("optional") else ""))
            print(f"{field_name:<23} {meta['unit']:<5} {values}   {allowed}  {meta['doc']}")
        print()
    return 0


def _shown(value) -> str:
    """A preset's value as the table shows it: numbers with %g, names as they are, None as "none"."""
    if value is None:
        return "none"
    return f"{value:g}" if isinstance(value, (int, float)) else str(value)
