"""Loading real recordings of retinal waves, and writing MEA recordings.

Two kinds of recording are read:

* multielectrode-array (MEA) spike trains in the HDF5 layout of the retinal
  wave repository of Eglen et al. (2014, GigaScience 3:3): ``spikes`` (all
  spike times in s, grouped by channel), ``sCount`` (spikes per channel),
  ``epos`` (electrode positions in um, 2 x channels), ``array`` (layout name)
  and optional ``meta/*``, ``summary/*`` and ``names`` fields; or as NWB
  files (:mod:`wavesim.io.nwb`, needs pynwb);
* calcium-imaging (or simulated) movies given as an array or as a ``.npy``,
  ``.tif``/``.tiff`` or zarr file.

Both loaders validate what they read and raise
:class:`wavesim.errors.RecordingFormatError` naming the file and the field
when something is missing or malformed. :func:`write_recording` writes an
MEA recording (e.g. virtual electrodes on a simulated movie) in either MEA
format, so that other tools, and :func:`load_recording`, read it back.
"""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy.spatial import cKDTree

from wavesim.errors import ParameterError, RecordingFormatError, RecordingNotFoundError
from wavesim.io.json_values import json_ready

__all__ = ["MEARecording", "Movie", "load_recording", "load_movie", "median_pitch_um", "write_recording"]

_REQUIRED_FIELDS = ("spikes", "sCount", "epos", "array")
#: Suffixes of the MEA files :func:`load_recording` reads and :func:`write_recording` writes.
RECORDING_SUFFIXES = (".h5", ".hdf5", ".nwb")
_MOVIE_SUFFIXES = (".npy", ".tif", ".tiff", ".zarr")
_AGE_TEXT = re.compile(r"^\s*[Pp]?\s*(\d+(?:\.\d+)?)\s*$")


def median_pitch_um(positions_um: np.ndarray) -> float:
    """Median distance from each electrode to its nearest other electrode.

    Channels that share a position (several sorted units on one electrode)
    count as one electrode.

    Parameters
    ----------
    positions_um : ndarray, shape (n, 2)
        Electrode (or site) positions in micrometres.

    Returns
    -------
    float
        The typical electrode spacing in um; ``nan`` for fewer than two
        distinct positions.
    """
    positions_um = np.unique(np.asarray(positions_um, dtype=float).reshape(-1, 2), axis=0)
    if len(positions_um) < 2:
        return math.nan
    distances_um, _ = cKDTree(positions_um).query(positions_um, k=2)
    return float(np.median(distances_um[:, 1]))


@dataclass(frozen=True, eq=False)
class MEARecording:
    """Spike trains of one multielectrode-array recording.

    Parameters
    ----------
    spike_times_s : sequence of ndarray
        One sorted 1-D float array of spike times in seconds per channel.
    positions_um : ndarray, shape (n_channels, 2)
        Electrode x and y positions in micrometres.
    array_name : str
        Array layout as written in the file, e.g. ``"MCS_8x8_100um"``.
    age : float or None
        Postnatal age in days, or None when the file does not say.
    duration_s : float
        Recording duration in seconds (``summary/duration``, else the span
        from the first to the last spike), > 0.
    metadata : dict
        Remaining fields: ``meta/*`` by name (``genotype``, ``cond``,
        ``species``, ``key``, ...), ``summary`` (a dict of ``summary/*``) and
        ``channel_names`` when the file has them.
    source : Path or None
        The file the recording came from; None for virtual recordings.
    """

    spike_times_s: tuple[np.ndarray, ...]
    positions_um: np.ndarray
    array_name: str
    age: float | None
    duration_s: float
    metadata: dict[str, Any] = field(default_factory=dict)
    source: Path | None = None

    def __post_init__(self) -> None:
        trains = tuple(np.sort(np.asarray(t, dtype=float).ravel()) for t in self.spike_times_s)
        positions_um = np.asarray(self.positions_um, dtype=float)
        if not trains:
            raise ParameterError("spike_times_s must hold at least one channel, got none")
        if positions_um.ndim != 2 or positions_um.shape != (len(trains), 2):
            raise ParameterError(
                f"positions_um must have shape (n_channels, 2) = ({len(trains)}, 2), "
                f"got {positions_um.shape}"
            )
        if not np.all(np.isfinite(positions_um)):
            raise ParameterError("positions_um must be finite")
        for i, train in enumerate(trains):
            if not np.all(np.isfinite(train)):
                raise ParameterError(f"spike_times_s[{i}] holds non-finite spike times")
        if not (math.isfinite(self.duration_s) and self.duration_s > 0):
            raise ParameterError(f"duration_s must be finite and > 0, got {self.duration_s!r}")
        for train in trains:
            train.setflags(write=False)
        positions_um.setflags(write=False)
        # frozen: assign the normalised values through object.__setattr__
        object.__setattr__(self, "spike_times_s", trains)
        object.__setattr__(self, "positions_um", positions_um)
        object.__setattr__(self, "duration_s", float(self.duration_s))

    @property
    def n_channels(self) -> int:
        """Number of channels (electrodes)."""
        return len(self.spike_times_s)

    @property
    def n_spikes(self) -> int:
        """Total number of spikes over all channels."""
        return int(sum(t.size for t in self.spike_times_s))

    @property
    def pitch_um(self) -> float:
        """Typical electrode spacing in um (median nearest-neighbour distance)."""
        return median_pitch_um(self.positions_um)

    @property
    def name(self) -> str:
        """A short label: the file stem, else the array name."""
        return self.source.stem if self.source is not None else self.array_name


@dataclass(frozen=True, eq=False)
class Movie:
    """A movie of activity on a regular pixel grid.

    Parameters
    ----------
    frames : ndarray, shape (T, H, W)
        Activity per frame and pixel: bool or 0/1 for a binary readout, or a
        graded signal (e.g. uint8 calcium, 0..255) to be thresholded.
    um_per_pixel : float
        Pixel size in micrometres, > 0.
    frame_period_s : float
        Time between frames in seconds, > 0.
    """

    frames: np.ndarray
    um_per_pixel: float
    frame_period_s: float

    def __post_init__(self) -> None:
        frames = np.asarray(self.frames)
        if frames.ndim != 3 or min(frames.shape) < 1:
            raise ParameterError(
                f"frames must be a non-empty array of shape (T, H, W), got shape {frames.shape}"
            )
        if not (frames.dtype == bool or np.issubdtype(frames.dtype, np.number)):
            raise ParameterError(f"frames must be boolean or numeric, got dtype {frames.dtype}")
        for name in ("um_per_pixel", "frame_period_s"):
            value = getattr(self, name)
            is_number = isinstance(value, (int, float, np.number)) and not isinstance(value, (bool, np.bool_))
            if not (is_number and math.isfinite(value) and value > 0):
                raise ParameterError(f"{name} must be a finite number > 0, got {value!r}")
            object.__setattr__(self, name, float(value))
        object.__setattr__(self, "frames", frames)

    @property
    def n_frames(self) -> int:
        """Number of frames T."""
        return int(self.frames.shape[0])

    @property
    def duration_s(self) -> float:
        """Movie duration in seconds (frames times frame period)."""
        return self.n_frames * self.frame_period_s


def _fail(path: Path, field_name: str, problem: str) -> RecordingFormatError:
    return RecordingFormatError(f"{path}: field '{field_name}' {problem}")


def _read_field(h5: Any, path: Path, name: str) -> np.ndarray:
    """Read dataset ``name``, turning h5py's errors into ones naming file and field."""
    import h5py

    try:
        node = h5[name]
    except KeyError:
        raise _fail(path, name, "is missing; is this a retinal wave repository HDF5 file?") from None
    if not isinstance(node, h5py.Dataset):
        raise _fail(path, name, f"is a {type(node).__name__}, expected a dataset")
    try:
        return np.asarray(node[()])
    except (OSError, RuntimeError, ValueError) as exc:
        raise _fail(path, name, f"cannot be read (truncated or corrupt file?): {exc}") from exc


def _decode(value: Any) -> Any:
    if isinstance(value, (bytes, np.bytes_)):
        return value.decode("utf-8", errors="replace").strip("\x00 ").strip()
    if isinstance(value, str):
        return value.strip("\x00 ").strip()
    if isinstance(value, np.generic):
        return value.item()
    return value


def _scalar(value: np.ndarray, path: Path, name: str) -> Any:
    """A scalar or one-element field as a Python scalar (bytes decoded to str)."""
    if value.size != 1:
        raise _fail(path, name, f"must be a scalar or a one-element array, got shape {value.shape}")
    return _decode(value.reshape(-1)[0])


def _plain(value: np.ndarray) -> Any:
    """An optional field as a Python scalar, str, list of str or float array."""
    if value.size == 1:
        return _decode(value.reshape(-1)[0])
    if value.dtype.kind in "SUO":
        return [_decode(v) for v in value.reshape(-1)]
    return value


def _age(value: Any, path: Path) -> float:
    if isinstance(value, str):
        match = _AGE_TEXT.match(value)
        if match is None:
            raise _fail(path, "meta/age", f"must be a number of postnatal days, got {value!r}")
        value = match.group(1)
    try:
        age = float(value)
    except (TypeError, ValueError):
        raise _fail(path, "meta/age", f"must be a number of postnatal days, got {value!r}") from None
    if not (math.isfinite(age) and age >= 0):
        raise _fail(path, "meta/age", f"must be finite and >= 0 days, got {age}")
    return age


def _positions(epos: np.ndarray, n_channels: int, path: Path) -> np.ndarray:
    if epos.dtype.kind not in "iuf":
        raise _fail(path, "epos", f"must be numeric, got dtype {epos.dtype}")
    if epos.shape == (2, n_channels):
        positions_um = epos.T
    elif epos.shape == (n_channels, 2):
        positions_um = epos
    else:
        raise _fail(path, "epos", f"must have shape (2, {n_channels}) (x and y per channel), got {epos.shape}")
    positions_um = np.ascontiguousarray(positions_um, dtype=float)
    if not np.all(np.isfinite(positions_um)):
        raise _fail(path, "epos", "holds non-finite positions")
    return positions_um


def _split_spikes(spikes: np.ndarray, counts: np.ndarray, path: Path) -> tuple[np.ndarray, ...]:
    if spikes.dtype.kind not in "iuf":
        raise _fail(path, "spikes", f"must be numeric spike times in s, got dtype {spikes.dtype}")
    spikes = spikes.astype(float).ravel()
    if not np.all(np.isfinite(spikes)):
        raise _fail(path, "spikes", "holds non-finite spike times")
    if counts.dtype.kind not in "iuf" or counts.ndim > 1:
        raise _fail(path, "sCount", f"must be a 1-D array of counts, got {counts.dtype} {counts.shape}")
    counts = counts.ravel()
    if np.any(counts < 0) or np.any(counts != np.round(counts)):
        raise _fail(path, "sCount", "must hold non-negative whole numbers")
    counts = counts.astype(np.int64)
    if counts.sum() != spikes.size:
        raise _fail(path, "sCount", f"sums to {counts.sum()} but 'spikes' holds {spikes.size} spike times")
    return tuple(np.split(spikes, np.cumsum(counts)[:-1]))


def load_recording(path: str | Path) -> MEARecording:
    """Load an MEA recording from a retinal wave repository HDF5 file, or from an NWB file.

    Accepts the variants found in the repository: fields stored as scalars
    or one-element arrays, strings as bytes or str, integer or float ages,
    and square or hexagonal arrays of any pitch (positions are taken from
    ``epos``, never inferred from the array name). A ``.nwb`` file is read
    by :func:`wavesim.io.nwb.load_nwb` (needs pynwb).

    Parameters
    ----------
    path : str or Path
        The ``.h5`` (or ``.nwb``) file.

    Returns
    -------
    MEARecording
        Spike trains split per channel by ``sCount``, positions in um,
        array name, age in days, duration in s and the remaining metadata.

    Raises
    ------
    RecordingNotFoundError
        If ``path`` does not exist.
    RecordingFormatError
        If the file is not HDF5, is truncated, or misses or has a malformed
        ``spikes``, ``sCount``, ``epos``, ``array``, ``meta/age`` or
        ``summary/duration`` field; the message names the file and field.
    """
    import h5py

    path = Path(path)
    if path.suffix.lower() == ".nwb":
        from wavesim.io.nwb import load_nwb

        return load_nwb(path)
    if not path.is_file():
        raise RecordingNotFoundError(f"{path}: no such recording file")
    try:
        h5 = h5py.File(path, "r")
    except OSError as exc:
        raise RecordingFormatError(
            f"{path}: not a readable HDF5 file (truncated or another format?): {exc}"
        ) from exc
    with h5:
        missing = [name for name in _REQUIRED_FIELDS if name not in h5]
        if missing:
            raise _fail(
                path, missing[0],
                f"is missing (required fields: {', '.join(_REQUIRED_FIELDS)}); "
                "is this a retinal wave repository HDF5 file?",
            )
        counts = _read_field(h5, path, "sCount")
        trains = _split_spikes(_read_field(h5, path, "spikes"), counts, path)
        positions_um = _positions(_read_field(h5, path, "epos"), len(trains), path)
        array_name = _scalar(_read_field(h5, path, "array"), path, "array")
        if not isinstance(array_name, str):
            raise _fail(path, "array", f"must be a string, got {array_name!r}")

        metadata: dict[str, Any] = {}
        age = None
        if isinstance(h5.get("meta"), h5py.Group):
            for name in h5["meta"]:
                value = _read_field(h5, path, f"meta/{name}")
                if name == "age":
                    age = _age(_scalar(value, path, "meta/age"), path)
                else:
                    metadata[name] = _plain(value)
        summary: dict[str, Any] = {}
        if isinstance(h5.get("summary"), h5py.Group):
            for name in h5["summary"]:
                summary[name] = _plain(_read_field(h5, path, f"summary/{name}"))
        if summary:
            metadata["summary"] = summary
        if "names" in h5:
            names = _plain(_read_field(h5, path, "names"))
            metadata["channel_names"] = names if isinstance(names, list) else [names]

        if "summary/duration" in h5:
            duration = _scalar(_read_field(h5, path, "summary/duration"), path, "summary/duration")
            if not (isinstance(duration, (int, float)) and math.isfinite(duration) and duration > 0):
                raise _fail(path, "summary/duration", f"must be a number of seconds > 0, got {duration!r}")
        else:
            nonempty = [t for t in trains if t.size]
            duration = (max(t[-1] for t in nonempty) - min(t[0] for t in nonempty)) if nonempty else 0.0
            if duration <= 0:
                raise _fail(path, "summary/duration", "is missing and the spikes span no time")
    return MEARecording(
        spike_times_s=trains,
        positions_um=positions_um,
        array_name=array_name,
        age=age,
        duration_s=float(duration),
        metadata=metadata,
        source=path,
    )


def write_recording(recording: MEARecording, path: str | Path) -> Path:
    """Write an MEA recording in the retinal wave repository's HDF5 layout, or as NWB (``.nwb``).

    HDF5 fields: ``spikes`` (float64, all spike times in s, channel after
    channel), ``sCount`` (int32, spikes per channel), ``epos`` (float64,
    2 x channels: x and y in um), ``array`` (the layout name),
    ``summary/duration`` (s), ``meta/age`` (postnatal days, where known),
    ``names`` (where ``metadata`` has ``channel_names``), and the other
    metadata as ``meta/NAME`` (``summary`` entries as ``summary/NAME``;
    nested tables as JSON text). :func:`load_recording` reads it back with
    the same spike times, positions and duration. The file is written
    beside ``path`` and renamed into place, so a failed write leaves no file.

    Parameters
    ----------
    recording : MEARecording
    path : str or Path
        ``.h5``/``.hdf5``, or ``.nwb`` for :func:`wavesim.io.nwb.write_nwb`
        (needs pynwb); replaced if it exists.

    Returns
    -------
    Path

    Raises
    ------
    ParameterError
        If the suffix is none of ``.h5``, ``.hdf5``, ``.nwb``.
    """
    import h5py

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in RECORDING_SUFFIXES:
        raise ParameterError(f"{path}: a recording file must end in {', '.join(RECORDING_SUFFIXES)}, "
                             f"got {suffix or 'no suffix'!r}.")
    if suffix == ".nwb":
        from wavesim.io.nwb import write_nwb

        return write_nwb(recording, path)
    trains = recording.spike_times_s
    tmp = path.parent / f".{path.name}.writing-{os.getpid()}"
    try:
        with h5py.File(tmp, "w") as h5:
            h5["spikes"] = np.concatenate(trains) if recording.n_spikes else np.zeros(0)
            h5["sCount"] = np.array([t.size for t in trains], dtype=np.int32)
            h5["epos"] = recording.positions_um.T
            h5["array"] = np.array([recording.array_name.encode()])
            h5["summary/duration"] = np.array([recording.duration_s])
            if recording.age is not None:
                h5["meta/age"] = np.array([recording.age])
            for name, value in recording.metadata.items():
                if name == "channel_names":
                    h5["names"] = np.array([str(n).encode() for n in value])
                elif name == "summary" and isinstance(value, dict):
                    for key, entry in value.items():
                        if key != "duration":
                            h5[f"summary/{key}"] = _h5_value(entry)
                elif value is not None:
                    h5[f"meta/{name}"] = _h5_value(value)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def _h5_value(value: Any) -> np.ndarray:
    """A metadata value as an HDF5 dataset: strings as bytes, tables as JSON text, as the repository stores them."""
    if isinstance(value, dict):
        return np.array([json.dumps(json_ready(value)).encode()])
    if isinstance(value, str):
        return np.array([value.encode()])
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, str) for v in value):
        return np.array([v.encode() for v in value])
    return np.atleast_1d(np.asarray(value))


def _read_movie_file(path: Path) -> np.ndarray:
    suffix = path.suffix.lower()
    if not path.exists():
        raise RecordingNotFoundError(f"{path}: no such movie file")
    if suffix == ".npy":
        try:
            return np.load(path, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise RecordingFormatError(f"{path}: not a readable .npy array: {exc}") from exc
    if suffix in (".tif", ".tiff"):
        try:
            import tifffile
        except ImportError:
            raise ImportError(
                f"reading {path} needs the optional package tifffile (pip install tifffile)"
            ) from None
        try:
            return tifffile.imread(path)
        except Exception as exc:  # tifffile raises many types for bad files
            raise RecordingFormatError(f"{path}: not a readable TIFF stack: {exc}") from exc
    if suffix == ".zarr" or path.is_dir():
        import zarr

        try:
            node = zarr.open(str(path), mode="r")
        except Exception as exc:  # zarr raises several types for foreign folders
            raise RecordingFormatError(f"{path}: not a readable zarr array: {exc}") from exc
        if not isinstance(node, zarr.Array):
            raise RecordingFormatError(
                f"{path}: is a zarr group, not an array; for a wavesim store use "
                "`wavesim stats` or wavesim.io.open_store"
            )
        return node[...]
    raise RecordingFormatError(
        f"{path}: unknown movie format {suffix!r}; allowed: {', '.join(_MOVIE_SUFFIXES)} or a zarr folder"
    )


def load_movie(path_or_array: str | Path | np.ndarray, um_per_pixel: float, frame_period_s: float) -> Movie:
    """Load a calcium-imaging or simulated movie.

    Parameters
    ----------
    path_or_array : str, Path or array_like
        An array of shape (T, H, W), or a ``.npy``, ``.tif``/``.tiff``
        (needs the optional package tifffile) or zarr array file holding one.
    um_per_pixel : float
        Pixel size in micrometres, > 0.
    frame_period_s : float
        Time between frames in seconds, > 0.

    Returns
    -------
    Movie

    Raises
    ------
    RecordingNotFoundError
        If the path does not exist.
    RecordingFormatError
        If the file cannot be read or does not hold a (T, H, W) array.
    ParameterError
        If an array argument is not (T, H, W) or a scale is not > 0.
    """
    if isinstance(path_or_array, (str, Path)):
        path = Path(path_or_array)
        frames = _read_movie_file(path)
        if frames.ndim != 3:
            raise RecordingFormatError(f"{path}: movie must have shape (T, H, W), got {frames.shape}")
    else:
        frames = np.asarray(path_or_array)
    return Movie(frames=frames, um_per_pixel=um_per_pixel, frame_period_s=frame_period_s)
