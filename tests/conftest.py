import numpy as np
import pytest

import wavesim as ws


@pytest.fixture(scope="session")
def mouse_movie():
    """One warmed-up mouse-preset movie: 3.4 mm square, 34 um pixels, 4 frames/s, 150 s."""
    sim = ws.Simulation(
        ws.preset("mouse"),
        seeds=[11],
        retina=ws.Retina(width_um=3400, height_um=3400),
        readout=ws.Readout(um_per_pixel=34, frame_period_s=0.25),
        backend="cpu",
    )
    sim.advance_s(900)
    movie = np.concatenate([chunk for _, chunk in sim.frames(600, 200)], axis=1)[0]
    return movie
