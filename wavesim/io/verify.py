"""Check every chunk of a wavesim store: the library behind ``wavesim verify``."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from .store import ChunkDamage, open_store
from .wave_tables import check_wave_tables

__all__ = ["VerifyReport", "verify_store"]


@dataclasses.dataclass(frozen=True)
class VerifyReport:
    """What :func:`verify_store` found.

    Attributes
    ----------
    path : Path
        The store.
    format_version : int
        Its store format version; version 1 has no checksums or manifest, so
        only chunks that fail to decompress are found there.
    n_movies : int
        Movies in the dataset.
    checked : tuple of int
        The complete movies, every chunk of which was checked.
    damage : tuple of ChunkDamage
        Every damaged chunk, by movie and frame.
    wave_tables_problem : str or None
        What is wrong with the wave tables (``wavesim stats --write``), or
        None where they are sound or absent.
    """

    path: Path
    format_version: int
    n_movies: int
    checked: tuple[int, ...]
    damage: tuple[ChunkDamage, ...]
    wave_tables_problem: str | None = None

    @property
    def ok(self) -> bool:
        """Whether no damage was found."""
        return not self.damage and self.wave_tables_problem is None

    @property
    def damaged_movies(self) -> list[int]:
        """The movies with at least one damaged chunk, ascending: those to regenerate."""
        return sorted({d.movie for d in self.damage})


def verify_store(path, movies=None) -> VerifyReport:
    """Check every chunk of every complete movie of the store at ``path``, and its wave tables.

    A chunk is damaged if it is not listed in the movie's manifest of written
    chunks, its file is missing, or it fails its checksum or decompression.
    Movies not yet complete are not checked (``generate --resume`` rewrites
    them anyway). Wave tables, where ``wavesim stats --write`` wrote them,
    are read whole (:func:`~wavesim.io.wave_tables.check_wave_tables`).

    Parameters
    ----------
    path : str or Path
        The store.
    movies : iterable of int, optional
        Check only these movies (default: all).

    Returns
    -------
    VerifyReport

    Raises
    ------
    StoreNotFoundError, StoreError
        If ``path`` is not a readable wavesim store.
    StoreCorruptError
        If the completion flags themselves are damaged.
    """
    store = open_store(path)
    complete = store.complete_movies()
    if movies is not None:
        wanted = set(movies)
        complete = [m for m in complete if m in wanted]
    damage = [d for m in complete for d in store.chunk_damage(m)]
    return VerifyReport(
        path=store.path,
        format_version=int(store.attrs["format_version"]),
        n_movies=store.n_movies,
        checked=tuple(complete),
        damage=tuple(damage),
        wave_tables_problem=check_wave_tables(store.path, store.n_movies),
    )
