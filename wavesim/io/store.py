"""The zarr v3 store of wave movies: layout, writer, reader.

Layout (one store per dataset)::

    <store>/                  root group; attributes hold the provenance
        movies    (movie, time, y, x) uint8, one chunk = 1 movie x a few seconds
        complete  (movie,) uint8, 1 once every frame of that movie is written

Movies are independent: each one's chunks and its completion flag are
separate files, so disjoint ranges of movies can be written by separate
processes or machines into the same store at once. A reader only trusts
movies whose flag is set, so it never sees half a movie, and an interrupted
run resumes by regenerating its unfinished movies, which are a pure function
of the provenance (see :mod:`wavesim.generate`, which runs the simulations).
"""

from __future__ import annotations

import dataclasses
import datetime
import os
import shutil
import sys
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..errors import MovieIndexError, StoreError, StoreExistsError, StoreNotFoundError, WavesimError
from ..lattice import Retina
from ..models import get_model, model_of
from ..readout import Readout
from ..simulate import Timing, n_frames

FORMAT_NAME = "wavesim-movies"
FORMAT_VERSION = 1
#: Target uncompressed size of one chunk of a movie.
CHUNK_BYTES = 1 << 20


@dataclasses.dataclass(frozen=True)
class DatasetSpec:
    """Everything that determines a dataset's content, bit for bit."""

    params: Any  # the parameters of a registered model
    retina: Retina
    readout: Readout
    timing: Timing
    seed: int
    n_movies: int

    def __post_init__(self):
        model_of(self.params)  # a registered model's parameters, or a ParameterError that says so
        if not isinstance(self.n_movies, int) or self.n_movies < 1:
            raise StoreError(f"n_movies must be a positive integer, got {self.n_movies!r}.")
        if not isinstance(self.seed, int) or not 0 <= self.seed < 2**63:
            raise StoreError(f"seed must be an integer in [0, 2**63), got {self.seed!r}.")

    @property
    def n_frames(self) -> int:
        return n_frames(self.timing, self.readout)

    def identity(self) -> dict[str, Any]:
        """The provenance entries that must agree for two runs to write the same store."""
        return {
            "format": FORMAT_NAME,
            "format_version": FORMAT_VERSION,
            "model": model_of(self.params).name,
            "parameters": self.params.to_dict_with_units(),
            "retina": self.retina.to_dict_with_units(),
            "readout": self.readout.to_dict_with_units(),
            "timing": self.timing.to_dict_with_units(),
            "seed": self.seed,
            "n_movies": self.n_movies,
        }

    @classmethod
    def from_attrs(cls, attrs: dict) -> "DatasetSpec":
        return cls(
            params=get_model(attrs.get("model")).params_cls.from_dict(attrs["parameters"]),
            retina=Retina.from_dict(attrs["retina"]),
            readout=Readout.from_dict(attrs["readout"]),
            timing=Timing.from_dict(attrs["timing"]),
            seed=int(attrs["seed"]),
            n_movies=int(attrs["n_movies"]),
        )


def _frame_shape(spec: DatasetSpec) -> tuple[int, int]:
    from ..lattice import HexLattice
    from ..readout import PixelMap

    return PixelMap(HexLattice(spec.retina), spec.readout.um_per_pixel).shape


def chunk_frames_for(height_px: int, width_px: int, n_frames_total: int) -> int:
    """Frames per chunk: about 1 MB uncompressed, at most the whole movie."""
    return max(1, min(n_frames_total, CHUNK_BYTES // (height_px * width_px)))


def _provenance(spec: DatasetSpec, command_line: Sequence[str] | None, backend: str) -> dict[str, Any]:
    from .. import __version__

    h, w = _frame_shape(spec)
    attrs = spec.identity()
    attrs.update(
        {
            "wavesim_version": __version__,
            "dt_s": spec.params.dt_s,
            "frame_period_s": spec.readout.frame_period_s,
            "um_per_pixel": spec.readout.um_per_pixel,
            "readout_kind": spec.readout.kind,
            "readout_scale": spec.readout.scale,
            "warmup_s": spec.timing.warmup_s,
            "n_frames": spec.n_frames,
            "frame_shape_px": [h, w],
            "movie_seed_rule": "wavesim.movie_seeds(seed, [movie])[0]",
            "command_line": list(command_line) if command_line is not None else list(sys.argv),
            "created_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "created_with_backend": backend,
        }
    )
    return attrs


def is_wavesim_store(path) -> bool:
    """Whether ``path`` is a folder whose zarr metadata names the wavesim store format."""
    import json

    path = Path(path)
    meta = path / "zarr.json"
    if not meta.is_file():
        return False
    try:
        return json.loads(meta.read_text()).get("attributes", {}).get("format") == FORMAT_NAME
    except (OSError, ValueError):
        return False


def create_store(path, spec: DatasetSpec, *, command_line=None, backend: str = "cpu"):
    """Create a new, empty store at ``path`` atomically.

    The store is built in a temporary folder and renamed into place, so that
    of several processes creating the same store at once exactly one
    succeeds and the others see a complete store.

    Raises
    ------
    StoreExistsError
        If anything already exists at ``path``.
    """
    import zarr
    from zarr.codecs import BloscCodec

    path = Path(path)
    if path.exists():
        raise StoreExistsError(f"{path} already exists.")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.creating-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    h, w = _frame_shape(spec)
    T = spec.n_frames
    root = zarr.open_group(str(tmp), mode="w-", zarr_format=3)
    root.attrs.update(_provenance(spec, command_line, backend))
    root.create_array(
        "movies",
        shape=(spec.n_movies, T, h, w),
        chunks=(1, chunk_frames_for(h, w, T), h, w),
        dtype="uint8",
        fill_value=0,
        compressors=BloscCodec(cname="zstd", clevel=5, shuffle="bitshuffle"),
        dimension_names=("movie", "time", "y", "x"),
    )
    root.create_array(
        "complete", shape=(spec.n_movies,), chunks=(1,), dtype="uint8", fill_value=0, dimension_names=("movie",)
    )
    try:
        os.rename(tmp, path)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        if path.exists():
            raise StoreExistsError(f"{path} was created by another process meanwhile.") from None
        raise


class WaveStore:
    """Read (and, opened ``r+``, write) access to a wavesim store.

    Parameters
    ----------
    path : str or Path
        The store's folder.
    mode : {"r", "r+"}
        ``r+`` allows :meth:`write_frames` and :meth:`mark_complete`.

    Raises
    ------
    StoreNotFoundError
        If nothing is at ``path``.
    StoreError
        If it is not a wavesim store, or one of another format version.
    """

    def __init__(self, path, mode: str = "r"):
        import zarr

        self.path = Path(path)
        if not self.path.exists():
            raise StoreNotFoundError(f"No wavesim store at {self.path}: the path does not exist.")
        try:
            self._root = zarr.open_group(str(self.path), mode=mode, zarr_format=3)
        except Exception as exc:  # zarr raises several types for a non-group folder
            raise StoreError(f"{self.path} is not a zarr v3 group: {exc}") from exc
        attrs = dict(self._root.attrs)
        if attrs.get("format") != FORMAT_NAME:
            raise StoreError(f"{self.path} is a zarr group but not a wavesim store (no format = {FORMAT_NAME!r}).")
        version = attrs.get("format_version")
        if version != FORMAT_VERSION:
            raise StoreError(
                f"{self.path} has wavesim store format version {version!r}; this wavesim "
                f"reads version {FORMAT_VERSION}. Use the wavesim version that wrote it "
                f"({attrs.get('wavesim_version', 'unknown')})."
            )
        try:
            self.movies = self._root["movies"]
            self._complete = self._root["complete"]
        except KeyError as exc:
            raise StoreError(f"{self.path} lacks the array {exc}; the store is damaged.") from None
        self.attrs = attrs
        try:
            self.spec = DatasetSpec.from_attrs(attrs)
        except (WavesimError, KeyError, TypeError, ValueError) as exc:
            raise StoreError(f"{self.path}: the store's provenance cannot be read back: {exc}") from None

    @property
    def n_movies(self) -> int:
        return self.movies.shape[0]

    @property
    def n_frames(self) -> int:
        return self.movies.shape[1]

    @property
    def frame_shape(self) -> tuple[int, int]:
        return tuple(self.movies.shape[2:])

    @property
    def um_per_pixel(self) -> float:
        return float(self.attrs["um_per_pixel"])

    @property
    def frame_period_s(self) -> float:
        return float(self.attrs["frame_period_s"])

    @property
    def readout(self) -> str:
        """``binary`` or ``calcium``."""
        return self.attrs["readout_kind"]

    def complete_mask(self) -> np.ndarray:
        """(n_movies,) bool: which movies are completely written."""
        return np.asarray(self._complete[:]).astype(bool)

    def complete_movies(self) -> list[int]:
        return [int(i) for i in np.nonzero(self.complete_mask())[0]]

    def read_movie(self, movie: int, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Frames ``start:stop`` of a complete movie, (T, H, W) uint8.

        Raises
        ------
        MovieIndexError
            If ``movie`` is outside the store (also an ``IndexError``).
        StoreError
            If the movie is not completely written.
        """
        if not 0 <= movie < self.n_movies:
            raise MovieIndexError(
                f"movie {movie} is outside {self.path}, which holds movies 0 to {self.n_movies - 1}."
            )
        if not self._complete[movie]:
            complete = self.complete_movies()
            raise StoreError(
                f"movie {movie} of {self.path} is not completely written; complete movies: "
                f"{complete[:10]}{' ...' if len(complete) > 10 else ''}."
            )
        return np.asarray(self.movies[movie, start:stop])

    def write_frames(self, movie: int, first: int, frames: np.ndarray) -> None:
        """Write ``frames`` (T, H, W) uint8 as frames ``first:first + T`` of ``movie`` (store opened ``r+``)."""
        self.movies[movie, first : first + frames.shape[0]] = frames

    def mark_complete(self, movie: int) -> None:
        """Flag ``movie`` as completely written, after its last frame (store opened ``r+``)."""
        self._complete[movie] = 1


def open_store(path) -> WaveStore:
    """Open a wavesim store for reading (see :class:`WaveStore`)."""
    return WaveStore(path, mode="r")
