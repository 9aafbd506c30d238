"""MEA recordings as Neurodata Without Borders (NWB) files, the field's format for electrophysiology.

Needs the optional package pynwb (``pip install 'wavesim[nwb]'``). A recording
is written as:

* one ``Device`` and one ``ElectrodeGroup`` named ``array``, whose
  description is the array's layout name (``MEARecording.array_name``);
* one row of the ``electrodes`` table per channel, its position on the array
  in ``rel_x``, ``rel_y`` (um, stored as float32 as the schema asks);
* one row of the ``units`` table per channel: its spike times (s) in
  ``spike_times``, its electrode in ``electrodes`` and the recording's
  span, 0 to ``duration_s``, in ``obs_intervals``;
* the age in postnatal days as the subject's ISO 8601 age (``P5D``), and the
  remaining metadata as JSON in ``notes``.

:func:`load_nwb` reads such a file, and any NWB file whose units carry spike
times and an electrode with ``rel_x``/``rel_y`` (else ``x``/``y``) positions.
"""

from __future__ import annotations

import datetime
import json
import os
import re
import uuid
from pathlib import Path

import numpy as np

from wavesim.errors import MissingDependencyError, RecordingFormatError, RecordingNotFoundError
from wavesim.io.recordings import MEARecording, _json_ready

__all__ = ["load_nwb", "write_nwb"]

_AGE = re.compile(r"^P(\d+(?:\.\d+)?)D$")
_GROUP = "array"


def _pynwb():
    try:
        import pynwb
    except ImportError:
        raise MissingDependencyError(
            "reading and writing NWB files needs pynwb: pip install 'wavesim[nwb]' (or pip install pynwb)."
        ) from None
    return pynwb


def write_nwb(recording: MEARecording, path, *, session_description: str | None = None,
              session_start_time: datetime.datetime | None = None) -> Path:
    """Write an MEA recording as an NWB file.

    The file is written beside ``path`` and renamed into place, so a failed
    write leaves no file behind.

    Parameters
    ----------
    recording : MEARecording
    path : str or Path
        The ``.nwb`` file; replaced if it exists.
    session_description : str, optional
        Default: the array name and the recording's source.
    session_start_time : datetime, optional
        With a time zone; default now (UTC).

    Returns
    -------
    Path

    Raises
    ------
    MissingDependencyError
        If pynwb is not installed.
    """
    pynwb = _pynwb()
    from pynwb.file import Subject

    path = Path(path)
    start = session_start_time or datetime.datetime.now(datetime.timezone.utc)
    description = session_description or (
        f"{recording.array_name} recording" + (f" from {recording.source.name}" if recording.source else "")
    )
    metadata = {k: v for k, v in recording.metadata.items() if k != "channel_names"}
    nwb = pynwb.NWBFile(session_description=description, identifier=str(uuid.uuid4()), session_start_time=start,
                        notes=json.dumps(_json_ready(metadata)))
    device = nwb.create_device(name=_GROUP, description=recording.array_name)
    group = nwb.create_electrode_group(name=_GROUP, description=recording.array_name, location="retina",
                                       device=device)
    for x_um, y_um in recording.positions_um:
        nwb.add_electrode(group=group, location="retina", rel_x=float(x_um), rel_y=float(y_um))
    names = recording.metadata.get("channel_names")
    named = names is not None and len(names) == recording.n_channels
    if named:
        nwb.add_unit_column(name="channel_name", description="the channel's name in the source recording")
    for i, train in enumerate(recording.spike_times_s):
        nwb.add_unit(spike_times=train, electrodes=[i], obs_intervals=[[0.0, recording.duration_s]],
                     **({"channel_name": str(names[i])} if named else {}))
    if recording.age is not None:
        nwb.subject = Subject(age=f"P{recording.age:g}D",
                              species=str(metadata["species"]) if "species" in metadata else None,
                              genotype=str(metadata["genotype"]) if "genotype" in metadata else None)
    tmp = path.parent / f".{path.stem}.writing-{os.getpid()}.nwb"  # pynwb warns about other suffixes
    try:
        with pynwb.NWBHDF5IO(str(tmp), "w") as io:
            io.write(nwb)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def _fail(path: Path, problem: str) -> RecordingFormatError:
    return RecordingFormatError(f"{path}: {problem}")


def load_nwb(path) -> MEARecording:
    """Load the spike trains of an NWB file as an MEA recording.

    Parameters
    ----------
    path : str or Path
        An NWB file with a ``units`` table of spike times, each unit linked
        to a row of the ``electrodes`` table with its position (``rel_x``,
        ``rel_y`` in um, else ``x``, ``y``).

    Returns
    -------
    MEARecording
        One channel per unit; ``array_name`` from the electrode group's
        description; age from the subject's ISO 8601 age in days (``P5D``);
        duration from the units' observation intervals (else the span of the
        spikes); the metadata that :func:`write_nwb` put in ``notes``.

    Raises
    ------
    MissingDependencyError
        If pynwb is not installed.
    RecordingNotFoundError
        If ``path`` does not exist.
    RecordingFormatError
        If the file is not NWB or lacks units, spike times or electrode positions.
    """
    path = Path(path)
    if not path.is_file():
        raise RecordingNotFoundError(f"{path}: no such recording file")
    pynwb = _pynwb()
    try:
        io = pynwb.NWBHDF5IO(str(path), "r")
    except Exception as exc:  # h5py and hdmf raise many types for foreign or damaged files
        raise _fail(path, f"not a readable NWB file: {exc}") from None
    with io:
        try:
            nwb = io.read()
        except Exception as exc:  # as above
            raise _fail(path, f"not a readable NWB file: {exc}") from None
        units = nwb.units
        if units is None or "spike_times" not in units.colnames:
            raise _fail(path, "has no units table with spike times")
        if "electrodes" not in units.colnames or nwb.electrodes is None:
            raise _fail(path, "its units are not linked to electrodes, so their positions are unknown")
        columns = nwb.electrodes.colnames
        x, y = ("rel_x", "rel_y") if "rel_x" in columns else ("x", "y")
        if x not in columns or y not in columns:
            raise _fail(path, "its electrodes table has neither rel_x/rel_y nor x/y positions")
        electrode_x = np.asarray(nwb.electrodes[x].data[:], dtype=float)
        electrode_y = np.asarray(nwb.electrodes[y].data[:], dtype=float)
        ends = np.asarray(units["electrodes"].data[:])
        targets = np.asarray(units["electrodes"].target.data[:])
        starts = np.r_[0, ends[:-1]]
        if np.any(ends <= starts):
            raise _fail(path, "a unit has no electrode, so its position is unknown")
        electrode = targets[starts]  # a unit's first electrode
        trains = tuple(np.asarray(units.get_unit_spike_times(i), dtype=float) for i in range(len(units)))
        duration = None
        if "obs_intervals" in units.colnames:
            duration = max(float(np.max(units.get_unit_obs_intervals(i), initial=0.0)) for i in range(len(units)))
        if not duration:
            nonempty = [t for t in trains if t.size]
            duration = (max(t[-1] for t in nonempty) - min(t[0] for t in nonempty)) if nonempty else 0.0
        if not duration > 0:
            raise _fail(path, "its recording span is unknown: no observation intervals and no spikes")
        group = nwb.electrode_groups.get(_GROUP) or next(iter(nwb.electrode_groups.values()), None)
        array_name = group.description if group is not None and group.description else "unknown"
        age = None
        if nwb.subject is not None and nwb.subject.age:
            match = _AGE.match(nwb.subject.age)
            age = float(match.group(1)) if match else None
        try:
            metadata = json.loads(nwb.notes) if nwb.notes else {}
        except ValueError:  # notes of another tool: kept as text
            metadata = None
        if not isinstance(metadata, dict):
            metadata = {"notes": nwb.notes}
        if "channel_name" in units.colnames:
            metadata["channel_names"] = [str(n) for n in units["channel_name"].data[:]]
    return MEARecording(
        spike_times_s=trains,
        positions_um=np.column_stack([electrode_x[electrode], electrode_y[electrode]]),
        array_name=array_name,
        age=age,
        duration_s=duration,
        metadata=metadata,
        source=path,
    )
