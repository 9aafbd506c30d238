"""Tests for benchmarks/torch_baseline.py: lattice weights and wave behaviour."""

import importlib.util
import math
import pathlib

import numpy as np
import pytest

torch = pytest.importorskip("torch")

BASELINE_PATH = pathlib.Path(__file__).resolve().parents[2] / "benchmarks" / "torch_baseline.py"
ROWS = COLS = 40


@pytest.fixture(scope="module")
def baseline():
    """The benchmarks/torch_baseline.py module, imported by path (benchmarks/ is no package)."""
    spec = importlib.util.spec_from_file_location("torch_baseline", BASELINE_PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def hex_weights(rows, cols, spacing_um=34.0, radius_um=170.0):
    """Return the (n, n) weight matrix of a rows x cols hexagonal sheet from cell positions."""
    r, c = np.divmod(np.arange(rows * cols), cols)
    x_um = (c + 0.5 * (r % 2)) * spacing_um
    y_um = r * spacing_um * math.sqrt(3) / 2
    distance_um = np.hypot(x_um[:, None] - x_um[None], y_um[:, None] - y_um[None])
    connected = (distance_um > 0) & (distance_um <= radius_um + 1e-6)
    d = np.minimum(distance_um, 2 * radius_um)
    overlap = 2 * radius_um**2 * np.arccos(d / (2 * radius_um)) - 0.5 * d * np.sqrt(4 * radius_um**2 - d**2)
    return np.where(connected, overlap / (math.pi * radius_um**2), 0.0)


def test_kernel_has_90_symmetric_weights_in_unit_interval(baseline):
    kernel = baseline.hex_kernel()
    assert kernel.shape == (11, 21)
    weights = kernel[kernel > 0]
    assert weights.size == 90
    assert np.all((weights > 0) & (weights < 1))
    np.testing.assert_array_equal(kernel, kernel[::-1, ::-1])
    # Nearest neighbours (34 um) and the farthest (exactly 170 um) are both connected.
    assert kernel[5, 12] == pytest.approx(baseline.disc_overlap_fraction(34.0, 170.0))
    assert kernel[5, 20] == pytest.approx(2 / 3 - math.sqrt(3) / (2 * math.pi))


def test_summed_weights_match_cell_positions(baseline):
    model = baseline.TorchWaveModel(ROWS, COLS, 2, "cpu")
    expected = hex_weights(ROWS, COLS).sum(axis=1).reshape(ROWS, COLS)
    for b in range(2):
        np.testing.assert_allclose(model.nbr[b].numpy(), expected, rtol=1e-5)
    # Bulk cells (even and odd rows) see all 90 neighbours, border cells fewer.
    bulk_sum = baseline.hex_kernel().sum()
    assert expected[20, 20] == pytest.approx(bulk_sum) and expected[21, 20] == pytest.approx(bulk_sum)
    assert expected[0, 0] < bulk_sum / 2


def test_waves_start_spread_and_last_93_steps(baseline):
    # A short decay time scale P_s brings thresholds to 0 within ~100 steps.
    model = baseline.TorchWaveModel(ROWS, COLS, 1, "cpu", P_s=2.0, seed=3)
    adjacency = hex_weights(ROWS, COLS) > 0
    history = [model.active[0].numpy().ravel().copy()]
    for _ in range(300):
        model.step()
        history.append(model.active[0].numpy().ravel().copy())
    history = np.array(history)

    new = history[1:] & ~history[:-1]
    near_active = (history[:-1].astype(np.int64) @ adjacency) > 0
    spontaneous = int((new & ~near_active).sum())
    recruited = int((new & near_active).sum())
    assert spontaneous >= 1, "no cell fired on its own"
    assert recruited > 10 * spontaneous, "activity did not spread to neighbours"

    # Every completed depolarisation lasts 93 steps: the first step after onset + 2.3 s ends it.
    durations = []
    for cell in np.flatnonzero(history.any(axis=0)):
        edges = np.flatnonzero(np.diff(history[:, cell].astype(np.int8)))
        durations += list(np.diff(edges)[::2][: len(edges) // 2])
    assert durations and set(durations) == {93}
