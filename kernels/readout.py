"""Per-pixel readout and calcium filter, shared by every model and runner.

Frames see a model only through its rule's ``active`` (whether a cell is
depolarised at the end of a step); the calcium-like readout low-pass filters
that activity per cell.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np


def build_readout(jit, active):
    """Compile ``pixel_value`` (on the rule's ``active``) and ``calcium_step`` with ``jit``."""

    @jit
    def calcium_step(ca_q16, now, alpha_q30):
        """Low-pass filter of activity (0 or 1), in units of 2**-16."""
        ca_q16 = np.int64(ca_q16)
        target = np.int64(now) << 16
        return ca_q16 + (((target - ca_q16) * alpha_q30 + (1 << 29)) >> 30)

    @jit
    def pixel_value(state, plane, b, pix, t, ca, use_calcium, prow, pixel_ptr, cell_rows, cell_cols, R, C):
        """uint8 value of one pixel of retina ``b`` at the end of step ``t``.

        Binary: 1 if at least half of the pixel's cells are depolarised.
        Calcium: mean filtered activity of the pixel's cells (``ca``, flat
        (B * R * C)), times 255, rounded. A pixel with no cell reads 0.
        """
        start = pixel_ptr[pix]
        n = np.int64(pixel_ptr[pix + 1]) - np.int64(start)
        if n == 0:
            return 0
        base = b * R * C
        total = np.int64(0)
        for k in range(start, start + n):
            i = base + cell_rows[k] * C + cell_cols[k]
            if use_calcium:
                total += np.int64(ca[i])
            elif active(state, plane, i, t, prow):
                total += 1
        if use_calcium:
            return (total * 255 + (n << 15)) // (n << 16)
        return 1 if 2 * total >= n else 0

    return SimpleNamespace(pixel_value=pixel_value, calcium_step=calcium_step)
