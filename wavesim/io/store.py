"""The zarr v3 store of wave movies: layout, writer, reader.

Layout (one store per dataset)::

    <store>/                  root group; attributes hold the provenance
        movies          (movie, time, y, x) uint8, one chunk = 1 movie x a few seconds
        written_chunks  (movie, time chunk) uint8, 1 once that chunk of movies is written
        complete        (movie,) uint8, 1 once every frame of that movie is written
        movie, time, y, x   coordinates: movie index, time (s) and pixel centres (um)
        records/<name>  (movie,) per-movie records of the model (e.g. a single wave's initiation cell)
        waves/          the detected waves' tables, once ``wavesim stats --write`` ran (see :mod:`.wave_tables`)

The coordinate arrays carry CF-style ``units`` and ``long_name`` attributes
and every array names its dimensions (zarr v3 ``dimension_names``), and the
root holds consolidated metadata, so ``xarray.open_zarr(store)`` gives a
labelled Dataset without warnings (:func:`wavesim.io.dataset.open_dataset`
adds the checks and the coordinates of stores written before them). Array
metadata never changes after creation, so the consolidated copy stays valid;
whatever adds an array later must consolidate again.

Every chunk carries a CRC32C checksum (zarr's ``crc32c`` codec), and every
chunk of ``movies`` is stored as a file even when it is all zeros, so that a
reader can tell a damaged chunk (checksum fails) and a deleted one (listed in
``written_chunks`` but absent) from a quiet one; either raises
:class:`~wavesim.errors.StoreCorruptError`. Stores of format version 1 have
neither checksums nor ``written_chunks``: they are read, unchecked, but not
written to. The coordinate arrays and consolidated metadata came later within
version 2, since they serve other tools and no wavesim reader needs them: a
version 2 store without them reads, resumes and repairs as before, and
:func:`~wavesim.io.dataset.open_dataset` derives its coordinates from the
provenance.

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
import functools
import os
import shutil
import sys
import threading
import warnings
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..errors import (
    MovieIndexError,
    ParameterError,
    StoreCorruptError,
    StoreError,
    StoreExistsError,
    StoreNotFoundError,
    WavesimError,
)
from ..lattice import Retina
from ..models import get_model, model_of
from ..readout import Readout
from ..run import RunSpec, Timing
from ..validate import check_int, check_seed
from ..simulate import n_frames
from .wave_tables import read_wave_counts, read_wave_table, wave_tables_attrs, write_wave_tables

FORMAT_NAME = "wavesim-movies"
FORMAT_VERSION = 2
#: Format versions this wavesim reads; it writes only FORMAT_VERSION.
READABLE_VERSIONS = (1, 2)
#: Most movies in one store: each has its own flag and manifest files, which readers list.
MAX_MOVIES = 1_000_000
#: Target uncompressed size of one chunk of a movie.
CHUNK_BYTES = 1 << 20


@dataclasses.dataclass(frozen=True)
class DatasetSpec:
    """Everything that determines a dataset's content, bit for bit, and how it is run.

    Parameters
    ----------
    params
        The parameters of a registered model.
    run : RunSpec, optional
        Sheet, frames, timing, batch size and backend (default: the model's, ``model.run``).
        Its batch size and backend change how the movies are made, never their bytes.
    seed : int
        The dataset's seed; movie ``m`` runs with ``movie_seeds(seed, [m])``.
    n_movies : int
    """

    params: Any
    run: RunSpec | None = None
    seed: int = 0
    n_movies: int = 1

    def __post_init__(self):
        model = model_of(self.params)  # a registered model's parameters, or a ParameterError that says so
        if self.run is None:
            object.__setattr__(self, "run", model.run)
        elif not isinstance(self.run, RunSpec):
            raise StoreError(f"run must be a RunSpec, got {type(self.run).__name__}.")
        try:
            check_int("n_movies", self.n_movies, low=1)
            check_seed("seed", self.seed)
        except ParameterError as exc:
            raise StoreError(str(exc)) from None
        if self.n_movies > MAX_MOVIES:
            raise StoreError(
                f"n_movies = {self.n_movies:,} is more than one store holds ({MAX_MOVIES:,}: each movie has its own "
                f"files); split the dataset into several stores with different seeds."
            )

    @functools.cached_property
    def model(self):
        """The registered model of ``params``."""
        return model_of(self.params)

    @property
    def retina(self) -> Retina:
        return self.run.retina

    @property
    def readout(self) -> Readout:
        return self.run.readout

    @property
    def timing(self) -> Timing:
        return self.run.timing

    @property
    def n_frames(self) -> int:
        return n_frames(self.timing, self.readout)

    @property
    def frame_shape(self) -> tuple[int, int]:
        """(height_px, width_px) of every frame."""
        return self.run.frame_shape

    def identity(self) -> dict[str, Any]:
        """The provenance entries that must agree for two runs to write the same store."""
        return {
            "format": FORMAT_NAME,
            "format_version": FORMAT_VERSION,
            "model": self.model.name,
            "parameters": self.params.to_dict_with_units(),
            "retina": self.retina.to_dict_with_units(),
            "readout": self.readout.to_dict_with_units(),
            "timing": self.timing.to_dict_with_units(),
            "seed": self.seed,
            "n_movies": self.n_movies,
        }

    @classmethod
    def from_attrs(cls, attrs: dict) -> "DatasetSpec":
        run = RunSpec(retina=Retina.from_dict(attrs["retina"]), readout=Readout.from_dict(attrs["readout"]),
                      timing=Timing.from_dict(attrs["timing"]))
        if "run" in attrs:  # batch size and backend preference, from stores written since they were recorded
            run = dataclasses.replace(run, batch_size=attrs["run"].get("batch_size"),
                                      backend=attrs["run"].get("backend", "auto"))
        return cls(
            params=get_model(attrs.get("model")).params_cls.from_dict(attrs["parameters"]),
            run=run,
            seed=int(attrs["seed"]),
            n_movies=int(attrs["n_movies"]),
        )


def coordinates(spec: DatasetSpec) -> dict[str, tuple[tuple[str, ...], np.ndarray, dict[str, str]]]:
    """The store's coordinate arrays: ``{name: (dimensions, values, attributes)}``.

    ``movie`` is the movie index (movie ``m`` is simulated with
    ``wavesim.movie_seeds(seed, [m])``), ``time`` the time of each frame
    after the warm-up in s, ``y`` and ``x`` the pixel centres on the
    simulated sheet in um (pixel ``(i, j)`` covers ``[i, i + 1) x
    um_per_pixel`` in y and ``[j, j + 1) x um_per_pixel`` in x; y points
    down, as rows do in an image). Attributes follow the CF conventions
    (``units``, ``long_name``, ``axis``, ``positive``).
    """
    h, w = spec.frame_shape
    upp = spec.readout.um_per_pixel
    return {
        "movie": (("movie",), np.arange(spec.n_movies, dtype=np.int64),
                  {"long_name": "movie index; its seed is wavesim.movie_seeds(seed, [movie])[0]"}),
        "time": (("time",), np.arange(spec.n_frames) * spec.readout.frame_period_s,
                 {"units": "s", "long_name": "time since the end of the warm-up", "axis": "T"}),
        # Rows run down the image, as in the frames: y grows downward (CF's "positive" names the direction).
        "y": (("y",), (np.arange(h) + 0.5) * upp,
              {"units": "um", "long_name": "y of the pixel centre on the simulated sheet; row 0 is the top row and "
               "y grows downward, as in an image", "axis": "Y", "positive": "down"}),
        "x": (("x",), (np.arange(w) + 0.5) * upp,
              {"units": "um", "long_name": "x of the pixel centre on the simulated sheet", "axis": "X"}),
    }


def _variable_attrs(spec: DatasetSpec) -> dict[str, dict[str, str]]:
    """CF-style attributes of the data arrays."""
    return {
        "movies": {"units": "1", "long_name": f"{spec.readout.kind} readout of the simulated sheet",
                   "description": spec.readout.scale},
        "written_chunks": {"units": "1", "long_name": "1 once that time chunk of the movie is written"},
        "complete": {"units": "1", "long_name": "1 once every frame of the movie is written"},
    }


def chunk_frames_for(height_px: int, width_px: int, n_frames_total: int) -> int:
    """Frames per chunk: about 1 MB uncompressed, at most the whole movie."""
    return max(1, min(n_frames_total, CHUNK_BYTES // (height_px * width_px)))


def _provenance(spec: DatasetSpec, command_line: Sequence[str] | None, backend: str) -> dict[str, Any]:
    from .._version import __version__

    h, w = spec.frame_shape
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
            "run": spec.run.to_dict_with_units(),
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
    of several processes or threads creating the same store at once exactly
    one succeeds and the others see a complete store.

    Raises
    ------
    StoreExistsError
        If anything already exists at ``path``.
    """
    import zarr
    from zarr.codecs import BloscCodec, Crc32cCodec

    path = Path(path)
    if path.exists():
        raise StoreExistsError(f"{path} already exists.")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        above = next((p for p in path.parents if p.exists()), None)
        why = f"{above} is a file, not a folder" if above is not None and not above.is_dir() else exc.strerror
        raise StoreError(f"cannot create {path}: {why}.") from None
    # Per process and thread: two clients in one process (threads) may create the same store at once.
    tmp = path.parent / f".{path.name}.creating-{os.getpid()}-{threading.get_ident()}"
    shutil.rmtree(tmp, ignore_errors=True)
    h, w = spec.frame_shape
    T = spec.n_frames
    chunk_frames = chunk_frames_for(h, w, T)
    n_chunks = -(-T // chunk_frames)
    root = zarr.open_group(str(tmp), mode="w-", zarr_format=3)
    root.attrs.update(_provenance(spec, command_line, backend))
    # The checksum covers the compressed bytes, so it fails before blosc sees a damaged chunk.
    root.create_array(
        "movies",
        shape=(spec.n_movies, T, h, w),
        chunks=(1, chunk_frames, h, w),
        dtype="uint8",
        fill_value=0,
        compressors=(BloscCodec(cname="zstd", clevel=5, shuffle="bitshuffle"), Crc32cCodec()),
        dimension_names=("movie", "time", "y", "x"),
    )
    # One row per movie, so that writers of different movies never share a chunk.
    root.create_array(
        "written_chunks",
        shape=(spec.n_movies, n_chunks),
        chunks=(1, n_chunks),
        dtype="uint8",
        fill_value=0,
        compressors=Crc32cCodec(),
        dimension_names=("movie", "time_chunk"),
    )
    root.create_array(
        "complete",
        shape=(spec.n_movies,),
        chunks=(1,),
        dtype="uint8",
        fill_value=0,
        compressors=Crc32cCodec(),
        dimension_names=("movie",),
    )
    # Per-movie records (e.g. a single wave's initiation point), written with the movie before its flag.
    for name, dtype in spec.model.record_fields(spec.params).items():
        root.create_array(
            f"records/{name}",
            shape=(spec.n_movies,),
            chunks=(1,),
            dtype=dtype,
            fill_value=np.nan if dtype.kind == "f" else -1,
            compressors=Crc32cCodec(),
            dimension_names=("movie",),
        )
    for name, (dims, values, attrs) in coordinates(spec).items():
        coord = root.create_array(name, shape=values.shape, dtype=values.dtype, fill_value=0,
                                  compressors=Crc32cCodec(), dimension_names=dims, attributes=attrs)
        coord[:] = values
    for name, attrs in _variable_attrs(spec).items():
        root[name].attrs.update(attrs)
    # xarray warns on every open of a store without consolidated metadata; zarr-python warns in turn that
    # consolidation is its extension of the v3 spec, which xarray and zarr-python both read.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Consolidated metadata is currently not part", category=UserWarning)
        zarr.consolidate_metadata(str(tmp), zarr_format=3)
    try:
        os.rename(tmp, path)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        if path.exists():
            raise StoreExistsError(f"{path} was created by another process meanwhile.") from None
        raise


@dataclasses.dataclass(frozen=True)
class ChunkDamage:
    """A damaged chunk of the ``movies`` array.

    Attributes
    ----------
    movie : int
        The movie it belongs to.
    first_frame, stop_frame : int
        The frames it holds, ``first_frame:stop_frame`` (stop exclusive).
    key : str
        Its path inside the store, e.g. ``movies/c/3/1/0/0``.
    problem : str
        What is wrong: missing, not in the manifest, or unreadable and why.
    """

    movie: int
    first_frame: int
    stop_frame: int
    key: str
    problem: str

    def describe(self) -> str:
        """One line: movie, frames, chunk and problem."""
        return (f"movie {self.movie}, frames {self.first_frame}-{self.stop_frame - 1} "
                f"(chunk {self.key}): {self.problem}")


class WaveStore:
    """Read (and, opened ``r+``, write) access to a wavesim store.

    Parameters
    ----------
    path : str or Path
        The store's folder.
    mode : {"r", "r+"}
        ``r+`` allows :meth:`write_frames`, :meth:`mark_complete`,
        :meth:`mark_incomplete` and :meth:`write_wave_tables`.

    Raises
    ------
    StoreNotFoundError
        If nothing is at ``path``.
    StoreError
        If it is not a wavesim store, one of a format version this wavesim
        does not read, or (``r+``) one of an older version.
    """

    def __init__(self, path, mode: str = "r"):
        import zarr

        self.path = Path(path)
        self.mode = mode
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
        if version not in READABLE_VERSIONS:
            raise StoreError(
                f"{self.path} has wavesim store format version {version!r}; this wavesim "
                f"reads versions {', '.join(map(str, READABLE_VERSIONS))}. Use the wavesim version that wrote it "
                f"({attrs.get('wavesim_version', 'unknown')})."
            )
        if mode != "r" and version != FORMAT_VERSION:
            raise StoreError(
                f"{self.path} has wavesim store format version {version}, which this wavesim reads but does "
                f"not write (it has no checksums); generate the dataset into a new store."
            )
        self.checksummed = version >= 2
        try:
            # Every chunk is stored, even an all-zero one, so that a missing file means damage.
            self.movies = self._root["movies"].with_config({"write_empty_chunks": True})
            self._complete = self._root["complete"]
            self._written = self._root["written_chunks"] if self.checksummed else None
        except KeyError as exc:
            raise StoreError(f"{self.path} lacks the array {exc}; the store is damaged.") from None
        # Manifest rows of complete movies, which no longer change.
        self._manifest: dict[int, np.ndarray] = {}
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

    @property
    def consolidated(self) -> bool:
        """Whether the root holds consolidated metadata (stores made before the coordinate arrays do not)."""
        return self._root.metadata.consolidated_metadata is not None

    @property
    def chunk_frames(self) -> int:
        """Frames per chunk of ``movies``."""
        return self.movies.chunks[1]

    def complete_mask(self) -> np.ndarray:
        """(n_movies,) bool: which movies are completely written.

        Raises
        ------
        StoreCorruptError
            If a completion flag fails its checksum.
        """
        return self._flags(slice(None)).astype(bool)

    def _flags(self, which) -> np.ndarray:
        try:
            return np.asarray(self._complete[which])
        except Exception as exc:  # the checksum codec raises ValueError
            raise StoreCorruptError(
                f"{self.path}: the completion flags (array 'complete') are damaged: {exc}. Restore the store "
                f"from a copy, or regenerate it."
            ) from None

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
        StoreCorruptError
            If a chunk holding these frames is missing or fails its checksum.
        """
        return self._checked_read(movie, self._chunks_of(start, stop), lambda: self.movies[movie, start:stop])

    def read_frames(self, movie: int, frames) -> np.ndarray:
        """Frames ``frames`` (sorted, unique indices) of a complete movie, (n, H, W) uint8.

        Reads only the chunks that hold them; raises as :meth:`read_movie`.
        """
        frames = np.asarray(frames, dtype=np.int64)
        if frames.size and (frames[0] < 0 or frames[-1] >= self.n_frames or np.any(np.diff(frames) <= 0)):
            raise StoreError(f"frames must be sorted, unique and in [0, {self.n_frames}) for {self.path}.")
        chunks = sorted({int(f) // self.chunk_frames for f in frames})
        return self._checked_read(movie, chunks, lambda: self.movies.get_orthogonal_selection((movie, frames)))

    def _checked_read(self, movie: int, chunks: Sequence[int], read) -> np.ndarray:
        if not 0 <= movie < self.n_movies:
            raise MovieIndexError(
                f"movie {movie} is outside {self.path}, which holds movies 0 to {self.n_movies - 1}."
            )
        if not self._flags(movie):
            complete = self.complete_movies()
            raise StoreError(
                f"movie {movie} of {self.path} is not completely written; complete movies: "
                f"{complete[:10]}{' ...' if len(complete) > 10 else ''}."
            )
        damage = self.chunk_damage(movie, chunks, decode=False)
        if not damage:
            try:
                return np.asarray(read())
            except Exception:  # the checksum codec raises ValueError, blosc RuntimeError
                # Decode chunk by chunk only now, to name the bad one.
                damage = self.chunk_damage(movie, chunks)
                if not damage:
                    raise
        raise self.corrupt_error(damage)

    def chunk_damage(self, movie: int, chunks: Sequence[int] | None = None, *, decode: bool = True) -> list[ChunkDamage]:
        """The damaged chunks of ``movie`` among time chunks ``chunks`` (default: all).

        Checks that each chunk is listed in the movie's manifest and stored as
        a file (format version 2 and later), and, with ``decode``, that it
        passes its checksum and decompresses.

        Parameters
        ----------
        movie : int
            A movie of the store; only a complete movie is expected to have every chunk.
        chunks : sequence of int, optional
            Time-chunk indices; chunk ``k`` holds frames ``k * chunk_frames``
            to ``(k + 1) * chunk_frames``.
        decode : bool
            Also read each chunk (slower: decompresses it).

        Returns
        -------
        list of ChunkDamage
            Empty if every checked chunk is sound.
        """
        c = self.chunk_frames
        chunks = range(-(-self.n_frames // c)) if chunks is None else chunks
        if self.checksummed:
            try:
                manifest = self._manifest_row(movie)
            except Exception as exc:  # the checksum codec raises ValueError
                return [ChunkDamage(movie, 0, self.n_frames, f"written_chunks/c/{movie}/0",
                                    f"the manifest of written chunks is damaged ({str(exc).rstrip('.')})")]
        damage = []
        for k in chunks:
            first, stop = k * c, min((k + 1) * c, self.n_frames)
            key = self.movies.metadata.encode_chunk_key((movie, k, 0, 0))
            problem = None
            if self.checksummed and not manifest[k]:
                problem = "not listed in the manifest of written chunks (array 'written_chunks')"
            elif self.checksummed and not (self.path / "movies" / key).is_file():
                problem = "the chunk file is missing"
            elif decode:
                try:
                    self.movies[movie, first:stop]
                except Exception as exc:  # the checksum codec raises ValueError, blosc RuntimeError
                    problem = f"unreadable ({str(exc).rstrip('.')})"
            if problem is not None:
                damage.append(ChunkDamage(movie, first, stop, f"movies/{key}", problem))
        return damage

    def corrupt_error(self, damage: Sequence[ChunkDamage]) -> StoreCorruptError:
        """A :class:`StoreCorruptError` naming the store and the first of ``damage``."""
        more = f" (and {len(damage) - 1} more damaged chunk(s))" if len(damage) > 1 else ""
        return StoreCorruptError(
            f"{self.path}: {damage[0].describe()}{more}. Run 'wavesim verify {self.path}' and regenerate "
            f"the damaged movies with 'wavesim generate ... --resume --repair'."
        )

    def _chunks_of(self, start: int, stop: int | None) -> range:
        first, last, _ = slice(start, stop).indices(self.n_frames)
        if last <= first:
            return range(0)
        return range(first // self.chunk_frames, (last - 1) // self.chunk_frames + 1)

    def _manifest_row(self, movie: int) -> np.ndarray:
        if movie not in self._manifest:
            row = np.asarray(self._written[movie])
            if not self._flags(movie):
                return row
            self._manifest[movie] = row
        return self._manifest[movie]

    def write_frames(self, movie: int, first: int, frames: np.ndarray) -> None:
        """Write ``frames`` (T, H, W) uint8 as frames ``first:first + T`` of ``movie`` (store opened ``r+``).

        The chunks are listed in the movie's manifest after their data is written.
        """
        self.movies[movie, first : first + frames.shape[0]] = frames
        chunks = self._chunks_of(first, first + frames.shape[0])
        if len(chunks):
            row = np.asarray(self._written[movie])
            row[chunks.start : chunks.stop] = 1
            self._written[movie] = row

    @property
    def record_names(self) -> list[str]:
        """Names of the per-movie records this store keeps (see :meth:`records`)."""
        if "records" not in self._root:
            return []
        return sorted(name for name, _ in self._root["records"].arrays())

    def write_records(self, movie: int, values: dict) -> None:
        """Write ``movie``'s records (a value per name of :attr:`record_names`), before :meth:`mark_complete`."""
        for name, value in values.items():
            self._root[f"records/{name}"][movie] = value

    def records(self) -> dict[str, np.ndarray]:
        """Each per-movie record as an (M,) array; entries of incomplete movies are fill values (-1 or NaN)."""
        done = self.complete_mask()
        out = {}
        for name in self.record_names:
            values = np.asarray(self._root[f"records/{name}"][:])
            fill = np.nan if values.dtype.kind == "f" else -1
            out[name] = np.where(done, values, fill).astype(values.dtype)
        return out

    @property
    def wave_tables_attrs(self) -> dict[str, Any] | None:
        """Attributes of the wave tables (the analysis parameters, when and how written); None if there are none."""
        return wave_tables_attrs(self.path)

    def wave_counts(self) -> np.ndarray:
        """(n_movies,) int64: waves in each movie's table, -1 where a movie has none (see :meth:`wave_table`).

        Raises
        ------
        StoreError
            If the store has no wave tables.
        StoreCorruptError
            If they are damaged.
        """
        return read_wave_counts(self.path, self.n_movies)

    def wave_table(self, movie: int) -> dict[str, np.ndarray]:
        """The waves detected in ``movie`` by ``wavesim stats --write``, one row per wave in order of onset.

        Columns are those of :data:`wavesim.io.wave_tables.WAVE_COLUMNS`, each an
        (n_waves,) float64 array: ``onset_s`` and ``duration_s`` (s),
        ``size_fraction`` (of the frame's pixels) and ``area_um2`` (um^2),
        ``centroid_x_um``, ``centroid_y_um``, ``initiation_x_um``,
        ``initiation_y_um`` (um, pixel centres as the ``x`` and ``y``
        coordinates, +y down), ``direction_rad`` (counter-clockwise from +x)
        and ``speed_um_per_s``. The analysis parameters are in
        :attr:`wave_tables_attrs`.

        Parameters
        ----------
        movie : int
            A complete movie.

        Returns
        -------
        dict of str to ndarray

        Raises
        ------
        MovieIndexError
            If ``movie`` is outside the store.
        StoreError
            If the movie is not complete, or has no wave table (none written,
            or it was not complete when they were).
        StoreCorruptError
            If the table fails its checksums.

        Examples
        --------
        >>> table = open_store("waves.zarr").wave_table(3)          # doctest: +SKIP
        >>> table["speed_um_per_s"].mean()                          # doctest: +SKIP
        """
        if not 0 <= movie < self.n_movies:
            raise MovieIndexError(
                f"movie {movie} is outside {self.path}, which holds movies 0 to {self.n_movies - 1}."
            )
        if not self._flags(movie):
            raise StoreError(f"movie {movie} of {self.path} is not completely written, so it has no wave table.")
        return read_wave_table(self.path, movie, self.n_movies)

    def write_wave_tables(self, tables: dict[int, dict[str, np.ndarray]], attrs: dict[str, Any]) -> None:
        """Replace the store's wave tables (store opened ``r+``): one table per complete movie in ``tables``.

        The tables are written beside the store and renamed into place, so a
        reader sees the old tables or the new ones, never half of them; the
        movies are not touched.

        Parameters
        ----------
        tables : dict of int to dict of str to ndarray
            Per movie, its columns (see :meth:`wave_table`); movies left out
            have no table afterwards.
        attrs : dict
            JSON-serialisable attributes, e.g. the analysis parameters.

        Raises
        ------
        StoreError
            If the store is opened read-only, a movie is not complete, or a table is malformed.
        """
        if self.mode == "r":
            raise StoreError(f"{self.path} is opened read-only; open it with mode='r+' to write wave tables.")
        complete = self.complete_mask()
        unfinished = sorted(m for m in tables if not (0 <= m < self.n_movies and complete[m]))
        if unfinished:
            raise StoreError(f"movies {unfinished} of {self.path} are not complete; only complete movies get wave "
                             f"tables.")
        write_wave_tables(self.path, tables, self.n_movies, attrs, consolidate=self.consolidated)

    def mark_complete(self, movie: int) -> None:
        """Flag ``movie`` as completely written, after its last frame (store opened ``r+``)."""
        self._complete[movie] = 1

    def mark_incomplete(self, movie: int) -> None:
        """Withdraw ``movie``'s completion flag, then its manifest, before it is rewritten (store opened ``r+``)."""
        self._complete[movie] = 0
        self._written[movie] = 0
        self._manifest.pop(movie, None)


def open_store(path) -> WaveStore:
    """Open a wavesim store for reading (see :class:`WaveStore`)."""
    return WaveStore(path, mode="r")
