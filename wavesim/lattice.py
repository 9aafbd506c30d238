"""The lattices models live on: the hexagonal sheet of starburst amacrine cells, and a square pixel grid.

Cells sit on a hexagonal lattice stored as a rectangular array of ``rows``
by ``cols``: cell ``(r, c)`` is at ``x = x0 + (c + (r % 2) / 2) * spacing``,
``y = y0 + r * spacing * sqrt(3) / 2``. Neighbour offsets therefore depend on
the parity of the row, and are tabulated once per parity; the same tables
serve the CPU push and the GPU pull.
"""

from __future__ import annotations

import dataclasses
import math
from functools import cached_property

import numpy as np

from .errors import ParameterError
from .parameters import ValidatedParams, choice_field, field

#: Fixed-point scale of weights, inputs, excitation and thresholds (2**20 per unit).
Q20 = 1 << 20
#: Fixed-point scale of the per-cell neighbour fraction (2**16 per unit).
Q16 = 1 << 16

SHAPES = ("rectangle", "disc")
#: Largest neighbour reach in cell spacings; the GPU kernel's tile halo is sized for it.
MAX_REACH = 6


def dendritic_overlap(distance_um: np.ndarray, radius_um: float) -> np.ndarray:
    """Overlap area of two discs of ``radius_um`` at ``distance_um``, over one disc's area.

    Parameters
    ----------
    distance_um : ndarray of float (um)
        Centre-to-centre distances.
    radius_um : float (um)
        Dendritic-field radius.

    Returns
    -------
    ndarray of float
        Weights in [0, 1]; 1 at distance 0, 0 at and beyond ``2 * radius_um``.

    Examples
    --------
    >>> float(dendritic_overlap(np.array([0.0]), 170.0)[0])
    1.0
    """
    d = np.minimum(np.asarray(distance_um, dtype=float), 2 * radius_um)
    a = radius_um
    area = 2 * a * a * np.arccos(d / (2 * a)) - 0.5 * d * np.sqrt(4 * a * a - d * d)
    return area / (math.pi * a * a)


@dataclasses.dataclass(frozen=True)
class Retina(ValidatedParams):
    """The simulated piece of retina: its size, shape and cell spacing.

    Parameters
    ----------
    width_um, height_um : float (um)
        Size of the rectangle the cells fill (or that bounds the disc).
    shape : {"rectangle", "disc"}
        ``disc`` keeps the cells within ``min(width, height) / 2`` of the
        centre, as in Godfrey & Swindale's code; border cells have fewer
        neighbours, hence a slower threshold decay.
    spacing_um : float (um)
        Distance between neighbouring cells (34 um for mouse SACs).
    dendrite_radius_um : float (um)
        Dendritic-field radius; cells within this distance connect, with the
        normalised overlap of their fields as weight.
    """

    width_um: float = field(3200.0, unit="um", low=50.0, high=1e6, doc="width of the simulated sheet")
    height_um: float = field(3200.0, unit="um", low=50.0, high=1e6, doc="height of the simulated sheet")
    spacing_um: float = field(34.0, unit="um", low=5.0, high=200.0, doc="distance between neighbouring cells")
    dendrite_radius_um: float = field(
        170.0, unit="um", low=5.0, high=1000.0, doc="dendritic-field radius; also the connection range"
    )
    shape: str = choice_field("rectangle", choices=SHAPES, doc="rectangle, or the disc inscribed in it")

    def _check_relations(self) -> None:
        reach = self.dendrite_radius_um / self.spacing_um
        if reach > MAX_REACH:
            raise ParameterError(
                f"Retina.dendrite_radius_um / spacing_um = {reach:.2f} exceeds {MAX_REACH} cell "
                f"spacings, the largest neighbourhood the kernels tile; reduce dendrite_radius_um "
                f"or raise spacing_um."
            )
        if self.width_um < 2 * self.spacing_um or self.height_um < 2 * self.spacing_um:
            raise ParameterError(
                f"Retina of {self.width_um} x {self.height_um} um holds fewer than 2 x 2 cells at "
                f"spacing_um = {self.spacing_um}; make it larger."
            )


class _Lattice:
    """What every lattice derives from its rows, cols, retina and ``positions_um``: shape and existence mask."""

    @property
    def shape(self) -> tuple[int, int]:
        return (self.rows, self.cols)

    @cached_property
    def exists(self) -> np.ndarray:
        """(rows, cols) bool: which lattice sites hold a cell."""
        if self.retina.shape == "rectangle":
            return np.ones(self.shape, dtype=bool)
        x, y = self.positions_um
        radius = min(self.retina.width_um, self.retina.height_um) / 2
        return np.hypot(x - self.retina.width_um / 2, y - self.retina.height_um / 2) < radius

    @property
    def n_cells(self) -> int:
        return int(self.exists.sum())


class HexLattice(_Lattice):
    """Cell positions, existence mask and neighbour tables for a :class:`Retina`.

    Attributes
    ----------
    rows, cols : int
        Shape of the state arrays.
    """

    #: Column shift of odd rows, in spacings.
    odd_row_shift = 0.5

    def __init__(self, retina: Retina):
        self.retina = retina
        s = retina.spacing_um
        self.row_pitch_um = s * math.sqrt(3) / 2
        self.cols = int(retina.width_um // s)
        self.rows = int(retina.height_um // self.row_pitch_um)
        # Centre the lattice in the rectangle.
        self.x0_um = (retina.width_um - (self.cols - 0.5) * s) / 2
        self.y0_um = (retina.height_um - (self.rows - 1) * self.row_pitch_um) / 2

    @cached_property
    def positions_um(self) -> tuple[np.ndarray, np.ndarray]:
        """``(x, y)`` of every lattice site, each (rows, cols) float (um)."""
        r, c = np.mgrid[0 : self.rows, 0 : self.cols]
        x = self.x0_um + (c + 0.5 * (r % 2)) * self.retina.spacing_um
        y = self.y0_um + r * self.row_pitch_um
        return x, y

    @cached_property
    def offsets(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Neighbour tables ``(dr, dc, weight_q20)``, each (2, n_neighbours), by row parity.

        Row ``p`` lists, for a cell in a row of parity ``p``, the offsets of all
        cells within ``dendrite_radius_um`` (inclusive) other than itself, and
        their weights in units of 2**-20.
        """
        s, h, radius = self.retina.spacing_um, self.row_pitch_um, self.retina.dendrite_radius_um
        reach = int(math.ceil(radius / s)) + 1
        per_parity = []
        for p in (0, 1):
            entries = []
            for dr in range(-reach, reach + 1):
                q = (p + dr) % 2
                for dc in range(-reach, reach + 1):
                    if dr == 0 and dc == 0:
                        continue
                    d = math.hypot((dc + 0.5 * q - 0.5 * p) * s, dr * h)
                    if d <= radius * (1 + 1e-9):
                        entries.append((dr, dc, d))
            per_parity.append(entries)
        n = len(per_parity[0])
        assert n == len(per_parity[1])
        dr = np.array([[e[0] for e in es] for es in per_parity], dtype=np.int32)
        dc = np.array([[e[1] for e in es] for es in per_parity], dtype=np.int32)
        dist = np.array([[e[2] for e in es] for es in per_parity])
        w = np.rint(dendritic_overlap(dist, radius) * Q20).astype(np.int32)
        return dr, dc, w

    @property
    def halo(self) -> int:
        """Largest absolute row or column offset of a neighbour."""
        dr, dc, _ = self.offsets
        return int(max(np.abs(dr).max(), np.abs(dc).max()))

    @property
    def n_neighbours(self) -> int:
        return self.offsets[0].shape[1]

    @cached_property
    def summed_weight_q20(self) -> np.ndarray:
        """(rows, cols) int64: each cell's summed weight to existing neighbours (0 where no cell)."""
        dr, dc, w = self.offsets
        ex = self.exists
        total = np.zeros(self.shape, dtype=np.int64)
        rows = np.arange(self.rows)
        for p in (0, 1):
            sel = rows % 2 == p
            for k in range(dr.shape[1]):
                shifted = _shift(ex, int(dr[p, k]), int(dc[p, k]))
                total[sel] += w[p, k] * shifted[sel]
        return np.where(ex, total, 0)

    @cached_property
    def neighbour_fraction_q16(self) -> np.ndarray:
        """(rows, cols) int32: summed weight over the bulk value, in units of 2**-16; 0 where no cell.

        This is ``nbr / max_nbr`` of the model: border cells get less than 1,
        so their thresholds decay more slowly.
        """
        bulk = int(self.offsets[2][0].sum())
        frac = np.rint(self.summed_weight_q20 * Q16 / bulk).astype(np.int64)
        frac = np.where(self.exists, np.maximum(frac, 1), 0)
        return frac.astype(np.int32)


#: Directions of a square lattice's 8 neighbours, k = 0..7 at k * 45 degrees counter-clockwise in
#: (x right, y down) image coordinates: right, down-right, down, down-left, left, up-left, up, up-right.
SQUARE_DR = (0, 1, 1, 1, 0, -1, -1, -1)
SQUARE_DC = (1, 1, 0, -1, -1, -1, 0, 1)


class SquareLattice(_Lattice):
    """A square grid of cells (one per pixel at ``um_per_pixel == spacing_um``) with its 8 neighbours.

    Same interface as :class:`HexLattice`: cell ``(r, c)`` is at
    ``x = x0 + c * spacing``, ``y = y0 + r * spacing``, and ``offsets``
    lists the 8 neighbours in the direction order of :data:`SQUARE_DR` /
    :data:`SQUARE_DC` with weight ``1 << k``, so that a summed input is the
    bit mask of the directions it came from.
    """

    #: Column shift of odd rows, in spacings (none: rows are aligned).
    odd_row_shift = 0.0

    def __init__(self, retina: Retina):
        self.retina = retina
        s = retina.spacing_um
        self.row_pitch_um = s
        self.cols = int(retina.width_um // s)
        self.rows = int(retina.height_um // s)
        self.x0_um = (retina.width_um - (self.cols - 1) * s) / 2
        self.y0_um = (retina.height_um - (self.rows - 1) * s) / 2

    @cached_property
    def positions_um(self) -> tuple[np.ndarray, np.ndarray]:
        """``(x, y)`` of every lattice site, each (rows, cols) float (um)."""
        r, c = np.mgrid[0 : self.rows, 0 : self.cols]
        return self.x0_um + c * self.retina.spacing_um, self.y0_um + r * self.row_pitch_um

    @cached_property
    def offsets(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(dr, dc, weight)``, each (2, 8) int32 (both row parities alike); weight ``1 << k``."""
        dr = np.array([SQUARE_DR, SQUARE_DR], dtype=np.int32)
        dc = np.array([SQUARE_DC, SQUARE_DC], dtype=np.int32)
        w = np.array([[1 << k for k in range(8)]] * 2, dtype=np.int32)
        return dr, dc, w

    @property
    def halo(self) -> int:
        return 1

    @property
    def n_neighbours(self) -> int:
        return 8


def _shift(a: np.ndarray, dr: int, dc: int) -> np.ndarray:
    """``out[r, c] = a[r + dr, c + dc]``, zero outside."""
    out = np.zeros_like(a)
    R, C = a.shape
    r0, r1 = max(0, -dr), min(R, R - dr)
    c0, c1 = max(0, -dc), min(C, C - dc)
    if r0 < r1 and c0 < c1:
        out[r0:r1, c0:c1] = a[r0 + dr : r1 + dr, c0 + dc : c1 + dc]
    return out
