"""Helpers the examples share: a store of mouse-preset waves, and mean +- sd as text."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import wavesim as ws
from wavesim.generate import generate_store
from wavesim.io.store import DatasetSpec


def make_store(path: Path, movies: int, duration_s: float, seed: int) -> Path:
    """A store of ``movies`` mouse-preset movies of ``duration_s`` on a 3.2 mm square (made once)."""
    run = ws.RunSpec(retina=ws.Retina(width_um=3200, height_um=3200, shape="rectangle"),
                     readout=ws.Readout(um_per_pixel=50, frame_period_s=0.5),
                     timing=ws.Timing(duration_s=duration_s, warmup_s=900))
    spec = DatasetSpec(params=ws.preset("mouse"), run=run, seed=seed, n_movies=movies)
    if not path.exists():
        generate_store(path, spec)
    return path


def mean_sd(values, digits=1) -> str:
    """``mean +- sd`` (ddof 1) of ``values``."""
    values = np.asarray(values, dtype=float)
    return f"{values.mean():.{digits}f} +- {values.std(ddof=1) if values.size > 1 else 0.0:.{digits}f}"
