"""Per-movie wave tables inside a store: the waves ``wavesim stats --write`` detected in each movie.

Layout, a group beside the movies::

    <store>/waves/            attributes: the analysis parameters, when and by what it was written
        n_waves   (movie,) int64   waves of each movie; -1 where the movie was not analysed
        movie_index (wave,) int64  the movie of each wave
        onset_s, duration_s, size_fraction, area_um2, centroid_x_um, centroid_y_um,
        initiation_x_um, initiation_y_um, direction_rad, speed_um_per_s      (wave,) float64

Rows are sorted by movie, then onset, so that the rows of movie ``m`` are the
``n_waves[m]`` rows after those of the movies before it. Each array carries
CF-style ``units`` and ``long_name`` attributes and a CRC32C checksum per
chunk, like the rest of the store. Positions are in the store's own
coordinates: pixel centres, as the ``x`` and ``y`` arrays (pixel ``(i, j)``
centred at ``((j + 0.5), (i + 0.5)) x um_per_pixel``), +y down.

The tables are written whole into a folder beside the store and renamed into
place, replacing the previous ones, so that a reader finds either the old
tables or the new ones, never a half-written table; the movies are never
touched. The group is read from its own metadata, not the root's
consolidated copy, which is refreshed after the swap.
"""

from __future__ import annotations

import os
import shutil
import warnings
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from ..errors import StoreCorruptError, StoreError

__all__ = ["WAVE_COLUMNS", "check_wave_tables", "read_wave_counts", "read_wave_table", "wave_tables_attrs",
           "write_wave_tables"]

GROUP = "waves"
#: Columns of a wave table: ``{name: (units, long_name)}``; all float64.
WAVE_COLUMNS: dict[str, tuple[str, str]] = {
    "onset_s": ("s", "first onset of the wave at any pixel, on the store's time coordinate"),
    "duration_s": ("s", "from the first onset to the end of the last recruited pixel's activity"),
    "size_fraction": ("1", "pixels the wave recruits, as a fraction of the frame's pixels"),
    "area_um2": ("um^2", "pixels the wave recruits times the pixel area"),
    "centroid_x_um": ("um", "x of the mean position of the recruited pixels (pixel centres)"),
    "centroid_y_um": ("um", "y of the mean position of the recruited pixels (pixel centres, +y down)"),
    "initiation_x_um": ("um", "x of the initiation point: mean position of the pixels whose onset lies in the "
                              "first initiation_fraction of the wave's onset span"),
    "initiation_y_um": ("um", "y of the initiation point (+y down)"),
    "direction_rad": ("rad", "direction of propagation from a plane fit to the onsets, counter-clockwise from +x "
                             "with +y down; nan where all onsets are simultaneous"),
    "speed_um_per_s": ("um/s", "wave speed by the analysis' speed_method; nan where undefined"),
}
#: Rows per chunk of a column: 512 KiB of float64.
_CHUNK_ROWS = 1 << 16


def _open_group(path: Path):
    import zarr

    # The group's own metadata, never the root's consolidated copy, which lags behind a swap.
    return zarr.open_group(str(path / GROUP), mode="r", zarr_format=3, use_consolidated=False)


def wave_tables_attrs(path) -> dict[str, Any] | None:
    """The attributes of the store's wave tables (analysis parameters, provenance), or None if it has none."""
    path = Path(path)
    if not (path / GROUP / "zarr.json").is_file():
        return None
    return dict(_open_group(path).attrs)


def _corrupt(path: Path, what: str, exc: Exception) -> StoreCorruptError:
    return StoreCorruptError(
        f"{path}: the wave tables ({what}) are damaged: {str(exc).rstrip('.')}. Rewrite them with "
        f"'wavesim stats {path} --write'."
    )


def _read_column(path: Path, group, name: str, rows: slice) -> np.ndarray:
    """Rows ``rows`` of one array of the tables, after checking that the chunks holding them are stored."""
    try:
        array = group[name]
        first, stop, _ = rows.indices(array.shape[0])
        size = array.chunks[0]
        # every chunk is written, so a missing file is damage, not rows of fill values
        for k in range(first // size, -(-stop // size)):
            key = array.metadata.encode_chunk_key((k,))
            if not (path / GROUP / name / key).is_file():
                raise FileNotFoundError(f"chunk {GROUP}/{name}/{key} is missing")
        return np.asarray(array[first:stop])
    except Exception as exc:  # the checksum codec raises ValueError; a lost array KeyError
        raise _corrupt(path, f"array {name!r}", exc) from None


def check_wave_tables(path, n_movies: int) -> str | None:
    """What is wrong with the store's wave tables, or None if they are sound or absent.

    Reads every row of every array: each chunk must be stored and pass its
    checksum, and the rows must add up to the movies' counts.
    """
    path = Path(path)
    if wave_tables_attrs(path) is None:
        return None
    try:
        counts = read_wave_counts(path, n_movies)
        group = _open_group(path)
        movie_index = _read_column(path, group, "movie_index", slice(None))
        lengths = {_read_column(path, group, name, slice(None)).size for name in WAVE_COLUMNS}
    except StoreCorruptError as exc:
        return str(exc)
    if lengths != {movie_index.size} or not np.array_equal(
            movie_index, np.repeat(np.arange(n_movies), counts.clip(min=0))):
        return (f"{path}: the wave tables' rows disagree with their counts per movie; rewrite them with "
                f"'wavesim stats {path} --write'.")
    return None


def read_wave_counts(path, n_movies: int) -> np.ndarray:
    """Waves in each movie's table, (n_movies,) int64; -1 where a movie has no table.

    Raises
    ------
    StoreError
        If the store has no wave tables.
    StoreCorruptError
        If the counts fail their checksum or list another number of movies.
    """
    path = Path(path)
    if wave_tables_attrs(path) is None:
        raise StoreError(f"{path} has no wave tables; write them with 'wavesim stats {path} --write'.")
    n_waves = _read_column(path, _open_group(path), "n_waves", slice(None))
    if n_waves.shape != (n_movies,):
        raise StoreCorruptError(f"{path}: the wave tables list {n_waves.size} movies, the store holds {n_movies}; "
                                f"rewrite them with 'wavesim stats {path} --write'.")
    return n_waves


def read_wave_table(path, movie: int, n_movies: int) -> dict[str, np.ndarray]:
    """The wave table of one movie: ``{column: (n_waves,) float64}`` in order of onset.

    Parameters
    ----------
    path : str or Path
        The store.
    movie : int
        A movie index in ``[0, n_movies)``, checked by the caller.
    n_movies : int
        Movies in the store.

    Raises
    ------
    StoreError
        If the store has no wave tables, or none for ``movie``.
    StoreCorruptError
        If a column fails its checksum or the table's rows disagree with ``n_waves``.
    """
    path = Path(path)
    n_waves = read_wave_counts(path, n_movies)
    group = _open_group(path)
    if n_waves[movie] < 0:
        raise StoreError(f"movie {movie} of {path} has no wave table: it was not complete when the tables were "
                         f"written; rewrite them with 'wavesim stats {path} --write'.")
    first = int(n_waves[:movie].clip(min=0).sum())
    rows = slice(first, first + int(n_waves[movie]))
    table = {name: _read_column(path, group, name, rows) for name in ("movie_index", *WAVE_COLUMNS)}
    if table["movie_index"].size != n_waves[movie] or np.any(table.pop("movie_index") != movie):
        raise StoreCorruptError(f"{path}: the wave table rows of movie {movie} belong to other movies; rewrite the "
                                f"tables with 'wavesim stats {path} --write'.")
    return table


def write_wave_tables(path, tables: Mapping[int, Mapping[str, np.ndarray]], n_movies: int,
                      attrs: Mapping[str, Any], *, consolidate: bool) -> None:
    """Replace the store's wave tables with ``tables``, atomically.

    Parameters
    ----------
    path : str or Path
        The store.
    tables : mapping of int to mapping of str to ndarray
        Per analysed movie, its table: every column of :data:`WAVE_COLUMNS`,
        one value per wave, in order of onset. Movies left out get
        ``n_waves = -1``.
    n_movies : int
        Movies in the store.
    attrs : mapping
        JSON-serialisable attributes of the tables (analysis parameters, provenance).
    consolidate : bool
        Refresh the root's consolidated metadata afterwards (for stores that have it).

    Raises
    ------
    StoreError
        If a table lacks a column, has unknown ones, or columns of different lengths.
    """
    import zarr

    path = Path(path)
    n_waves = np.full(n_movies, -1, dtype=np.int64)
    columns: dict[str, list[np.ndarray]] = {name: [] for name in ("movie_index", *WAVE_COLUMNS)}
    for movie in sorted(tables):
        table = {name: np.asarray(values, dtype=np.float64).ravel() for name, values in tables[movie].items()}
        if set(table) != set(WAVE_COLUMNS):
            raise StoreError(f"the wave table of movie {movie} must have the columns {list(WAVE_COLUMNS)}, got "
                             f"{sorted(table)}.")
        lengths = {values.size for values in table.values()}
        if len(lengths) != 1:
            raise StoreError(f"the wave table of movie {movie} has columns of different lengths {sorted(lengths)}.")
        n_waves[movie] = lengths.pop()
        columns["movie_index"].append(np.full(n_waves[movie], movie, dtype=np.int64))
        for name, values in table.items():
            columns[name].append(values)
    # Built beside the store, as create_store builds a store, so no reader lists a half-made group.
    tmp = path.parent / f".{path.name}.waves-writing-{os.getpid()}"
    old = path.parent / f".{path.name}.waves-replaced-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        group = zarr.open_group(str(tmp), mode="w-", zarr_format=3)
        group.attrs.update(dict(attrs))
        _add_array(group, "n_waves", n_waves, ("movie",), "1",
                   "waves detected in each movie; -1 where the movie was not analysed")
        # not "movie": xarray would take an array named like the dimension of n_waves for its coordinate
        _add_array(group, "movie_index",
                   np.concatenate(columns.pop("movie_index")) if tables else np.zeros(0, np.int64),
                   ("wave",), "1", "the movie of each wave")
        for name, (units, long_name) in WAVE_COLUMNS.items():
            values = np.concatenate(columns[name]) if tables else np.zeros(0)
            _add_array(group, name, values, ("wave",), units, long_name)
        target = path / GROUP
        if target.exists():
            os.rename(target, old)
        os.rename(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    shutil.rmtree(old, ignore_errors=True)
    if consolidate:
        # xarray and zarr readers of the root see the new group only through the consolidated metadata.
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Consolidated metadata is currently not part",
                                    category=UserWarning)
            zarr.consolidate_metadata(str(path), zarr_format=3)


def _add_array(group, name: str, values: np.ndarray, dims: tuple[str, ...], units: str, long_name: str) -> None:
    from zarr.codecs import Crc32cCodec

    array = group.create_array(
        name, shape=values.shape, chunks=(max(1, min(values.size, _CHUNK_ROWS)),), dtype=values.dtype,
        fill_value=-1 if values.dtype.kind == "i" else np.nan, compressors=Crc32cCodec(), dimension_names=dims,
        attributes={"units": units, "long_name": long_name},
        # a chunk of fill values (all speeds undefined) is stored too, so that a missing file means damage
        config={"write_empty_chunks": True},
    )
    if values.size:
        array[:] = values
