"""Typed parameter fields with units and allowed ranges.

A parameter class declares each field once with :func:`field`; the
validation, the error messages, ``to_dict``/``from_dict`` and the unit table
that goes into a store's provenance all derive from that declaration.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from typing import Any, Mapping

from .errors import ParameterError
from .validate import is_bool


def field(default: float | None, *, unit: str, low: float, high: float, doc: str, integer: bool = False,
          optional: bool = False):
    """Declare a numeric parameter with its unit and closed range [low, high].

    ``optional=True`` also admits None (meaning e.g. "take it from the data").
    """
    return dataclasses.field(
        default=default,
        metadata={"unit": unit, "low": low, "high": high, "doc": doc, "integer": integer, "optional": optional},
    )


def field_like(owner: type, name: str, default: float | None, **overrides):
    """A field with the unit, range and description of ``owner``'s field ``name``.

    Settings that pass a value on to another parameter class declare it
    this way, so that both agree on what is allowed.
    """
    meta = {k: v for k, v in owner.field_specs()[name].items() if k in ("unit", "low", "high", "doc", "integer")}
    meta.update(overrides)
    return field(default, **meta)


def choice_field(default: str, *, choices: tuple[str, ...], doc: str):
    """Declare a parameter that takes one of a few named values."""
    return dataclasses.field(default=default, metadata={"unit": "", "choices": choices, "doc": doc})


def check_value(owner: str, name: str, value: Any, meta: Mapping[str, Any]) -> float:
    """Return ``value`` as a float (or int) after checking type and range.

    Raises
    ------
    ParameterError
        Naming the parameter, its value, its unit and the allowed range.
    """
    where = f"{owner}.{name}"
    unit = "" if meta["unit"] in ("", "1") else f" {meta['unit']}"  # dimensionless: no unit to print
    if meta.get("optional") and (value is None or (isinstance(value, str) and value.lower() == "none")):
        return None
    if "choices" in meta:
        if value not in meta["choices"]:
            raise ParameterError(f"{where} must be one of {meta['choices']}, got {value!r}.")
        return value
    if is_bool(value):  # True is not 1 (wavesim.validate)
        raise ParameterError(f"{where} must be a number{' in' + unit if unit else ''}, got {value!r} (bool).")
    if not isinstance(value, numbers.Real):
        try:  # text from a parameter file or the command line
            value = float(value)
        except (TypeError, ValueError):
            raise ParameterError(
                f"{where} must be a number{' in' + unit if unit else ''}, got {value!r} "
                f"({type(value).__name__})."
            ) from None
    if not math.isfinite(value):
        raise ParameterError(f"{where} must be finite, got {value!r}.")
    if meta.get("integer"):
        if float(value) != int(value):
            raise ParameterError(f"{where} must be a whole number, got {value!r}.")
        value = int(value)
    else:
        value = float(value)
    low, high = meta["low"], meta["high"]
    if not low <= value <= high:
        raise ParameterError(f"{where} = {value!r}{unit} is outside the allowed range [{low}, {high}]{unit}.")
    return value


class ValidatedParams:
    """Mixin for frozen dataclasses whose fields were declared with :func:`field`."""

    def __post_init__(self) -> None:
        owner = type(self).__name__
        for f in dataclasses.fields(self):
            if "unit" in f.metadata:
                object.__setattr__(self, f.name, check_value(owner, f.name, getattr(self, f.name), f.metadata))
        self._check_relations()

    def _check_relations(self) -> None:
        """Checks that involve several fields; subclasses override."""

    @classmethod
    def field_specs(cls) -> dict[str, dict[str, Any]]:
        """Unit, range and description of every field, keyed by name."""
        return {f.name: dict(f.metadata) for f in dataclasses.fields(cls) if "unit" in f.metadata}

    def to_dict(self) -> dict[str, float]:
        """Plain ``{name: value}`` mapping (SI-style floats, units in the field specs)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    def to_dict_with_units(self) -> dict[str, dict[str, Any]]:
        """``{name: {"value": v, "unit": u}}``, the form written into store provenance."""
        specs = self.field_specs()
        return {k: {"value": v, "unit": specs[k]["unit"]} for k, v in self.to_dict().items()}

    @classmethod
    def from_dict(cls, values: Mapping[str, Any], base=None):
        """Build from a mapping, rejecting unknown names; missing ones come from ``base``.

        Values may be plain numbers or ``{"value": v, "unit": u}`` tables (the
        store's provenance form); a unit that disagrees with the field's is an error.
        """
        specs = cls.field_specs()
        unknown = sorted(set(values) - set(specs))
        if unknown:
            raise ParameterError(
                f"Unknown {cls.__name__} parameter(s) {unknown}; known parameters are "
                f"{sorted(specs)}."
            )
        plain = {}
        for name, value in values.items():
            if isinstance(value, Mapping):
                unit = value.get("unit", specs[name]["unit"])
                if unit != specs[name]["unit"]:
                    raise ParameterError(
                        f"{cls.__name__}.{name} is given in {unit!r} but must be in "
                        f"{specs[name]['unit']!r}."
                    )
                value = value.get("value")
            plain[name] = value
        if base is not None:
            return dataclasses.replace(base, **plain)
        return cls(**plain)

    @classmethod
    def check_ranges(cls, ranges: Mapping[str, Any]) -> dict[str, tuple[float, float]]:
        """Validate ``{name: (low, high)}`` ranges of numeric fields against their allowed ranges.

        Raises
        ------
        ParameterError
            For an unknown or non-numeric name, a malformed pair, low > high,
            or bounds outside the field's allowed range.
        """
        specs = cls.field_specs()
        checked = {}
        for name, pair in ranges.items():
            if name not in specs or "choices" in specs[name]:
                numeric = sorted(k for k, m in specs.items() if "choices" not in m)
                raise ParameterError(f"Unknown {cls.__name__} parameter {name!r} in ranges; known ones are {numeric}.")
            try:
                low, high = pair
            except (TypeError, ValueError):
                raise ParameterError(f"the range of {cls.__name__}.{name} must be a (low, high) pair, got {pair!r}.") from None
            low = check_value(cls.__name__, name, low, specs[name])
            high = check_value(cls.__name__, name, high, specs[name])
            if low > high:
                raise ParameterError(f"the range of {cls.__name__}.{name} has low {low} > high {high}.")
            checked[name] = (low, high)
        return checked
