"""The sweep's table: one row per point, written atomically after every batch, read back to resume.

Files in the output folder:

``sweep.csv``
    The table (``point``, the swept parameters, the mean and sd over
    retinas of each statistic, and the distance to a recording where one
    was given). Floats are written with Python's ``repr``, so they read back
    bit for bit; an undefined value (e.g. the speed of a retina without
    waves) is an empty cell.
``sweep.parquet``
    The same table, where pyarrow is importable.
``sweep.json``
    The design, the settings that define the sweep (``identity``), each
    column's unit and meaning, the runs that filled the table, and provenance.
``sweep.lock``
    Present while a process fills the table (its pid and host).

Each file is replaced whole through a temporary file and ``os.replace``, so
a killed sweep leaves the previous complete table, never half a row.
"""

from __future__ import annotations

import contextlib
import csv
import datetime
import io
import json
import math
import os
import socket
from pathlib import Path
from typing import Any, Mapping, Sequence

from ..errors import ParameterError, WavesimError

CSV_NAME, PARQUET_NAME, JSON_NAME, LOCK_NAME = "sweep.csv", "sweep.parquet", "sweep.json", "sweep.lock"

#: Summary statistics in the table: (name, unit, meaning); each gets ``_mean`` and ``_sd`` columns.
STATISTICS: tuple[tuple[str, str, str], ...] = (
    ("n_waves", "1", "waves detected in the movie"),
    ("wave_frequency_per_min", "1/min", "waves per minute over the whole retina"),
    ("mean_iwi_s", "s", "mean inter-wave interval at a pixel"),
    ("median_iwi_s", "s", "median inter-wave interval at a pixel"),
    ("sd_iwi_s", "s", "sd of the inter-wave intervals at a pixel"),
    ("mean_wave_duration_s", "s", "mean wave duration"),
    ("mean_speed_um_per_s", "um/s", "mean wave speed"),
    ("median_speed_um_per_s", "um/s", "median wave speed"),
    ("n_waves_with_speed", "1", "waves with a measured speed"),
    ("mean_size_fraction", "1", "mean wave size, fraction of the pixels"),
    ("participation_fraction", "1", "fraction of the pixels in any wave"),
    ("fraction_bursts_in_waves", "1", "fraction of pixel bursts that belong to a wave"),
    ("direction_bias", "1", "length of the mean direction vector of the waves (0: isotropic, 1: one direction)"),
    ("ci_closest", "1", "correlation index of the nearest electrode pairs of the virtual grid"),
    ("sttc_closest", "1", "spike time tiling coefficient of the nearest electrode pairs"),
)
STATISTIC_NAMES = tuple(s[0] for s in STATISTICS)


class SweepMismatchError(WavesimError, ValueError):
    """An output folder holds a sweep of another design or other settings than the one asked for."""


class SweepLockedError(WavesimError, RuntimeError):
    """Another process is filling the sweep's table."""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    return True


@contextlib.contextmanager
def sweep_lock(out: Path):
    """Hold ``out/sweep.lock`` while filling the table, so that two processes never rewrite it from different rows.

    A lock left by a process of this machine that no longer runs is taken over.

    Raises
    ------
    SweepLockedError
        If another live process (or one on another machine) holds it.
    """
    path = out / LOCK_NAME
    me = {"pid": os.getpid(), "host": socket.gethostname(),
          "since": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
    for _ in range(2):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            try:
                holder = json.loads(path.read_text())
                pid, host = int(holder["pid"]), str(holder["host"])
            except (OSError, ValueError, KeyError, TypeError):
                holder, pid, host = {}, None, "?"
            if pid is not None and host == me["host"] and not _alive(pid):
                path.unlink(missing_ok=True)  # its process died without releasing it
                continue
            raise SweepLockedError(
                f"{out} is being filled by process {pid} on {host} (since {holder.get('since', '?')}); wait for it "
                f"to finish, or delete {path} if that process no longer runs.") from None
        with os.fdopen(fd, "w") as f:
            json.dump(me, f)
        break
    else:
        raise SweepLockedError(f"could not take {path}; another process keeps taking it.")
    try:
        yield
    finally:
        path.unlink(missing_ok=True)


def columns(parameters: Sequence[str], distance_terms: Sequence[str] | None) -> list[str]:
    """The table's columns, in order."""
    out = ["point", *parameters]
    for name in STATISTIC_NAMES:
        out += [f"{name}_mean", f"{name}_sd"]
    out.append("n_retinas_with_waves")
    if distance_terms is not None:
        out += ["distance", "distance_sem", *(f"distance_{t}" for t in distance_terms)]
    return out


def column_docs(parameters: Mapping[str, Mapping[str, Any]], distance_terms: Sequence[str] | None) -> dict:
    """``{column: {"unit", "doc"}}`` for sweep.json; ``parameters`` maps each swept name to its field spec."""
    docs = {"point": {"unit": "", "doc": "index of the point in the design"}}
    for name, spec in parameters.items():
        docs[name] = {"unit": spec.get("unit", ""), "doc": spec.get("doc", "")}
    for name, unit, doc in STATISTICS:
        docs[f"{name}_mean"] = {"unit": unit, "doc": f"{doc}: mean over the retinas where it is defined"}
        docs[f"{name}_sd"] = {"unit": unit, "doc": f"{doc}: sd over those retinas (ddof 1; empty with fewer than 2)"}
    docs["n_retinas_with_waves"] = {"unit": "1", "doc": "retinas of the point with at least one wave"}
    if distance_terms is not None:
        docs["distance"] = {"unit": "1", "doc": "distance to the recording (wavesim fit's objective), mean over "
                                                 "retinas"}
        docs["distance_sem"] = {"unit": "1", "doc": "standard error of that mean"}
        for t in distance_terms:
            docs[f"distance_{t}"] = {"unit": "1", "doc": f"term {t!r} of the distance, mean over retinas"}
    return docs


def _format(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        raise TypeError("booleans have no column in a sweep table")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else ""
    return str(value)


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def write_csv(path: Path, header: Sequence[str], rows: Sequence[Mapping[str, Any]]) -> None:
    """Write the whole table to ``path`` atomically."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([_format(row[c]) for c in header])
    _write_atomic(path, text.getvalue().encode())


def write_parquet(path: Path, header: Sequence[str], rows: Sequence[Mapping[str, Any]]) -> bool:
    """Write the table as Parquet atomically; False (nothing written) where pyarrow is not importable."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        return False
    table = pa.table({c: [row[c] for row in rows] for c in header})
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    pq.write_table(table, tmp)
    os.replace(tmp, path)
    return True


def write_json(path: Path, document: Mapping[str, Any]) -> None:
    """Write sweep.json atomically (nan as null)."""
    _write_atomic(path, (json.dumps(_clean(document), indent=1) + "\n").encode())


def _clean(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def normalise(document: Any) -> Any:
    """``document`` as it reads back from JSON (tuples as lists, nan as None), for comparisons."""
    return json.loads(json.dumps(_clean(document)))


def first_difference(old: Any, new: Any, path: str = "") -> tuple[str, Any, Any] | None:
    """The first place two JSON-like values differ: (dotted path, old, new), or None if equal."""
    if isinstance(old, dict) and isinstance(new, dict):
        for key in list(old) + [k for k in new if k not in old]:
            if key not in old or key not in new:
                return f"{path}{key}", old.get(key, "(absent)"), new.get(key, "(absent)")
            found = first_difference(old[key], new[key], f"{path}{key}.")
            if found:
                return found
        return None
    if isinstance(old, list) and isinstance(new, list):
        if len(old) != len(new):
            return f"{path.rstrip('.')} (length)", len(old), len(new)
        for i, (a, b) in enumerate(zip(old, new)):
            found = first_difference(a, b, f"{path}{i}.")
            if found:
                return found
        return None
    return None if old == new else (path.rstrip("."), old, new)


def _short(value, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def check_identity(path: Path, stored: Mapping[str, Any], wanted: Mapping[str, Any]) -> None:
    """Raise SweepMismatchError, naming the first difference, unless the stored identity equals the wanted one."""
    found = first_difference(stored, normalise(wanted))
    if found:
        where, old, new = found
        raise SweepMismatchError(
            f"{path} holds a sweep of another design or settings ({where}: {_short(old)} there, {_short(new)} now); "
            f"rerun with the arguments it was started with, give another output folder, or overwrite it."
        )


def read_csv(path: Path, header: Sequence[str], kinds: Mapping[str, str]) -> list[dict[str, Any]]:
    """Read a table :func:`write_csv` wrote; ``kinds`` maps columns to ``int``, ``str`` (others are floats).

    Raises
    ------
    SweepMismatchError
        If the columns differ from ``header`` or a cell cannot be read.
    """
    with open(path, newline="") as f:
        reader = csv.reader(f)
        found = next(reader, None)
        if found is None:
            return []
        if list(found) != list(header):
            missing = [c for c in header if c not in found]
            extra = [c for c in found if c not in header]
            raise SweepMismatchError(f"{path} has other columns than this sweep makes (missing {missing}, extra "
                                     f"{extra}); give another output folder, or overwrite it.")
        rows = []
        for line_number, cells in enumerate(reader, start=2):
            if len(cells) != len(header):
                raise SweepMismatchError(f"{path} line {line_number} has {len(cells)} cells, not {len(header)}; "
                                         f"the table is damaged: overwrite it.")
            row = {}
            for column, cell in zip(header, cells):
                kind = kinds.get(column, "float")
                try:
                    if kind == "str":
                        row[column] = cell
                    elif kind == "int":
                        row[column] = int(cell)
                    else:
                        row[column] = float(cell) if cell else math.nan
                except ValueError:
                    raise SweepMismatchError(f"{path} line {line_number}: column {column} holds {cell!r}, not "
                                             f"a number; the table is damaged: overwrite it.") from None
            rows.append(row)
    return rows


def check_output_folder_free(out: Path) -> None:
    """Refuse a folder that holds a table without its sweep.json (not a sweep this module wrote)."""
    if (out / CSV_NAME).exists() and not (out / JSON_NAME).exists():
        raise ParameterError(f"{out / CSV_NAME} exists without {JSON_NAME}: it is not a sweep to resume; give another "
                             f"output folder, or overwrite it.")
