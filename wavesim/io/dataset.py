"""A wavesim store as a labelled :class:`xarray.Dataset` (xarray is an optional extra)."""

from __future__ import annotations

from ..errors import MissingDependencyError
from .store import _variable_attrs, coordinates, open_store

__all__ = ["open_dataset"]


def open_dataset(path, *, complete_only: bool = True, check: bool = True):
    """Open a wavesim store as a labelled, lazily read :class:`xarray.Dataset`.

    The Dataset is what ``xarray.open_zarr(path)`` gives for a store written
    with coordinates: ``movies`` (movie, time, y, x) with the coordinates
    ``movie``, ``time`` (s, since the end of the warm-up), ``y`` and ``x``
    (um, pixel centres), the bookkeeping arrays ``complete`` and
    ``written_chunks``, and the provenance as attributes. For a store
    written before the coordinate arrays existed, the same coordinates are
    derived from its provenance.

    Parameters
    ----------
    path : str or Path
        The store's folder.
    complete_only : bool
        Keep only the completely written movies (the ``movie`` coordinate
        keeps their indices); False keeps all, unwritten frames read as 0.
    check : bool
        First check that every chunk of the complete movies is listed in
        the store's manifest and stored as a file (a listing; nothing is
        decompressed). Checksums are checked by zarr as chunks are read.

    Returns
    -------
    xarray.Dataset

    Raises
    ------
    MissingDependencyError
        If xarray is not installed.
    StoreNotFoundError, StoreError
        As :func:`~wavesim.io.store.open_store` (not a wavesim store, an
        unreadable format version).
    StoreCorruptError
        With ``check``, if a complete movie's chunk is missing, naming the
        movie and frames (``wavesim verify`` lists them all).

    Examples
    --------
    >>> ds = wavesim.open_dataset("waves.zarr")                       # doctest: +SKIP
    >>> ds.movies.sel(movie=3, time=slice(10, 20)).mean("time")     # doctest: +SKIP
    """
    try:
        import xarray as xr
    except ImportError:
        raise MissingDependencyError(
            "wavesim.open_dataset needs xarray: pip install 'wavesim[xarray]' (or pip install xarray)."
        ) from None
    store = open_store(path)
    complete = store.complete_movies()
    if check:
        for movie in complete:
            damage = store.chunk_damage(movie, decode=False)
            if damage:
                raise store.corrupt_error(damage)
    # Stores made before the coordinates have no consolidated metadata: asking for it would warn.
    ds = xr.open_zarr(store.path, consolidated=store.consolidated, zarr_format=3)
    if "time" not in ds.coords:
        ds = ds.assign_coords({name: (dims, values, attrs)
                               for name, (dims, values, attrs) in coordinates(store.spec).items()})
        for name, attrs in _variable_attrs(store.spec).items():
            if name in ds:
                ds[name].attrs.update(attrs)
    if complete_only:
        ds = ds.isel(movie=complete)
    return ds
