"""Reading and writing wave data: wavesim stores, real recordings, rendered movies.

:mod:`~wavesim.io.store` creates, opens, reads and writes zarr stores of
simulated movies; :mod:`~wavesim.io.recordings` loads MEA recordings and
imaging movies; :mod:`~wavesim.io.render` writes a movie as a GIF or MP4.
"""

from .recordings import MEARecording, Movie, load_movie, load_recording, median_pitch_um
from .render import render_movie, render_store_movie
from .store import (
    FORMAT_NAME,
    FORMAT_VERSION,
    DatasetSpec,
    WaveStore,
    chunk_frames_for,
    create_store,
    is_wavesim_store,
    open_store,
)

__all__ = [
    "DatasetSpec",
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "MEARecording",
    "Movie",
    "WaveStore",
    "chunk_frames_for",
    "create_store",
    "is_wavesim_store",
    "load_movie",
    "load_recording",
    "median_pitch_um",
    "open_store",
    "render_movie",
    "render_store_movie",
]
