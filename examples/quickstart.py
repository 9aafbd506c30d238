"""Simulate a few mouse retinas from Python and look at their activity.

Run: python examples/quickstart.py  (CPU, about a minute including compilation)
"""

import numpy as np

import wavesim as ws

params = ws.preset("mouse")
sim = ws.Simulation(
    params,
    seeds=[0, 1],  # two independent retinas, simulated as one batch
    retina=ws.Retina(width_um=3200, height_um=3200),
    readout=ws.Readout(um_per_pixel=50, frame_period_s=0.5, kind="binary"),
    backend="auto",  # the GPU when one is usable, else the CPU
)
print(f"backend {sim.backend}, {sim.lattice.n_cells} cells per retina, frames {sim.frame_shape}")
sim.advance_s(900)  # warm-up: thresholds forget their random start
movie = np.concatenate([sim.to_host(chunk) for _, chunk in sim.frames(240, chunk_frames=60)], axis=1)
print(f"movie {movie.shape} (retina, frame, y, x); active pixel-frames: {movie.mean():.4f}")
for b, m in enumerate(movie):
    busiest = int(m.sum(axis=(1, 2)).argmax())
    print(f"retina {b}: most active frame {busiest} at t = {busiest * 0.5:.1f} s, "
          f"{int(m[busiest].sum())} active pixels")
