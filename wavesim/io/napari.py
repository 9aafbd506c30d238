"""napari's reader of wavesim stores: ``napari waves.zarr`` shows the movies with their scale.

wavesim registers this reader with napari as an npe2 plugin (``wavesim/napari.yaml``,
entry point ``napari.manifest``). napari's builtin zarr reader cannot show a
store: for a group it opens the group's arrays as one image (a list it takes
for a resolution pyramid), so it finds the 1-D ``complete`` flag first and
shows nothing; it shows the bare movies, without scale, when given the array
itself (``napari waves.zarr/movies``). Where both readers offer to open a
store napari asks which to use; ``napari --plugin wavesim waves.zarr`` skips
the question.

The layer holds the complete movies (movie, time, y, x), read lazily through
:class:`~wavesim.io.store.WaveStore`, so a missing or damaged chunk raises
:class:`~wavesim.errors.StoreCorruptError` instead of showing as a blank
frame. Its scale is 1 movie, the frame period in s and the pixel size in um,
and its translation puts pixel centres where the store's ``y`` and ``x``
coordinates say.
"""

from __future__ import annotations

import numpy as np

from ..errors import StoreError
from .store import WaveStore, is_wavesim_store, open_store

__all__ = ["CheckedMovies", "get_reader", "read_store"]


def get_reader(path):
    """npe2 reader hook: :func:`read_store` if ``path`` is one wavesim store, else None (napari asks other readers)."""
    if isinstance(path, (list, tuple)):
        if len(path) != 1:
            return None
        path = path[0]
    return read_store if is_wavesim_store(path) else None


def read_store(path) -> list[tuple]:
    """napari layer data of a store: one image layer of its complete movies.

    Parameters
    ----------
    path : str or Path, or a list holding one
        A wavesim store.

    Returns
    -------
    list of (data, metadata, "image")
        ``data`` is a :class:`CheckedMovies`, a lazy (movie, time, y, x)
        uint8 array of the complete movies; ``metadata`` holds the layer's name, scale,
        translation, units, axis labels, contrast limits and, under
        ``metadata["wavesim"]``, the store's provenance and
        ``metadata["movies"]``, the store's index of each movie shown.

    Raises
    ------
    StoreError
        If the store has no complete movie.
    """
    if isinstance(path, (list, tuple)):
        (path,) = path
    store = open_store(path)
    movies = store.complete_movies()
    if not movies:
        raise StoreError(f"{store.path} has no completely written movie to show.")
    data = CheckedMovies(store, movies)
    upp, period = store.um_per_pixel, store.frame_period_s
    meta = {
        "name": store.path.name,
        "scale": (1.0, period, upp, upp),
        "translate": (0.0, 0.0, upp / 2, upp / 2),
        "units": ("dimensionless", "s", "um", "um"),
        "axis_labels": ("movie", "time", "y", "x"),
        "contrast_limits": (0, 1) if store.readout == "binary" else (0, 255),
        "colormap": "gray",
        "metadata": {"wavesim": store.attrs, "movies": movies},
    }
    return [(data, meta, "image")]


class CheckedMovies:
    """Chosen complete movies of a store as a lazy (movie, time, y, x) uint8 array whose reads check their chunks.

    Indexing (integers and slices per axis, as napari slices a layer) reads
    only the chunks that hold the frames asked for, through
    :meth:`~wavesim.io.store.WaveStore.read_frames`.
    """

    def __init__(self, store: WaveStore, movies: list[int]):
        self.store = store
        self.movies = np.asarray(movies, dtype=np.int64)
        self.shape = (len(movies), store.n_frames, *store.frame_shape)
        self.dtype = np.dtype(np.uint8)
        self.ndim = 4

    def __getitem__(self, key) -> np.ndarray:
        key = key if isinstance(key, tuple) else (key,)
        key = key + (slice(None),) * (self.ndim - len(key))
        movies = np.atleast_1d(self.movies[key[0]])
        frames = np.atleast_1d(np.arange(self.shape[1])[key[1]])
        unique, inverse = np.unique(frames, return_inverse=True)
        out = np.empty((movies.size, frames.size, *self.shape[2:]), dtype=self.dtype)
        for i, movie in enumerate(movies):
            out[i] = self.store.read_frames(int(movie), unique)[inverse]
        out = out[:, :, key[2], key[3]]
        dropped = tuple(axis for axis in (0, 1) if np.ndim(key[axis]) == 0 and not isinstance(key[axis], slice))
        return out.squeeze(axis=dropped) if dropped else out
