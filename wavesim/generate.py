"""Run simulations into a wavesim store: the writer behind ``wavesim generate``.

Each movie is a pure function of the dataset's provenance (parameters,
retina, readout, timing, seed and its index), so separate processes may write
disjoint ranges of movies into one store, and an interrupted run resumes by
regenerating its unfinished movies. :mod:`wavesim.io.store` owns the layout;
this module only decides which movies to simulate and feeds it their frames.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np

from .errors import StoreCorruptError, StoreError, StoreExistsError
from .io.store import DatasetSpec, WaveStore, create_store, is_wavesim_store
from .io.verify import verify_store

__all__ = ["batch_size_for", "check_run_flags", "generate_store", "open_for_writing", "parse_movie_range", "write_movies"]


def parse_movie_range(text: str, n_movies: int) -> range:
    """The movies a ``"START:STOP"`` range names (STOP exclusive, either may be empty).

    Parameters
    ----------
    text : str
        ``START:STOP``, e.g. ``"0:50"``, ``":50"`` or ``"50:"``.
    n_movies : int
        Number of movies in the dataset; the range must lie within it.

    Raises
    ------
    StoreError
        If ``text`` is malformed or the range is empty or outside the dataset.
    """
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
    resume: bool = False,
    repair: bool = False,
    overwrite: bool = False,
    progress: bool = True,
    command_line: Sequence[str] | None = None,
    warm_cache: bool = True,
) -> WaveStore:
    """Simulate movies and write them into the store at ``path``.

    Parameters
    ----------
    path : str or Path
        The store's folder; created if absent.
    spec : DatasetSpec
        What the dataset holds, and how to run it: ``spec.run.backend``
        (``"auto"``: the GPU where one is usable, else the model's event
        engine) and ``spec.run.batch_size`` (retinas simulated at once;
        None: the engine's default, e.g. 16 on the CPU and enough to fill
        the GPU on ``cuda``).
    movies : iterable of int, optional
        The movies this process writes (default: all). Separate processes may
        write disjoint ranges into the same store at once.
    resume : bool
        Continue an existing store with the same provenance, skipping
        complete movies and regenerating unfinished ones.
    repair : bool
        With ``resume``: also regenerate the complete movies (of ``movies``)
        that :func:`wavesim.io.verify.verify_store` finds damaged. The
        simulation is deterministic, so their bytes come back the same.
    overwrite : bool
        Delete an existing wavesim store at ``path`` first.
    progress : bool
        Show a progress bar in simulated seconds.
    command_line : sequence of str, optional
        Recorded in the provenance (default: ``sys.argv``).
    warm_cache : bool
        Restore warmed-up retinas from the warm-state cache and store the
        ones simulated (:mod:`wavesim.warm_cache`; ``WAVESIM_NO_WARM_CACHE=1``
        turns it off too). The store's bytes are the same either way.

    Returns
    -------
    WaveStore
        The store, opened for writing.

    Raises
    ------
    ParameterError
        If the backend does not run the model.
    StoreExistsError
        If a store exists and neither ``resume`` nor ``overwrite`` is set,
        unless ``movies`` is a range of which no movie is complete yet (a split
        run joining a store that another process created).
    StoreError
        If the existing store holds a different dataset, or the arguments
        contradict each other.
    StoreCorruptError
        If ``resume`` without ``repair`` finds a complete movie with a
        missing chunk file.
    """
    from .backends import resolve_backend
    from .warm_cache import default_warm_cache

    check_run_flags(resume=resume, repair=repair, overwrite=overwrite)
    backend = resolve_backend(spec.run.backend, spec.model)
    batch_size = batch_size_for(spec, backend)
    store, movies, todo = open_for_writing(
        path, spec, movies=movies, backend=backend, batch_size=batch_size, resume=resume, repair=repair,
        overwrite=overwrite, command_line=command_line,
    )
    bar = _progress_bar(progress, len(todo), spec, len(movies) - len(todo))
    cache = default_warm_cache(warm_cache)
    try:
        for i in range(0, len(todo), batch_size):
            group = todo[i : i + batch_size]
            write_movies(store, spec, group, backend=backend, cache=cache, advance_bar=bar.update,
                         show_warmup=progress)
            for m in group:
                store.mark_complete(m)
            bar.set_postfix_str(f"movies {len(movies) - len(todo) + i + len(group)}/{len(movies)}")
    finally:
        bar.close()
    return store


def check_run_flags(*, resume: bool, repair: bool, overwrite: bool) -> None:
    """Refuse contradictory flags before anything runs."""
    if resume and overwrite:
        raise StoreError("resume and overwrite exclude each other: choose one.")
    if repair and not resume:
        raise StoreError("repair works on an existing store: pass --resume with --repair.")


def batch_size_for(spec: DatasetSpec, backend: str) -> int:
    """Retinas simulated at once: ``spec.run.batch_size``, else the resolved engine's default for the sheet."""
    from .backends import engine_class

    if spec.run.batch_size is not None:
        return spec.run.batch_size
    lattice = spec.model.lattice(spec.retina)
    cells = lattice.rows * lattice.cols  # an upper bound, without building the lattice's tables
    return engine_class(backend, spec.model).default_batch_size(cells)


def open_for_writing(
    path, spec: DatasetSpec, *, movies: Iterable[int] | None, backend: str, batch_size: int, resume: bool,
    repair: bool, overwrite: bool, command_line: Sequence[str] | None,
) -> tuple[WaveStore, list[int], list[int]]:
    """Create the store, or open an existing one that holds ``spec``, for a run of ``movies``.

    Arguments as for :func:`generate_store`, with ``backend`` resolved and
    ``batch_size`` set. Damaged movies found with ``repair`` lose their
    completion flag here.

    Returns
    -------
    store : WaveStore
        Opened ``r+``.
    movies : list of int
        The movies of this run.
    todo : list of int
        Those of them that are not complete.
    """
    from .simulate import check_memory

    path = Path(path)
    split_run = movies is not None
    movies = list(range(spec.n_movies)) if movies is None else list(movies)
    if any(not 0 <= m < spec.n_movies for m in movies):
        raise StoreError(f"movies must lie in [0, {spec.n_movies}), got {movies[0]}..{movies[-1]}.")
    # Before the store exists: a run refused for memory leaves nothing behind.
    check_memory(spec.model, spec.retina, min(batch_size, len(movies)) or 1)

    if path.exists() and overwrite:
        if not (is_wavesim_store(path) or (path.is_dir() and not any(path.iterdir()))):
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
    if repair:
        for m in verify_store(path, movies).damaged_movies:
            # Withdraw the flag first, so that no reader trusts the movie while it is rewritten.
            store.mark_incomplete(m)
            done[m] = False
    elif resume:
        # Only a look for missing chunk files (no decompression), so that resuming stays quick.
        missing = [m for m in movies if done[m] and store.chunk_damage(m, decode=False)]
        if missing:
            raise StoreCorruptError(
                f"{path}: complete movies {missing[:10]}{' ...' if len(missing) > 10 else ''} have missing "
                f"chunks; pass --repair with --resume to regenerate them ('wavesim verify' checks every checksum)."
            )
    if split_run and not resume and done[movies].any():
        raise StoreExistsError(
            f"movies {[m for m in movies if done[m]][:5]}... of {path} are already complete; pass --resume to skip them."
        )
    return store, movies, [m for m in movies if not done[m]]


def write_movies(store: WaveStore, spec: DatasetSpec, group: Sequence[int], *, backend: str, cache=None,
                 advance_bar: Callable[[float], object] | None = None, show_warmup: bool = False) -> None:
    """Simulate movies ``group`` as one batch and write their frames and records; leave their flags unset.

    The caller sets each movie's completion flag (:meth:`WaveStore.mark_complete`)
    once this returns, so that no reader trusts a movie before its last chunk is
    written. Each movie is a pure function of ``spec`` and its index, so a
    repeated call writes the same bytes.

    Parameters
    ----------
    store : WaveStore
        Opened ``r+``, holding ``spec``.
    spec : DatasetSpec
        The store's dataset.
    group : sequence of int
        Movies to simulate at once (the batch).
    backend : str
        A resolved backend (``cpu``, ``cpu-events`` or ``cuda``).
    cache : WarmCache, optional
        Where warmed-up retinas are restored from and stored.
    advance_bar : callable, optional
        Called with the simulated seconds (summed over the batch) done since the last call.
    show_warmup : bool
        Show the warm-up's own progress bar.
    """
    from .simulate import Simulation, movie_seeds
    from .warm_cache import warm_up

    T = spec.n_frames
    chunk = store.movies.chunks[1]
    advance_bar = advance_bar or (lambda seconds: None)
    sim = Simulation(spec.params, movie_seeds(spec.seed, group), retina=spec.retina, readout=spec.readout,
                     backend=backend)
    records = _static_records(sim, store.record_names)
    length = np.full(len(group), T, np.int64)  # first frame with nothing lit, T if none
    warm_up(sim, sim.steps_for(spec.timing.warmup_s), cache, lambda s, n: _warm_up(s, n, show_warmup))
    advance_bar(len(group) * spec.timing.warmup_s)
    for first, frames in sim.frames(T, chunk):
        host = sim.to_host(frames)
        for j, m in enumerate(group):
            store.write_frames(m, first, host[j])
        dark = ~host.reshape(len(group), host.shape[1], -1).any(axis=2)
        hit = (length == T) & dark.any(axis=1)
        length[hit] = first + dark[hit].argmax(axis=1)
        advance_bar(len(group) * host.shape[1] * spec.readout.frame_period_s)
    if "length_frames" in store.record_names:
        records["length_frames"] = length
    for j, m in enumerate(group):
        store.write_records(m, {name: values[j] for name, values in records.items()})


def _static_records(sim, names) -> dict[str, np.ndarray]:
    """The model's per-movie records known before simulating (e.g. a wave's initiation point), by name."""
    from .kernels.random import retina_keys

    if sim.model.movie_records is None:
        return {}
    values = sim.model.movie_records(sim.lattice, sim.model.quantise(sim.params), retina_keys(sim.seeds))
    return {name: v for name, v in values.items() if name in names}


def _check_same_dataset(store: WaveStore, spec: DatasetSpec) -> None:
    ours, theirs = spec.identity(), {k: store.attrs.get(k) for k in spec.identity()}
    differ = []
    for key in ours:
        mine, stored = _jsonish(ours[key]), _jsonish(theirs[key])
        if isinstance(mine, dict) and isinstance(stored, dict):
            # Name only the entries that differ, e.g. "timing.duration_s".
            differ += [(f"{key}.{k}", stored.get(k), mine.get(k)) for k in {**stored, **mine}
                       if stored.get(k) != mine.get(k)]
        elif mine != stored:
            differ.append((key, stored, mine))
    if differ:
        details = "; ".join(f"{k}: store has {_plain(old)}, this run {_plain(new)}" for k, old, new in differ)
        raise StoreError(
            f"{store.path} holds a different dataset ({details}). Write elsewhere, or pass "
            f"--overwrite to replace it."
        )


def _plain(value):
    """A provenance value as a user reads it: ``{"value": 32.0, "unit": "s"}`` as ``32 s``."""
    if isinstance(value, dict) and set(value) == {"value", "unit"}:
        unit = "" if value["unit"] in ("", "1") else f" {value['unit']}"
        return f"{value['value']!r}{unit}" if isinstance(value["value"], str) else f"{value['value']:g}{unit}"
    return repr(value)


def _jsonish(x):
    # Compare as stored: JSON turns tuples into lists and keys into strings.
    return json.loads(json.dumps(x))


#: Pieces of a warm-up between two updates of its progress bar.
_WARMUP_PIECES = 100


def _warm_up(sim, steps: int, enabled: bool) -> None:
    """Run ``steps`` of warm-up in pieces under their own bar (simulated seconds), so the run shows progress before frame 0."""
    from tqdm.auto import tqdm

    piece = max(1, -(-steps // _WARMUP_PIECES))
    with tqdm(total=steps * sim.dt_s, unit="sim s", desc="warm-up", disable=not enabled or steps == 0,
              leave=False, position=1, dynamic_ncols=True) as warm_bar:
        for done in range(0, steps, piece):
            n = min(piece, steps - done)
            sim.advance(n)
            warm_bar.update(n * sim.dt_s)


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
