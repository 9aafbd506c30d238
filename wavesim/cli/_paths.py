"""Checks of output paths, made before any work, so that a bad one fails at once and leaves nothing behind."""

from __future__ import annotations

from pathlib import Path

from ..errors import ParameterError


def _blocking_file(path: Path) -> Path | None:
    """The nearest existing ancestor of ``path`` if it is a file (which no folder can be made under), else None."""
    for parent in path.parents:
        if parent.exists():
            return None if parent.is_dir() else parent
    return None


def check_output_file(path, option: str, suffixes: tuple[str, ...] | None = None) -> Path:
    """Check that ``path`` can be written as a file (missing folders above it are made when it is written).

    Raises
    ------
    ParameterError
        If ``path`` is a folder, lies under a file, or (``suffixes``) has another suffix.
    """
    path = Path(path)
    if path.is_dir():
        raise ParameterError(f"{option} {path} is a folder; give the path of a file to write.")
    blocking = _blocking_file(path)
    if blocking is not None:
        raise ParameterError(f"cannot write {option} {path}: {blocking} is a file, not a folder.")
    if suffixes is not None and path.suffix.lower().lstrip(".") not in suffixes:
        raise ParameterError(f"{option} {path}: the file type must be one of {', '.join(suffixes)}, "
                             f"got {path.suffix or 'none'!r}.")
    return path


def check_output_folder(path, option: str) -> Path:
    """Check that ``path`` is a folder or can be made one.

    Raises
    ------
    ParameterError
        If ``path`` is a file or lies under one.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ParameterError(f"{option} {path} is a file; give a folder (it is made if missing).")
    blocking = _blocking_file(path)
    if blocking is not None:
        raise ParameterError(f"cannot make {option} {path}: {blocking} is a file, not a folder.")
    return path
