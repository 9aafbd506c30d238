"""From lattice state to movie frames: the pixel grid, its cell lists, and the blur.

A movie is frames on a pixel grid of stated um per pixel and seconds per
frame, independent of the model's lattice and time step. Each pixel reads
the cells whose positions fall inside it; a pixel smaller than the cell
spacing that holds none reads its nearest cell (if one lies within a cell
spacing of its centre), so fine grids show smooth discs rather than holes.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from .errors import ParameterError
from .lattice import HexLattice, SquareLattice
from .parameters import ValidatedParams, choice_field, field

READOUTS = ("binary", "calcium", "graded")
#: Fixed-point scale of the blur weights.
BLUR_Q = 12


@dataclasses.dataclass(frozen=True)
class Readout(ValidatedParams):
    """How the lattice state becomes frames.

    Parameters
    ----------
    um_per_pixel : float (um)
        Pixel size.
    frame_period_s : float (s)
        Time between frames; frame ``k`` shows the state at the last model
        step at or before ``k * frame_period_s`` after the warm-up.
    kind : {"binary", "calcium", "graded"}
        ``binary``: 1 where at least half of a pixel's cells are depolarised.
        ``calcium``: each cell's activity low-pass filtered with
        ``calcium_tau_s``, averaged over the pixel, optionally blurred, and
        stored as ``round(255 * value)``: frame value / 255 is the filtered
        fraction of time depolarised.
        ``graded`` (continuous-state models only, ``WaveModel.graded_readout``):
        the model's readout variable (e.g. the voltage) mapped onto [0, 1]
        over the range its model page states, averaged over the pixel, as
        ``round(255 * value)``.
    calcium_tau_s : float (s)
        Time constant of the calcium filter (calcium readout only).
    blur_um : float (um)
        Standard deviation of a Gaussian blur of calcium frames (0: none).
    """

    um_per_pixel: float = field(50.0, unit="um", low=1.0, high=5000.0, doc="pixel size")
    frame_period_s: float = field(0.5, unit="s", low=0.001, high=3600.0, doc="time between frames")
    kind: str = choice_field("binary", choices=READOUTS, doc="binary, calcium or graded frames")
    calcium_tau_s: float = field(1.0, unit="s", low=0.001, high=100.0, doc="calcium filter time constant")
    blur_um: float = field(0.0, unit="um", low=0.0, high=10000.0, doc="sd of the Gaussian blur of calcium frames")

    def _check_relations(self) -> None:
        if self.blur_um > 0 and self.kind != "calcium":
            raise ParameterError(
                f"Readout.blur_um = {self.blur_um} applies to the calcium readout only; "
                f"set kind='calcium' or blur_um=0."
            )

    def frame_shape(self, retina) -> tuple[int, int]:
        """(height_px, width_px) of the frames of ``retina``: whole pixels that fit in the sheet.

        Raises
        ------
        ParameterError
            If not one pixel fits.
        """
        width_px = int(math.floor(retina.width_um / self.um_per_pixel + 1e-9))
        height_px = int(math.floor(retina.height_um / self.um_per_pixel + 1e-9))
        if width_px < 1 or height_px < 1:
            raise ParameterError(
                f"um_per_pixel = {self.um_per_pixel} is larger than the retina "
                f"({retina.width_um} x {retina.height_um} um); choose a smaller pixel."
            )
        return height_px, width_px

    @property
    def scale(self) -> str:
        """What one unit of a stored frame value means."""
        if self.kind == "binary":
            return "1 = at least half of the pixel's cells depolarised"
        if self.kind == "graded":
            return "value / 255 = the model's readout variable, mapped onto [0, 1] over its stated range"
        return "value / 255 = low-pass filtered fraction of time depolarised"


class PixelMap:
    """For each pixel, the lattice cells it reads, in CSR form.

    Attributes
    ----------
    height_px, width_px : int
        Frame size.
    pixel_ptr : (H * W + 1,) int64
        ``cells of pixel i = cell_rows[pixel_ptr[i]:pixel_ptr[i + 1]]`` (and cell_cols).
    cell_rows, cell_cols : int32
        Lattice coordinates of the cells.
    """

    def __init__(self, lattice: HexLattice | SquareLattice, um_per_pixel: float):
        retina = lattice.retina
        self.um_per_pixel = um_per_pixel
        self.height_px, self.width_px = Readout(um_per_pixel=um_per_pixel).frame_shape(retina)
        x, y = lattice.positions_um
        rr, cc = np.nonzero(lattice.exists)
        cx, cy = x[rr, cc], y[rr, cc]
        px = np.floor(cx / um_per_pixel).astype(np.int64)
        py = np.floor(cy / um_per_pixel).astype(np.int64)
        inside = (px >= 0) & (px < self.width_px) & (py >= 0) & (py < self.height_px)
        pixel = py[inside] * self.width_px + px[inside]
        rows, cols = rr[inside], cc[inside]

        n_pix = self.width_px * self.height_px
        counts = np.bincount(pixel, minlength=n_pix)
        empty = np.nonzero(counts == 0)[0]
        if empty.size and cx.size:
            # Nearest cell for pixels that hold none, if it is within one spacing.
            ex = (empty % self.width_px + 0.5) * um_per_pixel
            ey = (empty // self.width_px + 0.5) * um_per_pixel
            gr = np.clip(np.rint((ey - lattice.y0_um) / lattice.row_pitch_um).astype(int), 0, lattice.rows - 1)
            best_d = np.full(empty.size, np.inf)
            best_r = np.zeros(empty.size, dtype=np.int64)
            best_c = np.zeros(empty.size, dtype=np.int64)
            for dr in (-1, 0, 1):
                r = np.clip(gr + dr, 0, lattice.rows - 1)
                c0 = np.rint((ex - lattice.x0_um) / retina.spacing_um - lattice.odd_row_shift * (r % 2)).astype(int)
                for dc in (-1, 0, 1):
                    c = np.clip(c0 + dc, 0, lattice.cols - 1)
                    d = np.hypot(x[r, c] - ex, y[r, c] - ey)
                    d = np.where(lattice.exists[r, c], d, np.inf)
                    better = d < best_d
                    best_d = np.where(better, d, best_d)
                    best_r = np.where(better, r, best_r)
                    best_c = np.where(better, c, best_c)
            ok = best_d <= retina.spacing_um
            pixel = np.concatenate([pixel, empty[ok]])
            rows = np.concatenate([rows, best_r[ok]])
            cols = np.concatenate([cols, best_c[ok]])
        order = np.argsort(pixel, kind="stable")
        self.pixel_ptr = np.zeros(n_pix + 1, dtype=np.int64)
        np.cumsum(np.bincount(pixel, minlength=n_pix), out=self.pixel_ptr[1:])
        self.cell_rows = rows[order].astype(np.int32)
        self.cell_cols = cols[order].astype(np.int32)

    @property
    def shape(self) -> tuple[int, int]:
        return (self.height_px, self.width_px)

    def select(self, pixels: np.ndarray) -> "PixelMap":
        """The map of the pixels ``pixels`` (flat indices ``y * width_px + x``) alone, as a one-row frame."""
        pixels = np.asarray(pixels, dtype=np.int64)
        sub = object.__new__(PixelMap)
        sub.um_per_pixel = self.um_per_pixel
        sub.height_px, sub.width_px = 1, int(pixels.size)
        starts, ends = self.pixel_ptr[pixels], self.pixel_ptr[pixels + 1]
        sub.pixel_ptr = np.zeros(pixels.size + 1, dtype=np.int64)
        np.cumsum(ends - starts, out=sub.pixel_ptr[1:])
        cells = np.concatenate([np.arange(a, e) for a, e in zip(starts, ends)]) if pixels.size else np.zeros(0, int)
        sub.cell_rows = self.cell_rows[cells]
        sub.cell_cols = self.cell_cols[cells]
        return sub


def blur_weights_q(blur_um: float, um_per_pixel: float) -> np.ndarray:
    """Integer 1-D Gaussian weights summing to exactly 2**BLUR_Q (empty for no blur)."""
    if blur_um <= 0:
        return np.zeros(0, dtype=np.int64)
    sigma_px = blur_um / um_per_pixel
    half = max(1, int(math.ceil(3 * sigma_px)))
    k = np.arange(-half, half + 1)
    g = np.exp(-0.5 * (k / sigma_px) ** 2)
    w = np.rint(g / g.sum() * (1 << BLUR_Q)).astype(np.int64)
    w[half] += (1 << BLUR_Q) - w.sum()
    return w


def blur_frames(frames, weights, xp=np):
    """Separable integer Gaussian blur of (..., H, W) uint8 frames with zero padding.

    Integer weights make the result identical with NumPy and CuPy.
    """
    if weights.size == 0:
        return frames
    w = xp.asarray(weights)
    half = weights.size // 2
    out = frames.astype(xp.int64)
    for axis in (-2, -1):
        n = out.shape[axis]
        pad = [(0, 0)] * out.ndim
        pad[axis] = (half, half)
        padded = xp.pad(out, pad)
        acc = xp.zeros_like(out)
        for i in range(weights.size):
            sl = [slice(None)] * out.ndim
            sl[axis] = slice(i, i + n)
            acc += w[i] * padded[tuple(sl)]
        out = (acc + (1 << (BLUR_Q - 1))) >> BLUR_Q
    return xp.clip(out, 0, 255).astype(xp.uint8)
