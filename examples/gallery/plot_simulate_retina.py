"""
Simulate a retina from Python
=============================

Two mouse-preset retinas of 2 mm x 2 mm, simulated as one batch on the CPU, warmed up for 15 simulated
minutes (the original code's warm-up: thresholds forget their random start), then read out as binary
frames of 50 um pixels every 0.5 s. The figure shows a few frames of a wave and the fraction of active
pixels over time: waves come as bursts of activity separated by a refractory minute or more.
"""

import matplotlib.pyplot as plt
import numpy as np

import wavesim as ws

sim = ws.Simulation(
    ws.preset("mouse"),
    seeds=[0, 1],  # two independent retinas
    retina=ws.Retina(width_um=2000, height_um=2000),
    readout=ws.Readout(um_per_pixel=50, frame_period_s=0.5, kind="binary"),
    backend="cpu-events",  # the event-driven CPU engine; "auto" takes a GPU where one is usable
)
print(f"backend {sim.backend}, {sim.lattice.n_cells} cells per retina, frames {sim.frame_shape} pixels")
sim.advance_s(900)  # warm-up
movie = np.concatenate([sim.to_host(chunk) for _, chunk in sim.frames(600, chunk_frames=200)], axis=1)
print(f"movie {movie.shape} (retina, frame, y, x), {movie.dtype}")

# %%
# Activity over time, and the frames around the busiest moment of retina 0.

active = movie.mean(axis=(2, 3))  # fraction of active pixels, per retina and frame
time_s = np.arange(movie.shape[1]) * 0.5
busiest = int(active[0].argmax())
first = min(max(busiest - 10, 0), movie.shape[1] - 24)  # six frames 2 s apart around it

fig = plt.figure(figsize=(9, 5), layout="constrained")
top, bottom = fig.subfigures(2, 1, height_ratios=[1, 1.1])
ax = top.subplots()
for b in range(len(active)):
    ax.plot(time_s, active[b], label=f"retina {b}")
ax.axvline(time_s[busiest], color="0.6", ls=":")
ax.set(xlabel="time after the warm-up (s)", ylabel="active pixels (fraction)")
ax.legend(loc="upper right")
frames = bottom.subplots(1, 6)
extent_mm = [0, movie.shape[3] * 0.05, movie.shape[2] * 0.05, 0]
for ax, f in zip(frames, range(first, first + 24, 4)):
    ax.imshow(movie[0, f], cmap="gray", vmin=0, vmax=1, extent=extent_mm)
    ax.set_title(f"t = {time_s[f]:.1f} s", fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])
frames[0].set_ylabel("2 mm")
plt.show()
