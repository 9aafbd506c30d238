"""The default wave model written plainly in PyTorch: the baseline for speed.

This is the Godfrey & Swindale (2007) amacrine-cell model (see DESIGN.md,
"Models > Default") as a user would write it without wavesim: dense float32
tensors, one ``conv2d`` per step for the neighbour input and elementwise
tensor ops for the rest, on any torch device. It follows the model's rules
(order within a step, depolarisation length, frozen excitation, threshold
update) but draws its random numbers with ``torch.rand``/``torch.randn`` and
sums float32 weights, so it is not bit-identical to wavesim's kernels. It
exists only to compare speed.

Lattice layout: the hexagonal sheet of ``rows x cols`` cells, cell (r, c) at
x = (c + (r % 2) / 2) * 34 um, y = r * 34 * sqrt(3) / 2 um, is embedded in a
"doubled-column" grid of shape (rows, 2 * cols) in which cell (r, c) sits at
column 2c + (r % 2); grid columns are 17 um apart. In that grid one 11 x 21
kernel holds every cell's neighbour weights. The other half of the grid
positions hold no cell and stay zero; the input is read back with two
stride-2 convolutions, one for even rows (even columns) and one for odd rows
(odd columns), so that only cell positions are computed.

Run ``python benchmarks/torch_baseline.py`` for the CPU throughput.
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
import torch
import torch.nn.functional as F

SPACING_UM = 34.0
DENDRITE_RADIUS_UM = 170.0
DT_S = 0.025
#: Distance tolerance (um) so that cells exactly 170 um apart are connected.
DISTANCE_TOL_UM = 1e-6
#: Kernel half-sizes in the doubled-column grid: 170 um spans 5 rows of
#: 29.4 um and 10 columns of 17 um.
HALF_ROWS = 5
HALF_COLS = 10


def disc_overlap_fraction(distance_um: np.ndarray, radius_um: float) -> np.ndarray:
    """Return the overlap area of two discs of radius radius_um, as a fraction of one disc's area.

    Parameters
    ----------
    distance_um : numpy.ndarray
        Distance between the disc centres (um).
    radius_um : float
        Disc radius (um).

    Returns
    -------
    numpy.ndarray
        Overlap area / (pi * radius_um**2), 1 at distance 0 and 0 beyond 2 * radius_um.
    """
    d = np.minimum(np.asarray(distance_um, dtype=np.float64), 2 * radius_um)
    area = 2 * radius_um**2 * np.arccos(d / (2 * radius_um)) - 0.5 * d * np.sqrt(4 * radius_um**2 - d**2)
    return area / (math.pi * radius_um**2)


def hex_kernel(spacing_um: float = SPACING_UM, radius_um: float = DENDRITE_RADIUS_UM) -> np.ndarray:
    """Return the neighbour weights of one cell in doubled-column grid coordinates.

    Parameters
    ----------
    spacing_um : float
        Distance between neighbouring cells (um).
    radius_um : float
        Dendritic radius (um): cells at most this far apart are connected,
        with the overlap of their dendritic discs as the weight.

    Returns
    -------
    numpy.ndarray
        Float64 array of shape (11, 21) centred on the cell; entry
        [dr + 5, dj + 10] is the weight of the cell dr rows and dj grid
        columns (of spacing_um / 2) away. The centre (the cell itself) and
        grid positions that hold no cell (dr + dj odd) are 0.
    """
    dr, dj = np.mgrid[-HALF_ROWS:HALF_ROWS + 1, -HALF_COLS:HALF_COLS + 1]
    distance_um = np.hypot(dj * spacing_um / 2, dr * spacing_um * math.sqrt(3) / 2)
    connected = ((dr + dj) % 2 == 0) & (distance_um > 0) & (distance_um <= radius_um + DISTANCE_TOL_UM)
    return np.where(connected, disc_overlap_fraction(distance_um, radius_um), 0.0)


class TorchWaveModel:
    """Godfrey & Swindale amacrine-cell wave model on a batch of rectangular hexagonal sheets.

    Parameters
    ----------
    rows, cols : int
        Sheet size in cells (hexagonal lattice, 34 um spacing).
    batch : int
        Number of independent retinas simulated together.
    device : str or torch.device
        Where the state lives ("cpu", "cuda", ...).
    H1, H2 : float
        Threshold rise per depolarisation: fixed part and part per unit of
        input (dimensionless).
    D_s : float
        Depolarisation duration (s).
    P_s : float
        Threshold decay time scale (s): a bulk cell's threshold falls by
        H1 in P_s on average.
    tau_K_s : float
        Time constant of the low-pass filter on the input (s).
    seed : int
        Seed of the torch generator for the initial thresholds and decays.

    Attributes
    ----------
    exc, thresh, decay_per_s : torch.Tensor
        Float32 (batch, rows, cols): filtered input, threshold, and
        threshold decay rate (1/s).
    onset_step : torch.Tensor
        Int64 (batch, rows, cols): step of each cell's latest depolarisation
        onset (-1 before its first).
    step_count : int
        Steps taken so far.
    """

    def __init__(
        self,
        rows: int,
        cols: int,
        batch: int,
        device,
        H1: float = 4.0,
        H2: float = 0.75,
        D_s: float = 2.3,
        P_s: float = 32.0,
        tau_K_s: float = 0.35,
        seed: int = 0,
    ):
        for name, value in (("rows", rows), ("cols", cols), ("batch", batch)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
        for name, value in (("D_s", D_s), ("P_s", P_s), ("tau_K_s", tau_K_s)):
            if not value > 0:
                raise ValueError(f"{name} must be > 0 (s), got {value!r}")
        self.device = torch.device(device)
        self.H1, self.H2, self.D_s = float(H1), float(H2), float(D_s)
        self.filter_gain = DT_S / tau_K_s
        # A depolarisation ends at the first step strictly later than onset + D.
        self.D_steps = math.floor(D_s / DT_S + 1e-9)
        self.generator = torch.Generator(device=self.device).manual_seed(seed)
        shape = (batch, rows, cols)

        self.kernel = torch.tensor(hex_kernel(), dtype=torch.float32, device=self.device)[None, None]
        # Cell positions of the doubled-column grid; the rest stays 0 for good.
        self._grid = torch.zeros((batch, 1, rows, 2 * cols), dtype=torch.float32, device=self.device)
        self._active = torch.zeros(shape, dtype=torch.bool, device=self.device)

        ones = torch.ones(shape, dtype=torch.float32, device=self.device)
        self.nbr = self._neighbour_sum(ones)
        self._decay_scale = (self.H1 / P_s) * self.nbr / self.nbr.max()

        self.exc = torch.zeros(shape, dtype=torch.float32, device=self.device)
        self.thresh = 0.5 + 4.5 * torch.rand(shape, generator=self.generator, device=self.device)
        self.decay_per_s = self._draw_decay()
        self.onset_step = torch.full(shape, -1, dtype=torch.int64, device=self.device)
        self.step_count = 0

    @property
    def active(self) -> torch.Tensor:
        """Bool tensor (batch, rows, cols): cells depolarised at the end of the last step."""
        return self._active

    def _draw_decay(self) -> torch.Tensor:
        """Return fresh threshold decay rates (1/s) for every cell: (H1/P) * (nbr/max_nbr) * N(1, 0.2)."""
        noise = torch.randn(self._decay_scale.shape, generator=self.generator, device=self.device)
        return self._decay_scale * (1.0 + 0.2 * noise)

    def _neighbour_sum(self, values: torch.Tensor) -> torch.Tensor:
        """Return each cell's weighted sum of its neighbours' values, shape (batch, rows, cols)."""
        grid = self._grid
        grid[:, 0, 0::2, 0::2] = values[:, 0::2]
        grid[:, 0, 1::2, 1::2] = values[:, 1::2]
        padded = F.pad(grid, (HALF_COLS, HALF_COLS, HALF_ROWS, HALF_ROWS))
        out = torch.empty_like(values)
        out[:, 0::2] = F.conv2d(padded, self.kernel, stride=2)[:, 0]
        out[:, 1::2] = F.conv2d(padded[:, :, 1:, 1:], self.kernel, stride=2)[:, 0]
        return out

    def step(self, n_steps: int = 1) -> None:
        """Advance every retina by n_steps time steps of 25 ms."""
        for _ in range(n_steps):
            self.step_count += 1
            t = self.step_count
            was_active = self._active
            # Input from the cells depolarised at the end of the previous step.
            drive = self._neighbour_sum(was_active.float())

            ending = was_active & (t - self.onset_step > self.D_steps)
            self.decay_per_s = torch.where(ending, self._draw_decay(), self.decay_per_s)

            # Only cells that were off filter their input and may fire;
            # cells switching off now reset exc to 0 and skip this step.
            filtered = (self.exc + (drive - self.exc) * self.filter_gain).clamp_(min=0.0)
            self.exc = torch.where(~was_active, filtered, self.exc.masked_fill(ending, 0.0))
            fire = ~was_active & (self.exc >= self.thresh)
            self.onset_step = torch.where(fire, t, self.onset_step)
            self._active = (was_active & ~ending) | fire

            rise = self._active * ((self.H1 + self.H2 * drive) / self.D_s)
            self.thresh = (self.thresh + DT_S * (rise - self.decay_per_s)).clamp_(min=0.0)


def count_onsets(model: TorchWaveModel, n_steps: int) -> tuple[int, int]:
    """Step a model and count depolarisation onsets by cause.

    Parameters
    ----------
    model : TorchWaveModel
        The model to advance.
    n_steps : int
        Number of 25 ms steps to take.

    Returns
    -------
    spontaneous, recruited : int
        Onsets of cells with no depolarised neighbour at the previous step
        (their threshold decayed to their input), and onsets of cells with one.
    """
    spontaneous = recruited = 0
    for _ in range(n_steps):
        before = model.active
        driven = model._neighbour_sum(before.float()) > 0
        model.step()
        started = model.active & ~before
        spontaneous += int((started & ~driven).sum())
        recruited += int((started & driven).sum())
    return spontaneous, recruited


def main() -> None:
    """Time the baseline and check that it makes waves."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=256)
    parser.add_argument("--cols", type=int, default=256)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)

    model = TorchWaveModel(args.rows, args.cols, args.batch, device)
    model.step(2)  # first calls pay one-off set-up costs
    if device.type == "cuda":
        torch.cuda.synchronize()
    start_s = time.perf_counter()
    model.step(args.steps)
    if device.type == "cuda":
        torch.cuda.synchronize()
    elapsed_s = time.perf_counter() - start_s

    n_cells = args.batch * args.rows * args.cols
    print(
        f"device {device} ({torch.get_num_threads()} CPU threads), "
        f"{args.batch} x {args.rows} x {args.cols} cells, {args.steps} steps: "
        f"{elapsed_s:.2f} s, {n_cells * args.steps / elapsed_s:.3g} cell-updates/s, "
        f"{args.steps / elapsed_s:.1f} steps/s"
    )

    spontaneous, recruited = count_onsets(TorchWaveModel(min(args.rows, 64), min(args.cols, 64), 1, device), 400)
    print(f"wave check (400 steps): {spontaneous} cells fired on their own, {recruited} recruited by neighbours")
    if spontaneous == 0 or recruited <= spontaneous:
        raise SystemExit("no waves: no cell fired on its own, or activity did not spread to neighbours")


if __name__ == "__main__":
    main()
