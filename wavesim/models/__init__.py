"""Wave models: each module holds one model's parameters, presets and quantisation."""

from .amacrine import DEFAULT_PRESET, PRESETS, AmacrineParams, preset

__all__ = ["AmacrineParams", "PRESETS", "DEFAULT_PRESET", "preset"]
