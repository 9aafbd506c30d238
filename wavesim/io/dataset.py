"""A wavesim store as a labelled :class:`xarray.Dataset` (xarray is an optional extra)."""

from __future__ import annotations

import json

from ..errors import MissingDependencyError
from .store import _variable_attrs, coordinates, open_store

#: The store's arrays that say what is written, not what was simulated: coordinates of the Dataset.
BOOKKEEPING = ("complete", "written_chunks")

__all__ = ["open_dataset"]


def open_dataset(path, *, complete_only: bool = True, check: bool = True):
    """Open a wavesim store as a labelled, lazily read :class:`xarray.Dataset`.

    One data variable, ``movies`` (movie, time, y, x), with the coordinates
    ``movie``, ``time`` (s, since the end of the warm-up), ``y`` and ``x``
    (um, pixel centres; y points down, as rows do in an image: ``positive``
    is ``"down"``), with CF-style ``units``, ``long_name`` and ``axis``
    attributes. The store's bookkeeping, ``complete`` (movie) and
    ``written_chunks`` (movie, time_chunk), comes as coordinates, not data.
    The provenance is in the attributes, its tables (parameters with units,
    retina, readout, timing) and lists as JSON text, so that
    ``ds.to_netcdf(path)`` writes it (netCDF attributes are numbers and
    text) and ``json.loads(ds.attrs["parameters"])`` reads it back. For a
    store written before the coordinate arrays existed, the same
    coordinates are derived from its provenance.

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
    # The attributes of this wavesim, also on stores written before them.
    for name, (_, _, attrs) in coordinates(store.spec).items():
        ds[name].attrs.update(attrs)
    for name, attrs in _variable_attrs(store.spec).items():
        if name in ds:
            ds[name].attrs.update(attrs)
    ds = ds.set_coords([name for name in BOOKKEEPING if name in ds.data_vars])
    ds.attrs = {name: _netcdf_attribute(value) for name, value in ds.attrs.items()}
    if complete_only:
        ds = ds.isel(movie=complete)
    return ds


def _netcdf_attribute(value):
    """A provenance value as a netCDF attribute: numbers, text and lists of numbers as they are, the rest as JSON."""
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return value
    if isinstance(value, list) and value and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                                 for v in value):
        return value
    return json.dumps(value)
