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

The files pass nwbinspector with nothing above a best-practice suggestion:
the subject has an id (the source file's name), a sex (``U``, unknown,
which the repository's files do not record) and its species in Latin
(``mouse`` is ``Mus musculus``); the units table states the resolution of
the spike times (:func:`spike_time_resolution_s`); and a virtual recording of a simulated movie carries the
store's provenance (model, parameters, seed, movie, wavesim version and
command line: ``data_collection`` in words, ``notes`` as JSON), a subject
that says it is a simulated retina, and the store's creation time as its
session start. A recording whose date its file does not give starts at
1970-01-01 (the Unix epoch, which nwbinspector flags as possibly not the
true date), never at the time of the export.

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
from wavesim.io.json_values import json_ready
from wavesim.io.recordings import MEARecording

__all__ = ["SPECIES", "UNKNOWN_START", "load_nwb", "spike_time_resolution_s", "write_nwb"]

_AGE = re.compile(r"^P(\d+(?:\.\d+)?)D$")
_GROUP = "array"
#: A session whose date is unknown starts here (nwbinspector: "may not be set to the true date").
UNKNOWN_START = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
#: Latin names (or NCBI taxonomy links, for a subspecies) of the common names recordings and presets use.
SPECIES = {
    "mouse": "Mus musculus",
    "rat": "Rattus norvegicus",
    "rabbit": "Oryctolagus cuniculus",
    "chick": "Gallus gallus",
    "chicken": "Gallus gallus",
    "ferret": "http://purl.obolibrary.org/obo/NCBITaxon_9669",  # Mustela putorius furo
    "turtle": "Trachemys scripta",
    "macaque": "Macaca mulatta",
    "human": "Homo sapiens",
}


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
        A virtual recording of a stored movie carries the store's provenance
        in ``metadata["simulation"]`` (as ``wavesim stats --export-electrodes``
        writes it).
    path : str or Path
        The ``.nwb`` file; replaced if it exists.
    session_description : str, optional
        Default: the array name and the recording's source.
    session_start_time : datetime, optional
        With a time zone. Default: ``metadata["session_start_time"]`` (ISO
        8601) where the recording has it, the store's creation time for a
        simulated one, else :data:`UNKNOWN_START` (1970-01-01).

    Returns
    -------
    Path

    Raises
    ------
    MissingDependencyError
        If pynwb is not installed.
    """
    pynwb = _pynwb()

    path = Path(path)
    simulation = recording.metadata.get("simulation")
    description = session_description or (
        f"{recording.array_name} recording" + (f" from {recording.source.name}" if recording.source else "")
        + (f" of movie {simulation['movie']} of the wavesim store {simulation['store']}" if simulation else "")
    )
    metadata = {k: v for k, v in recording.metadata.items() if k != "channel_names"}
    nwb = pynwb.NWBFile(session_description=description, identifier=str(uuid.uuid4()),
                        session_start_time=session_start_time or _session_start(recording),
                        notes=json.dumps(json_ready(metadata)), **_simulation_fields(simulation))
    device = nwb.create_device(name=_GROUP, description=recording.array_name)
    group = nwb.create_electrode_group(name=_GROUP, description=recording.array_name, location="retina",
                                       device=device)
    for x_um, y_um in recording.positions_um:
        nwb.add_electrode(group=group, location="retina", rel_x=float(x_um), rel_y=float(y_um))
    names = recording.metadata.get("channel_names")
    named = names is not None and len(names) == recording.n_channels
    nwb.units = pynwb.misc.Units(name="units", description="spike times of each electrode",
                                 resolution=spike_time_resolution_s(recording))
    if named:
        nwb.add_unit_column(name="channel_name", description="the channel's name in the source recording")
    for i, train in enumerate(recording.spike_times_s):
        nwb.add_unit(spike_times=train, electrodes=[i], obs_intervals=[[0.0, recording.duration_s]],
                     **({"channel_name": str(names[i])} if named else {}))
    nwb.subject = _subject(recording, simulation)
    tmp = path.parent / f".{path.stem}.writing-{os.getpid()}.nwb"  # pynwb warns about other suffixes
    try:
        with pynwb.NWBHDF5IO(str(tmp), "w") as io:
            io.write(nwb)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def spike_time_resolution_s(recording: MEARecording) -> float:
    """The smallest difference between two spike times the recording can hold, s (NWB's ``resolution``).

    The decimal step its spike times are stored with (0.1 ms in the
    Kirkby2013 files of the retinal wave repository), checked down to 1 us; spike times drawn at
    random (virtual electrodes) have none, and hold differences down to the
    spacing of float64 numbers at the recording's end (about 1e-13 s for
    1,000 s). A virtual recording's timing carries no information finer
    than a frame, which its ``metadata["virtual"]["frame_period_s"]`` states.
    """
    times = np.concatenate([np.asarray(t, dtype=float) for t in recording.spike_times_s])
    if times.size:
        for decimals in range(7):
            scaled = times * 10.0**decimals
            if np.allclose(scaled, np.rint(scaled), rtol=0, atol=1e-6):
                return 10.0**-decimals
    return float(np.spacing(max(recording.duration_s, 1.0)))


def _session_start(recording: MEARecording) -> datetime.datetime:
    given = recording.metadata.get("session_start_time") or (recording.metadata.get("simulation") or {}).get(
        "created_utc")
    if given:
        start = datetime.datetime.fromisoformat(str(given))
        return start if start.tzinfo else start.replace(tzinfo=datetime.timezone.utc)
    return UNKNOWN_START


def _species(name) -> str | None:
    return None if name is None else SPECIES.get(str(name).strip().lower(), str(name))


def _subject(recording: MEARecording, simulation: dict | None):
    """The subject: the animal a recording came from, or the simulated retina of a virtual recording."""
    from pynwb.file import Subject

    metadata = recording.metadata
    if simulation is not None:
        species = _species(simulation.get("species"))
        preset = simulation.get("preset")
        made_from = f"the {preset} preset's parameters" if preset else "parameters of no preset"
        return Subject(
            subject_id=str(simulation["session_id"]), species=species, sex="U", age="P0D/",
            description=(f"a retina simulated by wavesim (model {simulation.get('model')}, {made_from}), not an "
                         f"animal; species: {'that whose waves the preset models' if species else 'none'}; "
                         f"age: unknown"),
        )
    age = f"P{recording.age:g}D" if recording.age is not None else "P0D/"  # P0D/: any age, unknown
    source = recording.source.stem if recording.source is not None else recording.array_name
    return Subject(subject_id=str(metadata.get("subject_id", source)).replace("/", "-"),
                   species=_species(metadata.get("species")), genotype=_text(metadata.get("genotype")),
                   sex=str(metadata.get("sex", "U")), age=age,
                   description=None if recording.age is not None else "age unknown")


def _text(value) -> str | None:
    return None if value is None else str(value)


def _simulation_fields(simulation: dict | None) -> dict:
    """NWBFile fields that describe a simulated recording's provenance, in words."""
    from ..generate import _plain

    if simulation is None:
        return {}

    def listed(section: str) -> str:
        return ", ".join(f"{name} = {_plain(v)}" for name, v in (simulation.get(section) or {}).items())

    return {
        "session_id": str(simulation["session_id"]),
        "experiment_description": "Virtual multielectrode-array recording of a simulated developmental retinal wave "
                                  "movie: electrodes on a grid fire while their pixel is active.",
        "data_collection": (
            f"Simulated by wavesim {simulation.get('wavesim_version')}: model {simulation.get('model')} "
            f"({listed('parameters')}); movie {simulation['movie']} of the store {simulation['store']} (dataset seed "
            f"{simulation.get('seed')}, movie seed {simulation.get('movie_seed')}); retina: {listed('retina')}; "
            f"readout: {listed('readout')}; timing: {listed('timing')}; made by "
            f"{' '.join(simulation.get('command_line') or [])!r}. The full provenance is in notes (JSON)."
        ),
        "keywords": ["retinal waves", "simulation", "wavesim", str(simulation.get("model"))],
    }


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
