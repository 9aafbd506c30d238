"""Generate a store on a Dask cluster: the writer behind ``wavesim generate --scheduler/--workers``.

The client creates (or opens) the store once, as :func:`wavesim.generate.generate_store`
does, and submits one task per batch of movies (one movie on a CPU worker, a
GPU's worth on a ``cuda`` worker). A task writes only its movies' chunks and
records; the client, the only writer of the completion flags, sets a movie's
flag once its task has finished and its chunks are there. A movie is a pure
function of the store's provenance and its index, so a task that Dask retries
after its worker died, or that runs twice, writes the same bytes, and a run
that ends early is finished by the same call with ``resume=True``.

The store must lie on a filesystem that the client and every worker see
under the same path (a cluster's shared filesystem; any path on one machine
for a ``LocalCluster``).

Needs the ``distributed`` extra: ``pip install 'wavesim[distributed]'``.
"""

from __future__ import annotations

import contextlib
import math
import os
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Iterator, Sequence

from .errors import ClusterError, MissingDependencyError, ParameterError, WavesimError
from .io.store import DatasetSpec, WaveStore

if TYPE_CHECKING:
    from distributed import Client

__all__ = ["describe_client", "generate_store_distributed", "open_client", "worker_backend"]

#: Seconds a client waits for a scheduler by default (Dask's own default connect timeout).
DEFAULT_CONNECT_TIMEOUT_S = 30.0


def _distributed(what: str):
    try:
        import distributed
    except ImportError:
        raise MissingDependencyError(
            f"{what} needs Dask: pip install 'wavesim[distributed]' (or pip install dask distributed)."
        ) from None
    return distributed


@contextlib.contextmanager
def open_client(scheduler: str | None = None, n_workers: int | None = None, *,
                connect_timeout_s: float = DEFAULT_CONNECT_TIMEOUT_S) -> Iterator[Client]:
    """A Dask client, closed (with its local cluster, if any) on exit.

    Parameters
    ----------
    scheduler : str, optional
        Address of a running scheduler, e.g. ``tcp://10.0.0.5:8786``.
    n_workers : int, optional
        Instead of ``scheduler``: start a ``LocalCluster`` of this many worker
        processes of one thread each on this machine.
    connect_timeout_s : float
        How long to wait for ``scheduler``, s.

    Raises
    ------
    MissingDependencyError
        If Dask is not installed.
    ParameterError
        If neither or both of ``scheduler`` and ``n_workers`` are given, or
        either is out of range.
    ClusterError
        If the scheduler cannot be reached within ``connect_timeout_s``.

    Examples
    --------
    >>> with open_client(n_workers=2) as client:                      # doctest: +SKIP
    ...     generate_store_distributed("waves.zarr", spec, client)
    """
    if (scheduler is None) == (n_workers is None):
        raise ParameterError("give a scheduler address (--scheduler) or a number of local workers (--workers), "
                             "not both and not neither.")
    if n_workers is not None and (not isinstance(n_workers, int) or isinstance(n_workers, bool) or n_workers < 1):
        raise ParameterError(f"--workers must be a positive integer (local worker processes), got {n_workers!r}.")
    if not (isinstance(connect_timeout_s, (int, float)) and math.isfinite(connect_timeout_s)
            and connect_timeout_s > 0):
        raise ParameterError(f"--connect-timeout-s must be a finite number of seconds > 0, got {connect_timeout_s!r}.")
    distributed = _distributed("--scheduler/--workers" if n_workers is None else "--workers")
    if n_workers is not None:
        # One thread per worker: a task simulates one batch, and Numba or the GPU parallelise inside it. The
        # workers share this machine's cores, so Numba's threads are split between them unless the user set them.
        env = {} if "NUMBA_NUM_THREADS" in os.environ else {"NUMBA_NUM_THREADS": str(max(1, (os.cpu_count() or 1)
                                                                                     // n_workers))}
        with distributed.LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True, env=env) as cluster, \
                distributed.Client(cluster) as client:
            yield client
        return
    try:
        client = distributed.Client(scheduler, timeout=connect_timeout_s)
    except (OSError, TimeoutError, ValueError) as exc:  # unreachable (OSError), malformed address (ValueError)
        raise ClusterError(
            f"cannot reach a Dask scheduler at {scheduler!r} within {connect_timeout_s:g} s ({_one_line(exc)}); "
            f"check the address (tcp://HOST:PORT) and that the scheduler is running."
        ) from None
    with client:
        yield client


def describe_client(client) -> str:
    """One line: the scheduler's address, its workers and the dashboard's link."""
    info = client.scheduler_info()
    workers = info.get("workers", {})
    threads = sum(w.get("nthreads", 0) for w in workers.values())
    return (f"Dask scheduler {info.get('address')}: {len(workers)} worker(s), {threads} thread(s); "
            f"dashboard {client.dashboard_link}")


def worker_backend(client, backend: str, model_name: str) -> tuple[str, str]:
    """``(backend, reason)``: what ``backend`` resolves to on a worker, and why (``auto`` picks ``cuda`` where
    the worker has a usable GPU); the client's own machine may have none.

    Raises
    ------
    BackendUnavailableError
        If ``backend`` is ``cuda`` and the worker has no usable GPU.
    """
    return client.submit(_backend_here, backend, model_name, pure=False).result()


def _backend_here(backend: str, model_name: str) -> tuple[str, str]:
    from .backends import cuda_status, resolve_backend
    from .models import get_model

    return resolve_backend(backend, get_model(model_name)), cuda_status()[1]


def generate_store_distributed(
    path,
    spec: DatasetSpec,
    client,
    *,
    movies: Iterable[int] | None = None,
    resume: bool = False,
    repair: bool = False,
    overwrite: bool = False,
    progress: bool = True,
    command_line: Sequence[str] | None = None,
    warm_cache: bool = True,
    connect_timeout_s: float = DEFAULT_CONNECT_TIMEOUT_S,
) -> WaveStore:
    """Simulate movies on a Dask cluster and write them into the store at ``path``.

    The result is the same store, byte for byte, as
    :func:`wavesim.generate.generate_store` with the same arguments.

    Parameters
    ----------
    path : str or Path
        The store's folder, on a filesystem the workers share; created if absent.
    spec : DatasetSpec
        What the dataset holds, and how to run it: ``spec.run.backend`` is
        where the workers simulate (``auto`` is resolved on a worker);
        ``spec.run.batch_size`` the movies per task (None: 1 on the CPU
        engines, so that tasks spread over the workers, and the engine's
        default, enough to fill the GPU, on ``cuda``).
    client : distributed.Client or str
        A Dask client, or a scheduler's address (connected to for this call).
    movies : iterable of int, optional
        The movies this run writes (default: all); several clients may write
        disjoint ranges through one cluster at once.
    resume, repair, overwrite, command_line, warm_cache
        As for :func:`wavesim.generate.generate_store` (the warm-state cache is
        each worker's ``$WAVESIM_CACHE``).
    progress : bool
        Show a progress bar in simulated seconds, advanced as tasks finish.
    connect_timeout_s : float
        How long to wait for the scheduler when ``client`` is an address, s.

    Returns
    -------
    WaveStore
        The store, opened for writing.

    Raises
    ------
    ClusterError
        If the scheduler cannot be reached (nothing is written then), or
        tasks failed (a worker died more often than Dask retries, a
        finished movie's chunks are not in the store as the client sees
        it); the complete movies are kept and ``resume=True`` finishes the run.
    WavesimError
        As :func:`wavesim.generate.generate_store`, or raised by a task (e.g.
        ``BackendUnavailableError`` on a worker without a GPU).

    Examples
    --------
    >>> from distributed import Client                                # doctest: +SKIP
    >>> generate_store_distributed("/shared/waves.zarr", spec, Client("tcp://10.0.0.5:8786"))  # doctest: +SKIP
    """
    from .generate import check_run_flags

    check_run_flags(resume=resume, repair=repair, overwrite=overwrite)
    if isinstance(client, str):
        with open_client(client, connect_timeout_s=connect_timeout_s) as connected:
            return generate_store_distributed(
                path, spec, connected, movies=movies, resume=resume, repair=repair, overwrite=overwrite,
                progress=progress, command_line=command_line, warm_cache=warm_cache,
            )
    return _run(Path(path).absolute(), spec, client, movies=movies, resume=resume, repair=repair, overwrite=overwrite,
                progress=progress, command_line=command_line, warm_cache=warm_cache)


def _run(path: Path, spec: DatasetSpec, client, *, movies, resume, repair, overwrite, progress, command_line,
         warm_cache) -> WaveStore:
    from .generate import _progress_bar, batch_size_for, open_for_writing

    distributed = _distributed("generate_store_distributed")
    backend, _ = worker_backend(client, spec.run.backend, spec.model.name)
    batch_size = batch_size_for(spec, backend) if spec.run.batch_size is not None or backend == "cuda" else 1
    store, movies, todo = open_for_writing(
        path, spec, movies=movies, backend=backend, batch_size=batch_size, resume=resume, repair=repair,
        overwrite=overwrite, command_line=command_line,
    )
    groups = [todo[i : i + batch_size] for i in range(0, len(todo), batch_size)]
    # Keys unique to this run: a rerun after a failure must not meet the failed run's results on the scheduler.
    futures = {
        client.submit(_simulate_group, str(path), group, backend, warm_cache,
                      key=f"simulate-movies-{group[0]}-{group[-1]}-{uuid.uuid4().hex[:12]}"): group
        for group in groups
    }
    per_movie_s = spec.timing.warmup_s + spec.n_frames * spec.readout.frame_period_s
    n_done = len(movies) - len(todo)
    bar = _progress_bar(progress, len(todo), spec, n_done)
    failed: list[tuple[list[int], str, BaseException | None]] = []
    try:
        for future in distributed.as_completed(futures):
            group = futures[future]
            try:
                future.result()
            except Exception as exc:  # noqa: BLE001 -- every failure is reported below, after the others finish
                failed.append((group, f"{type(exc).__name__}: {_one_line(exc)}", exc))
                continue
            missing = [m for m in group if store.chunk_damage(m, decode=False)]
            if missing:
                failed.append((missing, f"their task finished but their chunks are not in {path} as this client "
                               f"sees it: the store must be on a filesystem that the client and every worker "
                               f"share, under the same path", None))
            for m in group:
                if m not in missing:
                    store.mark_complete(m)
                    n_done += 1
            bar.set_postfix_str(f"movies {n_done}/{len(movies)}", refresh=False)
            bar.update(len(group) * per_movie_s)
    finally:
        bar.close()
        # On an interrupt, stop what has not started; what finished is flagged and kept.
        client.cancel(list(futures))
    if failed:
        _raise_failure(path, failed, n_done, len(movies))
    return store


def _raise_failure(path: Path, failed, n_done: int, n_movies: int) -> None:
    lost = sorted(m for group, _, _ in failed for m in group)
    exc = failed[0][2]
    if isinstance(exc, WavesimError):
        raise exc  # a user's error on the worker (e.g. no GPU there) reads as it would on the client
    shown = f"{lost[:10]}{' ...' if len(lost) > 10 else ''}"
    raise ClusterError(
        f"{len(lost)} movie(s) of {path} failed on the cluster, {shown}: {failed[0][1]}. The {n_done}/{n_movies} "
        f"complete movies are kept; rerun with --resume to finish."
    ) from exc


def _simulate_group(path: str, group: list[int], backend: str, warm_cache: bool) -> None:
    """The task: simulate ``group`` into the store at ``path`` and write its chunks and records, not its flags."""
    from .errors import StoreNotFoundError
    from .generate import write_movies
    from .warm_cache import default_warm_cache

    try:
        store = WaveStore(path, mode="r+")
    except StoreNotFoundError:
        import socket

        raise StoreNotFoundError(
            f"worker on {socket.gethostname()} finds no store at {path}: the store must be on a filesystem that the "
            f"client and every worker share, under the same path."
        ) from None
    write_movies(store, store.spec, group, backend=backend, cache=default_warm_cache(warm_cache))


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()).rstrip(".")
