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
of the provenance.
"""

from __future__ import annotations

import dataclasses
import datetime
import math
import os
import shutil
import sys
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from .errors import StoreError, StoreExistsError, StoreNotFoundError
from .lattice import Retina
from .models import get_model, model_of
from .readout import Readout
from .simulate import Timing, n_frames

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
    from .lattice import HexLattice
    from .readout import PixelMap

    return PixelMap(HexLattice(spec.retina), spec.readout.um_per_pixel).shape


def chunk_frames_for(height_px: int, width_px: int, n_frames_total: int) -> int:
    """Frames per chunk: about 1 MB uncompressed, at most the whole movie."""
    return max(1, min(n_frames_total, CHUNK_BYTES // (height_px * width_px)))


def _provenance(spec: DatasetSpec, command_line: Sequence[str] | None, backend: str) -> dict[str, Any]:
    from . import __version__

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


def _is_wavesim_store(path: Path) -> bool:
    import json

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
    """Read access to a wavesim store.

    Parameters
    ----------
    path : str or Path
        The store's folder.
    mode : {"r", "r+"}
        ``r+`` lets :func:`generate_store` write movies.

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
        self.spec = DatasetSpec.from_attrs(attrs)

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
        IndexError
            If ``movie`` is outside the store.
        StoreError
            If the movie is not completely written.
        """
        if not 0 <= movie < self.n_movies:
            raise IndexError(f"movie {movie} is outside this store's {self.n_movies} movies.")
        if not self._complete[movie]:
            raise StoreError(f"movie {movie} of {self.path} is not completely written.")
        return np.asarray(self.movies[movie, start:stop])

    def _write_frames(self, movie: int, first: int, frames: np.ndarray) -> None:
        self.movies[movie, first : first + frames.shape[0]] = frames

    def _mark_complete(self, movie: int) -> None:
        self._complete[movie] = 1


def open_store(path) -> WaveStore:
    """Open a wavesim store for reading (see :class:`WaveStore`)."""
    return WaveStore(path, mode="r")


def _check_same_dataset(store: WaveStore, spec: DatasetSpec) -> None:
    ours, theirs = spec.identity(), {k: store.attrs.get(k) for k in spec.identity()}
    differ = [k for k in ours if _jsonish(ours[k]) != _jsonish(theirs[k])]
    if differ:
        details = "; ".join(f"{k}: store has {theirs[k]!r}, this run {ours[k]!r}" for k in differ)
        raise StoreError(
            f"{store.path} holds a different dataset ({details}). Write elsewhere, or pass "
            f"--overwrite to replace it."
        )


def _jsonish(x):
    import json

    return json.loads(json.dumps(x))


def parse_movie_range(text: str, n_movies: int) -> range:
    """``"START:STOP"`` (STOP exclusive, either may be empty) -> a range within ``n_movies``."""
    try:
        a, b = text.split(":")
        start = int(a) if a.strip() else 0
        stop = int(b) if b.strip() else n_movies
    except ValueError:
        raise StoreError(f"movie range must look like START:STOP (e.g. 0:50), got {text!r}.") from None
    if not 0 <= start < stop <= n_movies:
        raise StoreError(f"movie range {text!r} must satisfy 0 <= START < STOP <= {n_movies} (the number of movies).")
    return range(start, stop)


def generate_store(
    path,
    spec: DatasetSpec,
    *,
    movies: Iterable[int] | None = None,
    backend: str = "auto",
    batch_size: int | None = None,
    resume: bool = False,
    overwrite: bool = False,
    progress: bool = True,
    command_line: Sequence[str] | None = None,
) -> WaveStore:
    """Simulate movies and write them into the store at ``path``.

    Parameters
    ----------
    movies : iterable of int, optional
        The movies this process writes (default: all). Separate processes may
        write disjoint ranges into the same store at once.
    resume : bool
        Continue an existing store with the same provenance, skipping
        complete movies and regenerating unfinished ones.
    overwrite : bool
        Delete an existing wavesim store at ``path`` first.

    A store that exists is refused unless ``resume`` or ``overwrite`` is set,
    or ``movies`` is a range of which no movie is complete yet (a split run
    joining a store that another process created).
    """
    from .backends import resolve_backend
    from .simulate import Simulation, movie_seeds

    if resume and overwrite:
        raise StoreError("resume and overwrite exclude each other: choose one.")
    path = Path(path)
    backend = resolve_backend(backend)
    split_run = movies is not None
    movies = list(range(spec.n_movies)) if movies is None else list(movies)
    if any(not 0 <= m < spec.n_movies for m in movies):
        raise StoreError(f"movies must lie in [0, {spec.n_movies}), got {movies[0]}..{movies[-1]}.")

    if path.exists() and overwrite:
        if not (_is_wavesim_store(path) or (path.is_dir() and not any(path.iterdir()))):
            raise StoreExistsError(f"{path} exists and is not a wavesim store; refusing to delete it with --overwrite.")
        shutil.rmtree(path)
    if not path.exists():
        try:
            create_store(path, spec, command_line=command_line, backend=backend)
        except StoreExistsError:
            if not (resume or split_run):
                raise
    elif not (resume or split_run):
        raise StoreExistsError(
            f"{path} already exists. Pass --resume to finish it, or --overwrite to replace it."
        )
    store = WaveStore(path, mode="r+")
    _check_same_dataset(store, spec)
    done = store.complete_mask()
    if split_run and not resume and done[movies].any():
        raise StoreExistsError(
            f"movies {[m for m in movies if done[m]][:5]}... of {path} are already complete; pass --resume to skip them."
        )
    todo = [m for m in movies if not done[m]]
    T = spec.n_frames
    chunk = store.movies.chunks[1]
    if batch_size is None:
        batch_size = _default_batch(backend, spec)
    bar = _progress_bar(progress, len(todo), spec, len(movies) - len(todo))
    try:
        for i in range(0, len(todo), batch_size):
            group = todo[i : i + batch_size]
            sim = Simulation(
                spec.params, movie_seeds(spec.seed, group), retina=spec.retina, readout=spec.readout, backend=backend
            )
            sim.advance_s(spec.timing.warmup_s)
            bar.update(len(group) * spec.timing.warmup_s)
            for first, frames in sim.frames(T, chunk):
                host = sim.to_host(frames)
                for j, m in enumerate(group):
                    store._write_frames(m, first, host[j])
                bar.update(len(group) * host.shape[1] * spec.readout.frame_period_s)
            for m in group:
                store._mark_complete(m)
            bar.set_postfix_str(f"movies {len(movies) - len(todo) + i + len(group)}/{len(movies)}")
    finally:
        bar.close()
    return store


def _default_batch(backend: str, spec: DatasetSpec) -> int:
    from .lattice import HexLattice

    cells = HexLattice(spec.retina).n_cells
    if backend == "cuda":
        # Enough retinas to fill the GPU (a few million cells per launch).
        return max(1, min(4096, math.ceil(4_000_000 / cells)))
    return 4


def _progress_bar(enabled: bool, n_todo: int, spec: DatasetSpec, n_done: int):
    from tqdm.auto import tqdm

    per_movie = spec.timing.warmup_s + spec.n_frames * spec.readout.frame_period_s
    bar = tqdm(
        total=n_todo * per_movie,
        unit="sim s",
        unit_scale=True,
        disable=not enabled,
        desc="simulating",
        dynamic_ncols=True,
    )
    bar.set_postfix_str(f"movies {n_done}/{n_done + n_todo}")
    return bar
