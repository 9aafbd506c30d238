import math

import numpy as np
import pytest

import wavesim as ws
from wavesim.lattice import Q16, Q20, dendritic_overlap


def test_bulk_cell_has_90_neighbours_with_symmetric_overlap_weights():
    lat = ws.HexLattice(ws.Retina(width_um=1000, height_um=1000))
    dr, dc, w = lat.offsets
    assert lat.n_neighbours == 90
    x, y = lat.positions_um
    r, c = 14, 14
    for p in (0, 1):
        rr = r + p
        for k in range(90):
            d = math.hypot(x[rr + dr[p, k], c + dc[p, k]] - x[rr, c], y[rr + dr[p, k], c + dc[p, k]] - y[rr, c])
            assert d <= 170 + 1e-6
            assert w[p, k] == round(dendritic_overlap(np.array([d]), 170.0)[0] * Q20)
    # The weight from a to b equals the weight from b to a.
    pairs = {(int(dr[0, k]), int(dc[0, k])): int(w[0, k]) for k in range(90)}
    for k in range(90):
        back = (-int(dr[1, k]), -int(dc[1, k]))
        if back[0] % 2:  # offsets from an odd row back to an even one
            assert pairs[back] == w[1, k]


def test_overlap_formula_limits():
    assert dendritic_overlap(np.array([0.0]), 170)[0] == pytest.approx(1.0)
    assert dendritic_overlap(np.array([340.0]), 170)[0] == pytest.approx(0.0)
    assert 0 < dendritic_overlap(np.array([170.0]), 170)[0] < 0.5


def test_disc_retina_and_border_fraction():
    lat = ws.HexLattice(ws.Retina(width_um=1500, height_um=1500, shape="disc"))
    x, y = lat.positions_um
    inside = np.hypot(x - 750, y - 750) < 750
    assert np.array_equal(lat.exists, inside)
    frac = lat.neighbour_fraction_q16
    assert frac[~lat.exists].max() == 0
    centre = frac[lat.rows // 2, lat.cols // 2]
    assert centre == Q16
    assert frac[lat.exists].min() < Q16 // 2  # border cells have fewer neighbours
