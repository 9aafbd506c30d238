"""Exceptions raised by wavesim.

Each class also subclasses the built-in exception it means, so callers can
catch either (``except ValueError`` still works for a bad parameter).
"""


class WavesimError(Exception):
    """Base class of every error wavesim raises on purpose."""


class ParameterError(WavesimError, ValueError):
    """A model, lattice, readout or run parameter is missing, unknown or out of range."""


class BackendUnavailableError(WavesimError, RuntimeError):
    """The requested backend (e.g. ``cuda``) cannot run on this machine."""


class StoreError(WavesimError, ValueError):
    """A zarr store is malformed, of another format version, or inconsistent with a run."""


class StoreCorruptError(StoreError):
    """A written chunk of a store is missing or fails its checksum; the message names the store, movie and frames."""


class StoreNotFoundError(StoreError, FileNotFoundError):
    """No wavesim store exists at the given path."""


class StoreExistsError(StoreError, FileExistsError):
    """A store exists where a new one was to be written."""


class RecordingFormatError(WavesimError, ValueError):
    """A recording or movie file is unreadable, truncated, foreign or missing a field."""


class RecordingNotFoundError(RecordingFormatError, FileNotFoundError):
    """No recording or movie exists at the given path."""


class MovieIndexError(StoreError, IndexError):
    """A movie index lies outside a store's movies."""


class MissingDependencyError(WavesimError, ImportError):
    """An optional package that this call needs is not installed; the message says how to install it."""


class CheckpointError(WavesimError, ValueError):
    """A file is not a wavesim checkpoint, or one of another format version, or unsafe to load."""


class CheckpointNotFoundError(CheckpointError, FileNotFoundError):
    """No checkpoint exists at the given path."""


class ClusterError(WavesimError, RuntimeError):
    """A Dask scheduler cannot be reached, or tasks of a run on a cluster failed; the message names the movies."""


class ImageSetError(WavesimError, ValueError):
    """An image set file (e.g. CIFAR-100's python pickle) is malformed or of another layout."""


class ImageSetNotFoundError(ImageSetError, FileNotFoundError):
    """No image set exists at the given path."""
