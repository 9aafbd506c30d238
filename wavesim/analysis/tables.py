"""Per-movie wave tables: the waves of each movie of a store, written into the store (``wavesim stats --write``).

The waves are those :func:`~wavesim.analysis.summarize` detects (through
:func:`~wavesim.analysis.detect_movie_waves`); the table's columns and
layout are :mod:`wavesim.io.wave_tables`'.
"""

from __future__ import annotations

import datetime
import sys
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from wavesim.analysis.params import AnalysisParams
from wavesim.analysis.report import store_summaries
from wavesim.analysis.summary import Summary

__all__ = ["movie_wave_table", "wave_tables_provenance", "write_store_wave_tables"]


def movie_wave_table(summary: Summary, um_per_pixel: float) -> dict[str, np.ndarray]:
    """The wave table of one movie's summary, in the store's coordinates.

    Parameters
    ----------
    summary : Summary
        Of one movie (``kind == "movie"``).
    um_per_pixel : float (um)
        The movie's pixel size.

    Returns
    -------
    dict of str to ndarray
        The columns of :data:`wavesim.io.wave_tables.WAVE_COLUMNS`; positions
        are moved by half a pixel from the analysis' (pixel (0, 0) at the
        origin) to the store's pixel centres.
    """
    half_pixel_um = um_per_pixel / 2
    return {
        "onset_s": summary.wave_onset_s,
        "duration_s": summary.wave_duration_s,
        "size_fraction": summary.wave_size_fraction,
        "area_um2": summary.wave_area_um2,
        "centroid_x_um": summary.wave_centroid_um[:, 0] + half_pixel_um,
        "centroid_y_um": summary.wave_centroid_um[:, 1] + half_pixel_um,
        "initiation_x_um": summary.wave_initiation_um[:, 0] + half_pixel_um,
        "initiation_y_um": summary.wave_initiation_um[:, 1] + half_pixel_um,
        "direction_rad": summary.wave_direction_rad,
        "speed_um_per_s": summary.wave_speed_um_per_s,
    }


def write_store_wave_tables(path, params: AnalysisParams | None = None, *, progress: bool | None = None,
                            command_line: Sequence[str] | None = None) -> dict[int, Summary]:
    """Detect the waves of every complete movie of a store and write their tables into it.

    Previous tables are replaced whole (see :meth:`WaveStore.write_wave_tables`);
    the movies, their checksums and ``wavesim verify`` are unaffected. Read
    a table back with :meth:`WaveStore.wave_table`.

    Parameters
    ----------
    path : str or Path
        A wavesim store of the current format version.
    params : AnalysisParams, optional
        Stored with the tables (attribute ``analysis``).
    progress : bool or None
        Show a progress bar (None: only on a terminal).
    command_line : sequence of str, optional
        Recorded with the tables; default ``sys.argv``.

    Returns
    -------
    dict of int to Summary
        Per complete movie, its summary (the tables' source).

    Raises
    ------
    StoreNotFoundError, StoreError
        If ``path`` is not a writable wavesim store, or holds no complete movie.
    """
    from wavesim.io.store import WaveStore

    store = WaveStore(Path(path), mode="r+")
    summaries, params = store_summaries(store, params, progress=progress)
    store.write_wave_tables({m: movie_wave_table(s, store.um_per_pixel) for m, s in summaries.items()},
                            wave_tables_provenance(params, command_line))
    return summaries


def wave_tables_provenance(params: AnalysisParams, command_line: Sequence[str] | None = None) -> dict[str, Any]:
    """The attributes written with wave tables: the analysis parameters with units, version, command line, time."""
    from .._version import __version__

    return {
        "description": "waves detected in each movie by wavesim stats --write (wavesim.analysis.summarize)",
        "analysis": params.to_dict_with_units(),
        "positions": "pixel centres in um, as the store's x and y coordinates; +y down",
        "wavesim_version": __version__,
        "command_line": list(command_line) if command_line is not None else list(sys.argv),
        "written_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
