"""Reading and writing wave data: wavesim stores, real recordings, rendered movies.

:mod:`~wavesim.io.store` creates, opens, reads and writes zarr stores of
simulated movies; :mod:`~wavesim.io.recordings` loads MEA recordings and
imaging movies and writes MEA recordings (:mod:`~wavesim.io.nwb` as NWB);
:mod:`~wavesim.io.wave_tables` keeps a store's per-movie wave tables;
:mod:`~wavesim.io.render` writes a movie as a GIF or MP4;
:mod:`~wavesim.io.verify` checks every chunk of a store;
:mod:`~wavesim.io.dataset` opens a store as a labelled xarray Dataset and
:mod:`~wavesim.io.napari` is napari's reader of stores.
"""

from .dataset import open_dataset
from .recordings import MEARecording, Movie, load_movie, load_recording, median_pitch_um, write_recording
from .render import render_movie, render_store_movie
from .store import (
    FORMAT_NAME,
    FORMAT_VERSION,
    READABLE_VERSIONS,
    ChunkDamage,
    DatasetSpec,
    WaveStore,
    chunk_frames_for,
    create_store,
    is_wavesim_store,
    open_store,
)
from .verify import VerifyReport, verify_store

__all__ = [
    "ChunkDamage",
    "DatasetSpec",
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "MEARecording",
    "READABLE_VERSIONS",
    "Movie",
    "VerifyReport",
    "WaveStore",
    "chunk_frames_for",
    "create_store",
    "is_wavesim_store",
    "load_movie",
    "load_recording",
    "median_pitch_um",
    "open_dataset",
    "open_store",
    "render_movie",
    "render_store_movie",
    "verify_store",
    "write_recording",
]
