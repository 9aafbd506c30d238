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

Workers report each chunk they write (Dask's event log), so the progress
bar moves with the simulation, not only when a movie's task ends. A
failed run ends with one line per distinct error, naming its movies, and
the first traceback of each error is kept in ``STORE.log`` beside the
store, with the warnings Dask logged in this process; the workers of a
local cluster (``n_workers``) log nothing to the terminal.

Needs the ``distributed`` extra: ``pip install 'wavesim[distributed]'``.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import threading
import traceback
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Iterator, Sequence

from .errors import ClusterError, MissingDependencyError, ParameterError, WavesimError
from .validate import check_int
from .io.store import DatasetSpec, WaveStore

if TYPE_CHECKING:
    from distributed import Client

__all__ = ["describe_client", "generate_store_distributed", "numba_threads_per_worker", "open_client", "worker_backend"]

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
    check_int("--workers", n_workers, low=1, optional=True, what="local worker processes")
    if not (isinstance(connect_timeout_s, (int, float)) and math.isfinite(connect_timeout_s)
            and connect_timeout_s > 0):
        raise ParameterError(f"--connect-timeout-s must be a finite number of seconds > 0, got {connect_timeout_s!r}.")
    distributed = _distributed("--scheduler/--workers" if n_workers is None else "--workers")
    if n_workers is not None:
        with _local_cluster(distributed, n_workers) as cluster, distributed.Client(cluster) as client:
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


def numba_threads_per_worker(n_workers: int) -> int:
    """Numba threads for each of ``n_workers`` local worker processes: this machine's cores shared out."""
    return max(1, (os.cpu_count() or 1) // n_workers)


@contextlib.contextmanager
def _local_cluster(distributed, n_workers: int):
    """A LocalCluster of ``n_workers`` one-thread processes with Numba's threads split between them, logs quiet.

    Numba reads ``NUMBA_NUM_THREADS`` once, when it is imported, and refuses
    a different value after its threads have started; a spawned worker
    imports numba with the modules of this process's ``__main__`` (the
    console script) before ``LocalCluster(env=...)`` is applied. The
    nanny's pre-spawn environment is set before the worker process starts.
    The nanny sets it in this process too; it is put back here, so that
    this process's own Numba keeps its thread count.
    """
    import dask

    variables = {} if "NUMBA_NUM_THREADS" in os.environ else {
        "NUMBA_NUM_THREADS": str(numba_threads_per_worker(n_workers))}
    saved = {name: os.environ.get(name) for name in variables}
    try:
        with dask.config.set({f"distributed.nanny.pre-spawn-environ.{k}": v for k, v in variables.items()}):
            # Dask's logs stay out of the terminal; failures are reported by _run, with a log file.
            cluster = distributed.LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                                               silence_logs=logging.CRITICAL)
        _restore_environment(saved)
        with cluster:
            yield cluster
    finally:
        _restore_environment(saved)  # a restarted worker sets it again


def _restore_environment(saved: dict[str, str | None]) -> None:
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def describe_client(client) -> str:
    """One line: the scheduler's address, its workers, their Numba threads and the dashboard's link."""
    info = client.scheduler_info()
    workers = info.get("workers", {})
    threads = sum(w.get("nthreads", 0) for w in workers.values())
    counts = sorted(set(client.run(_numba_threads).values())) if workers else []
    numba = "-" if not counts else str(counts[0]) if len(counts) == 1 else f"{counts[0]} to {counts[-1]}"
    return (f"Dask scheduler {info.get('address')}: {len(workers)} worker(s), {threads} thread(s), "
            f"Numba threads per worker: {numba}; dashboard {client.dashboard_link}")


def _numba_threads() -> int:
    """The Numba thread pool of the process this runs in (a worker's, through ``client.run``)."""
    import numba

    return int(numba.config.NUMBA_NUM_THREADS)


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
    per_movie_s = spec.timing.warmup_s + spec.n_frames * spec.readout.frame_period_s
    n_done = len(movies) - len(todo)
    bar = _progress_bar(progress, len(todo), spec, n_done)
    # Keys unique to this run: a rerun after a failure must not meet the failed run's results on the scheduler.
    keys = {f"simulate-movies-{g[0]}-{g[-1]}-{uuid.uuid4().hex[:12]}": g for g in groups}
    chunks = _ChunkProgress(client, bar, {key: len(g) * per_movie_s for key, g in keys.items()})
    failed: list[tuple[list[int], str, BaseException | None, str | None]] = []
    log_path = Path(f"{path}.log")
    with _failure_log(log_path) as log:
        futures = {client.submit(_simulate_group, str(path), group, backend, warm_cache, chunks.topic, key, key=key):
                   group for key, group in keys.items()}
        try:
            for future in distributed.as_completed(futures):
                group = futures[future]
                try:
                    future.result()
                except Exception as exc:  # noqa: BLE001 -- every failure is reported below, after the others finish
                    failed.append((group, _describe(exc), exc,
                                   "".join(traceback.format_exception(type(exc), exc, future.traceback()))))
                    continue
                missing = [m for m in group if store.chunk_damage(m, decode=False)]
                if missing:
                    failed.append((missing, f"the task finished but the chunks are not in {path} as this client "
                                   f"sees it: the store must be on a filesystem that the client and every worker "
                                   f"share, under the same path", None, None))
                for m in group:
                    if m not in missing:
                        store.mark_complete(m)
                        n_done += 1
                bar.set_postfix_str(f"movies {n_done}/{len(movies)}", refresh=False)
                chunks.finish(future.key)
        finally:
            chunks.close()
            bar.close()
            # On an interrupt, stop what has not started; what finished is flagged and kept.
            client.cancel(list(futures))
        if failed:
            _raise_failure(path, failed, n_done, len(movies), log, log_path)
    return store


class _ChunkProgress:
    """Advances a run's progress bar by the chunks its tasks report, and tops up each task's share as it ends.

    Tasks report through Dask's event log (``Worker.log_event``); a retried
    task reports its chunks again, so each task's share is capped.
    """

    def __init__(self, client, bar, totals: dict[str, float]):
        self.topic = f"wavesim-progress-{uuid.uuid4().hex}"
        self._client, self._bar, self._totals = client, bar, totals
        self._counted = dict.fromkeys(totals, 0.0)
        self._lock = threading.Lock()  # events arrive on the client's event-loop thread
        client.subscribe_topic(self.topic, self._on_event)

    def _on_event(self, event) -> None:
        _, (key, seconds) = event
        self._add(key, seconds)

    def _add(self, key: str, seconds: float) -> None:
        with self._lock:
            step = min(seconds, self._totals.get(key, 0.0) - self._counted.get(key, 0.0))
            if step > 0:
                self._counted[key] += step
                self._bar.update(step)

    def finish(self, key: str) -> None:
        self._add(key, math.inf)

    def close(self) -> None:
        self._client.unsubscribe_topic(self.topic)


@contextlib.contextmanager
def _failure_log(path: Path):
    """``write(message)``, which appends to the log file ``path``, and the warnings of Dask's loggers in this
    process go there too; the file is made only when something is written to it."""
    handler = logging.FileHandler(path, delay=True)
    handler.setLevel(logging.WARNING)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s: %(message)s"))
    dask_logger = logging.getLogger("distributed")
    dask_logger.addHandler(handler)

    def write(message: str) -> None:
        handler.handle(logging.makeLogRecord({"name": "wavesim", "levelno": logging.ERROR, "levelname": "ERROR",
                                              "msg": message}))

    try:
        yield write
    finally:
        dask_logger.removeHandler(handler)
        handler.close()


def _movies(movies: list[int]) -> str:
    shown = ", ".join(map(str, movies[:10])) + (f", ... ({len(movies)} movies)" if len(movies) > 10 else "")
    return f"movie{'s' if len(movies) > 1 else ''} {shown}"


def _raise_failure(path: Path, failed, n_done: int, n_movies: int, log, log_path: Path) -> None:
    """Log each failure (the first traceback of each error), then raise one error naming each error's movies."""
    first = failed[0][2]
    if isinstance(first, WavesimError):
        raise first  # a user's error on a worker (e.g. no GPU there) reads as it would on the client
    by_error: dict[str, list[int]] = {}
    for group, message, _, trace in failed:
        first_of_its_kind = message not in by_error
        by_error.setdefault(message, []).extend(group)
        log(f"{_movies(group)} of {path} failed on the cluster: {message}"
            + (f"\n{trace}" if trace and first_of_its_kind else ""))
    lost = sum(len(m) for m in by_error.values())
    details = "; ".join(f"{_movies(sorted(movies))}: {message}" for message, movies in by_error.items())
    raise ClusterError(
        f"{lost} movie(s) of {path} failed on the cluster. {details}. The {n_done}/{n_movies} complete movies are "
        f"kept; rerun with --resume to finish. The first traceback of each error is in {log_path}."
    ) from first


def _simulate_group(path: str, group: list[int], backend: str, warm_cache: bool, topic: str | None = None,
                    key: str | None = None) -> None:
    """The task: simulate ``group`` into the store at ``path`` and write its chunks and records, not its flags.

    With ``topic``, each chunk's simulated seconds are reported on Dask's event log as ``(key, seconds)``.
    """
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
    report = None
    if topic is not None:
        from distributed import get_worker

        worker = get_worker()

        def report(seconds: float) -> None:
            worker.log_event(topic, (key, seconds))

    write_movies(store, store.spec, group, backend=backend, cache=default_warm_cache(warm_cache), advance_bar=report)


def _describe(exc: BaseException) -> str:
    """A task's error in one line, the same for every movie it hit (Dask's KilledWorker names its task)."""
    if type(exc).__name__ == "KilledWorker":
        return ("KilledWorker: each worker that ran it died (out of memory, killed or crashed); Dask retries a task "
                "distributed.scheduler.allowed-failures times")
    return f"{type(exc).__name__}: {_one_line(exc)}"


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()).rstrip(".")
