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
        print(f"{'parameter':<14} {'unit':<5} " + " ".join(f"{n:>8}" for n in names) + "   allowed range")
        for field_name, meta in specs.items():
            values = " ".join(f"{getattr(model.presets[n], field_name):>8g}" for n in names)
            print(f"{field_name:<14} {meta['unit']:<5} {values}   [{meta['low']:g}, {meta['high']:g}]  {meta['doc']}")
        print()
    return 0
