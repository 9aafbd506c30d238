"""Parameter files (TOML): a model, an optional preset and a ``[parameters]`` table.

Example::

    model = "amacrine"
    preset = "mouse"
    [parameters]
    P_s = 28.0
    H2 = 0.8

``model`` defaults to the default model and ``preset`` to the model's
default preset; the table overrides the preset's values.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

from ..errors import ParameterError


def load_params_file(path, default_preset: str | None = None, default_model: str | None = None):
    """The parameter set a TOML file describes (see the module docstring)."""
    from . import get_model

    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise ParameterError(f"parameter file {path} does not exist.") from None
    except IsADirectoryError:
        raise ParameterError(f"parameter file {path} is a folder, not a TOML file.") from None
    except (UnicodeDecodeError, OSError) as exc:
        raise ParameterError(f"parameter file {path} cannot be read as text: {exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ParameterError(f"parameter file {path} is not valid TOML: {exc}") from None
    unknown = sorted(set(data) - {"preset", "parameters", "model"})
    if unknown:
        raise ParameterError(
            f"parameter file {path}: unknown top-level key(s) {unknown}; expected 'model', "
            f"'preset' and a [parameters] table."
        )
    try:
        model = get_model(data.get("model", default_model))
        base = model.preset(data.get("preset", default_preset))
    except ParameterError as exc:
        raise ParameterError(f"parameter file {path}: {exc}") from None
    table = data.get("parameters", {})
    if not isinstance(table, dict):
        raise ParameterError(f"parameter file {path}: 'parameters' must be a table.")
    try:
        return model.params_cls.from_dict(table, base=base)
    except ParameterError as exc:
        raise ParameterError(f"parameter file {path}: {exc}") from None


def write_params_file(path, params, base_preset: str, comment: str = "") -> None:
    """Write ``params`` as a file :func:`load_params_file` reads back (atomically: no half-written file)."""
    from . import model_of

    model = model_of(params)
    specs = model.params_cls.field_specs()
    lines = [f"# {line}" for line in comment.splitlines()]
    lines += [f'model = "{model.name}"', f'preset = "{base_preset}"', "", "[parameters]"]
    for name, value in params.to_dict().items():
        if value is None:
            text = '"none"'  # TOML has no null; an optional field reads "none" back as None
        elif isinstance(value, str):
            text = f'"{value}"'
        elif specs[name].get("integer"):
            text = str(int(value))
        else:
            text = repr(float(value))
        unit = specs[name]["unit"]
        lines.append(f"{name} = {text}  # {unit}" if unit else f"{name} = {text}")
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text("\n".join(lines) + "\n")
    os.replace(tmp, path)
