"""Wave models: one module per model, and the registry that every layer dispatches through.

>>> from wavesim.models import get_model, list_models
>>> "amacrine" in list_models()
True
>>> get_model("amacrine").preset("turtle").P_s
23.0
"""

from __future__ import annotations

from ..errors import ParameterError
from . import amacrine, directional, lansdell2014, retinalchaos
from .amacrine import AmacrineParams
from .directional import DirectionalParams
from .lansdell2014 import Lansdell2014Params
from .retinalchaos import RetinalChaosParams
from .base import WaveModel
from .files import load_params_file, write_params_file

_REGISTRY: dict[str, WaveModel] = {}


def register_model(model: WaveModel) -> WaveModel:
    """Make ``model`` known to every layer: ``get_model``, ``model_of``, the command line, stores and fits.

    A model of another package registers itself when that package is
    imported (``docs/adding_a_model.md``).

    Raises
    ------
    ParameterError
        If ``model`` is not a :class:`WaveModel`, or its name or parameter class is taken.
    """
    if not isinstance(model, WaveModel):
        raise ParameterError(f"register_model takes a WaveModel, got {type(model).__name__}.")
    for other in _REGISTRY.values():
        if other.name == model.name or other.params_cls is model.params_cls:
            raise ParameterError(f"model {model.name!r} cannot be registered: model {other.name!r} already has "
                                 f"{'its name' if other.name == model.name else 'its parameter class'}.")
    _REGISTRY[model.name] = model
    return model


for _model in (amacrine.MODEL, directional.MODEL, lansdell2014.MODEL, retinalchaos.MODEL):
    register_model(_model)

#: The model used where none is named.
DEFAULT_MODEL = amacrine.MODEL.name


def list_models() -> list[str]:
    """Names of the registered models."""
    return sorted(_REGISTRY)


def get_model(name: str | None = None) -> WaveModel:
    """The registered model of this name (default: :data:`DEFAULT_MODEL`)."""
    name = DEFAULT_MODEL if name is None else name
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        raise ParameterError(f"Unknown model {name!r}; choose one of {list_models()}.") from None


def model_of(params) -> WaveModel:
    """The model whose parameter class ``params`` is an instance of."""
    for model in _REGISTRY.values():
        if isinstance(params, model.params_cls):
            return model
    known = ", ".join(m.params_cls.__name__ for m in _REGISTRY.values())
    raise ParameterError(f"params must be the parameters of a registered model ({known}), got {type(params).__name__}.")


def preset(name: str | None = None, model: str | None = None):
    """The parameters of a named preset of a model (default: the default model's default preset)."""
    return get_model(model).preset(name)


#: The default model's presets and default preset name.
PRESETS = amacrine.PRESETS
DEFAULT_PRESET = amacrine.DEFAULT_PRESET

__all__ = [
    "AmacrineParams",
    "DirectionalParams",
    "Lansdell2014Params",
    "RetinalChaosParams",
    "DEFAULT_MODEL",
    "DEFAULT_PRESET",
    "PRESETS",
    "WaveModel",
    "get_model",
    "list_models",
    "load_params_file",
    "model_of",
    "preset",
    "register_model",
    "write_params_file",
]
