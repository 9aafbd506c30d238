"""One set of checks for the scalar arguments of every public function.

Every check names the argument, the allowed values and the value it got,
and raises :class:`~wavesim.errors.ParameterError` (a ``ValueError``). They
agree on what a number is: Python and NumPy integers are integers; ``True``
and ``False`` are not numbers (``n_retinas=True`` is a mistake, not 1);
integers and floats are real numbers; NaN and infinities are refused unless
asked for.

>>> check_int("n_movies", np.int64(3), low=1)
3
>>> check_int("n_movies", True, low=1)
Traceback (most recent call last):
...
wavesim.errors.ParameterError: n_movies must be a positive integer, got True (bool).
"""

from __future__ import annotations

import math
import numbers
from pathlib import Path
from typing import Any, Collection

import numpy as np

from .errors import ParameterError

#: Seeds are non-negative signed 64-bit integers.
SEED_HIGH = 2**63 - 1


def is_bool(value: Any) -> bool:
    """Whether ``value`` is a Python or NumPy bool (which every check here refuses as a number)."""
    return isinstance(value, (bool, np.bool_))


def _integer_kind(low, high) -> str:
    """``"a positive integer"``, ``"an integer in [2, 8]"``...: what an integer argument must be."""
    if high is None and low == 1:
        return "a positive integer"
    if high is None and low == 0:
        return "a non-negative integer"
    return "an integer" + _bounds(low, high)


def _bounds(low, high) -> str:
    if low is not None and high is not None:
        return f" in [{low}, {high}]"
    if low is not None:
        return f" >= {low}"
    if high is not None:
        return f" <= {high}"
    return ""


def _got(value: Any) -> str:
    return f"{value!r} ({type(value).__name__})"


def check_int(name: str, value: Any, *, low: int | None = None, high: int | None = None,
              optional: bool = False, what: str = "") -> int | None:
    """``value`` as a Python int, after checking it is an integer within ``[low, high]``.

    Parameters
    ----------
    name : str
        The argument's name, as the caller knows it (``"batch_size"``, ``"--movies"``).
    value
        A Python or NumPy integer; ``None`` too where ``optional``.
    low, high : int, optional
        Inclusive bounds.
    optional : bool
        Admit ``None`` (returned as is).
    what : str
        What the number counts, for the message (``"retinas simulated at once"``).

    Raises
    ------
    ParameterError
        For a bool, a non-integer (``3.0`` included) or a value out of bounds.
    """
    if optional and value is None:
        return None
    kind = _integer_kind(low, high) + (f" ({what})" if what else "")
    if is_bool(value) or not isinstance(value, numbers.Integral):
        raise ParameterError(f"{name} must be {kind}{' or None' if optional else ''}, got {_got(value)}.")
    value = int(value)
    if (low is not None and value < low) or (high is not None and value > high):
        raise ParameterError(f"{name} must be {kind}, got {value}.")
    return value


def check_seed(name: str, value: Any) -> int:
    """A seed: an integer in [0, 2**63)."""
    if is_bool(value) or not isinstance(value, numbers.Integral) or not 0 <= value <= SEED_HIGH:
        raise ParameterError(f"{name} must be an integer in [0, 2**63), got {value!r}.")
    return int(value)


def check_number(name: str, value: Any, *, low: float | None = None, high: float | None = None,
                 low_open: bool = False, optional: bool = False, finite: bool = True,
                 unit: str = "") -> float | None:
    """``value`` as a Python float, after checking it is a real number within the bounds.

    Parameters
    ----------
    name : str
    value
        A Python or NumPy integer or float; ``None`` too where ``optional``.
    low, high : float, optional
        Bounds; ``high`` inclusive, ``low`` inclusive unless ``low_open``.
    low_open : bool
        Exclude ``low`` itself (``low=0, low_open=True``: positive).
    optional : bool
        Admit ``None`` (returned as is).
    finite : bool
        Refuse NaN and infinities (the default).
    unit : str
        Printed after the numbers in the message (``"s"``, ``"um"``).

    Raises
    ------
    ParameterError
    """
    if optional and value is None:
        return None
    u = f" {unit}" if unit else ""
    if is_bool(value) or not isinstance(value, numbers.Real):
        raise ParameterError(f"{name} must be a number{u and ' in' + u}{' or None' if optional else ''}, "
                             f"got {_got(value)}.")
    value = float(value)
    if math.isnan(value) or (finite and math.isinf(value)):
        raise ParameterError(f"{name} must be a finite number{u and ' in' + u}, got {value!r}.")
    too_low = low is not None and (value <= low if low_open else value < low)
    if too_low or (high is not None and value > high):
        if low is not None and high is not None:
            where = f"in {'(' if low_open else '['}{low}, {high}]{u}"
        elif low is not None:
            where = f"{'>' if low_open else '>='} {low}{u}"
        else:
            where = f"<= {high}{u}"
        raise ParameterError(f"{name} must be {where}, got {value!r}{u}.")
    return value


def check_choice(name: str, value: Any, choices: Collection[Any]) -> Any:
    """``value`` itself, after checking it is one of ``choices``.

    Raises
    ------
    ParameterError
        Listing the choices.
    """
    try:
        ok = value in choices
    except TypeError:  # an unhashable value against a set
        ok = False
    if not ok:
        raise ParameterError(f"{name} must be one of {sorted(map(str, choices))}, got {value!r}.")
    return value


def check_bool(name: str, value: Any) -> bool:
    """``value`` as a Python bool, after checking it is one (``0`` and ``"yes"`` are not)."""
    if not is_bool(value):
        raise ParameterError(f"{name} must be True or False, got {_got(value)}.")
    return bool(value)


def check_path(name: str, value: Any, *, exists: bool | None = None, kind: str | None = None) -> Path:
    """``value`` as a :class:`~pathlib.Path`, after checking what the caller needs of it.

    Parameters
    ----------
    name : str
    value : str or os.PathLike
    exists : bool, optional
        True: the path must exist; False: it must not; None: either.
    kind : {"file", "dir"}, optional
        What an existing path must be.

    Raises
    ------
    ParameterError
        For a value that is not a path; ``FileNotFoundError``-like
        :class:`~wavesim.errors.ParameterError` messages name the path.
    """
    if isinstance(value, bytes) or not isinstance(value, (str, Path)) and not hasattr(value, "__fspath__"):
        raise ParameterError(f"{name} must be a path (str or os.PathLike), got {_got(value)}.")
    path = Path(value)
    if not str(value):
        raise ParameterError(f"{name} must be a path, got an empty string.")
    if exists is True and not path.exists():
        raise ParameterError(f"{name}: {path} does not exist.")
    if exists is False and path.exists():
        raise ParameterError(f"{name}: {path} exists already.")
    if kind is not None and path.exists():
        if kind == "file" and not path.is_file():
            raise ParameterError(f"{name}: {path} is not a file.")
        if kind == "dir" and not path.is_dir():
            raise ParameterError(f"{name}: {path} is not a folder.")
    return path
