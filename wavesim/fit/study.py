"""The Optuna study of a fit: storage, creation and checks, stale trials, heartbeats.

A study lives in a journal file (several processes on one machine, with
file locks) or a relational database (``sqlite:///...``,
``postgresql://...``: several machines). :func:`open_study` creates or
loads it, refuses one made for another fit, and names its objective
(``distance``) for optuna-dashboard.

A process beats a heartbeat into each trial it evaluates (the user
attribute :data:`HEARTBEAT_ATTR`). A trial left running by a dead process
is failed and its parameters are enqueued again (:func:`fail_stale_trials`):
on this machine when its process is gone, on another machine when its
heartbeat is older than ``stale_after_s``.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import warnings
from pathlib import Path
from typing import Any, Mapping

from ..errors import ParameterError

__all__ = ["HEARTBEAT_ATTR", "Heartbeat", "METRIC_NAME", "ORDER_ATTR", "RETRY_ATTR", "START_ATTR",
           "fail_stale_trials", "open_study", "order_of", "worker_id"]

_CONFIG_ATTR = "wavesim_fit_config"
#: The name of the study's objective, shown by optuna-dashboard.
METRIC_NAME = "distance"
#: User attribute marking the trial that evaluates the starting point.
START_ATTR = "start"
#: User attribute: when the process evaluating a trial last showed it was alive (Unix time, s).
HEARTBEAT_ATTR = "heartbeat_unix_s"
#: User attribute of a retried trial: the number of the stale trial it repeats.
RETRY_ATTR = "retry_of"
#: User attribute of a retried trial: its place in the order the pruner compares trials in (that of the
#: first trial it retries).
ORDER_ATTR = "order"


def order_of(trial) -> int:
    """A trial's place in the order the pruner compares trials in: its number, or that of the trial it retries."""
    return int(trial.user_attrs.get(ORDER_ATTR, trial.number))


def _storage(storage: str | Path):
    """A journal file (several processes on one machine) or an RDB URL (several machines)."""
    from optuna.storages.journal import JournalFileBackend, JournalStorage

    text = str(storage)
    if "://" in text:
        return _rdb_storage(text)
    Path(text).parent.mkdir(parents=True, exist_ok=True)
    return JournalStorage(JournalFileBackend(text))


def _rdb_storage(url: str, attempts: int = 5):
    """Optuna's RDB storage at ``url``; workers that create a new database at the same moment retry.

    Two processes that find the database empty both write its schema and
    one of them fails (a unique-key error, or a table that already exists);
    a moment later the schema is there and loading it succeeds. SQLite
    waits up to a minute for another writer's lock instead of failing at once.
    """
    import optuna
    import sqlalchemy.exc

    def unopenable(exc):
        return ParameterError(f"--storage {url}: cannot open the database ({type(exc).__name__}: "
                              f"{str(exc).splitlines()[0]}).")

    sqlite = url.startswith("sqlite")
    engine_kwargs = {"connect_args": {"timeout": 60}} if sqlite else {}
    for attempt in range(attempts):
        try:
            storage = optuna.storages.RDBStorage(url, engine_kwargs=engine_kwargs)
            if sqlite:
                _lock_sqlite_transactions(storage.engine)
            return storage
        except (sqlalchemy.exc.IntegrityError, sqlalchemy.exc.OperationalError) as exc:
            # A schema race shows as a unique-key error or "table ... already exists"; an unopenable database
            # fails every attempt the same way.
            if attempt == attempts - 1:
                raise unopenable(exc) from None
            time.sleep(0.2 * (attempt + 1))
        except (sqlalchemy.exc.ArgumentError, ImportError) as exc:
            raise unopenable(exc) from None


def _lock_sqlite_transactions(engine) -> None:
    """Make every transaction on a SQLite study take the write lock when it begins.

    SQLite ignores the ``SELECT ... FOR UPDATE`` with which Optuna claims a
    waiting trial, and Python's sqlite3 begins a transaction only at its
    first write, so two processes could both read a trial as waiting and
    both run it (optuna/optuna#4621). ``BEGIN IMMEDIATE`` serialises the
    read and the write of each claim; study transactions are short.
    """
    from sqlalchemy import event

    @event.listens_for(engine, "connect")
    def _no_implicit_begin(dbapi_connection, connection_record):
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin_immediate(connection):
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    engine.dispose()  # connections opened before the listeners would still begin lazily


def open_study(storage: str | Path, study_name: str, config: Mapping[str, Any], sampler, pruner=None):
    """Create or load a study, checking that it was made for the same fit.

    Parameters
    ----------
    storage : str or Path
        A journal file path, or a database URL.
    study_name : str
    config : mapping
        Everything that defines the fit, JSON-ready; stored with a new study, compared with an existing one's.
    sampler, pruner : Optuna sampler and pruner of this process
        (None: Optuna's defaults.)

    Raises
    ------
    ParameterError
        If the study exists with another recording, ranges or objective.
    """
    import optuna

    study = optuna.create_study(storage=_storage(storage), study_name=study_name, sampler=sampler, pruner=pruner,
                                direction="minimize", load_if_exists=True)
    if study.metric_names != [METRIC_NAME]:
        with warnings.catch_warnings():  # experimental since Optuna 3.2; the dashboard's name for the objective
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            study.set_metric_names([METRIC_NAME])
    wanted = json.loads(json.dumps(config))
    stored = study.user_attrs.get(_CONFIG_ATTR)
    if stored is None:
        study.set_user_attr(_CONFIG_ATTR, wanted)
    elif stored != wanted:
        differ = sorted(k for k in set(stored) | set(wanted) if stored.get(k) != wanted.get(k))
        raise ParameterError(
            f"study {study_name!r} in {storage} was made for another fit (differs in {differ}); "
            f"use another --study-name or storage, or the same settings."
        )
    return study


def worker_id() -> str:
    """This process, as ``host:pid`` (the ``worker`` user attribute of the trials it evaluates)."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _is_stale(trial, host: str, me: str, now_s: float, stale_after_s: float) -> bool:
    """Whether a running trial's process is dead: by its pid on this machine, else by its heartbeat's age."""
    worker = trial.user_attrs.get("worker", "")
    if worker == me:
        return False
    w_host, _, w_pid = worker.rpartition(":")
    if w_host == host and w_pid.isdigit():
        return not _pid_alive(int(w_pid))
    beat = trial.user_attrs.get(HEARTBEAT_ATTR)
    if beat is None:  # asked but not yet claimed, or by a process without heartbeats: its start time counts
        beat = trial.datetime_start.timestamp() if trial.datetime_start else 0.0
    return now_s - float(beat) > stale_after_s


def fail_stale_trials(study, stale_after_s: float) -> int:
    """Fail the trials left running by dead workers and enqueue their parameters again; return how many.

    A trial of this machine is stale when its process is gone; one of
    another machine when its heartbeat (or, without one, its start) is more
    than ``stale_after_s`` old. A stale trial keeps its ``worker`` user
    attribute and, unlike a surplus trial, has no ``surplus`` one. Its retry
    carries ``retry_of`` (and ``start`` if it was the start), and only the
    process whose call failed the trial enqueues it, so each stale trial is
    retried once.

    Parameters
    ----------
    study : optuna.Study
    stale_after_s : float (s)
        Age of the last heartbeat after which a running trial of another
        machine counts as abandoned.

    Returns
    -------
    int
        Trials failed here; one that another process, resuming at the same
        moment, failed first is not counted.
    """
    from optuna.trial import TrialState

    host, me, now_s = socket.gethostname(), worker_id(), time.time()
    failed = 0
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        if not _is_stale(t, host, me, now_s, stale_after_s):
            continue
        # tell reads the trial afresh: ValueError if another process already finished it,
        # RuntimeError (Optuna >= 4.3: its subclass UpdateFinishedTrialError) if it did so between that read and
        # the write
        try:
            study.tell(t.number, state=TrialState.FAIL)
        except (ValueError, RuntimeError):
            continue
        failed += 1
        if t.params:
            attrs = {RETRY_ATTR: t.number, ORDER_ATTR: order_of(t),
                     **({START_ATTR: True} if t.user_attrs.get(START_ATTR) else {})}
            study.enqueue_trial(dict(t.params), user_attrs=attrs)
    return failed


class Heartbeat:
    """Renews the heartbeat of the trials this process evaluates, from a background thread."""

    def __init__(self, interval_s: float):
        self.interval_s = interval_s
        self._trials: list = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="wavesim-fit-heartbeat", daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def beat(self, trials) -> None:
        """Beat now for ``trials`` and keep beating for them until the next call."""
        with self._lock:
            self._trials = list(trials)
            self._beat()

    def _beat(self) -> None:
        for trial in self._trials:
            try:
                trial.set_user_attr(HEARTBEAT_ATTR, time.time())
            except RuntimeError:  # UpdateFinishedTrialError since Optuna 4.3
                pass  # told already: nothing to keep alive

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            with self._lock:
                self._beat()

