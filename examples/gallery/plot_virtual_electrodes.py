"""
Simulated waves through a recording's own electrodes
====================================================

To compare a simulation with a multielectrode-array recording, wavesim samples the simulated movie at
the recording's electrode positions (virtual electrodes that fire while their pixel is active) and puts
the virtual recording through the very analysis the real one goes through. This is what ``wavesim
compare`` and the objective of ``wavesim fit`` do. Here: the mouse preset against the wild-type P5
recording of Kirkby et al. (2013), one retina of 1.9 mm x 1.9 mm around its 8 x 8 array, over the
recording's own 989 s.
"""

import sys
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import wavesim as ws
from wavesim.analysis import AnalysisParams, summarize, virtual_electrodes
from wavesim.io import Movie, load_recording

ROOT = Path(sys.argv[0]).resolve().parents[2]  # the documentation build sets argv[0], not __file__
recording = load_recording(ROOT / "datasets" / "recordings" / "Kirkby2013_02_WT_P5.h5")

um_per_pixel, frame_period_s, width_um = 34.0, 0.25, 1904.0
sim = ws.Simulation(ws.preset("mouse"), seeds=[0], retina=ws.Retina(width_um=width_um, height_um=width_um),
                    readout=ws.Readout(um_per_pixel=um_per_pixel, frame_period_s=frame_period_s),
                    backend="cpu-events")
sim.advance_s(900)
n_frames = int(round(recording.duration_s / frame_period_s))
frames = np.concatenate([sim.to_host(c)[0] for _, c in sim.frames(n_frames, chunk_frames=1000)])
movie = Movie(frames, um_per_pixel, frame_period_s)

# %%
# Centre the array on the retina: ``origin_um`` is where the centre of pixel (0, 0) lies in the
# recording's coordinates.
centre = (recording.positions_um.min(axis=0) + recording.positions_um.max(axis=0)) / 2
origin = tuple(centre - (np.array(frames.shape[:0:-1]) * um_per_pixel) / 2 + um_per_pixel / 2)
virtual = virtual_electrodes(movie, recording.positions_um, origin, rate_hz=20.0, seed=0)

params = AnalysisParams()
real, simulated = summarize(recording, params, name="recording"), summarize(virtual, params, name="mouse preset")
print(f"{'':>24} {'recording':>10} {'simulated':>10}")
for label, attr in [("waves per minute", "wave_frequency_per_min"), ("mean IWI (s)", "mean_iwi_s"),
                    ("mean speed (um/s)", "mean_speed_um_per_s"), ("mean size (fraction)", "mean_size_fraction"),
                    ("CI at closest distance", "ci_closest")]:
    print(f"{label:>24} {getattr(real, attr):>10.3g} {getattr(simulated, attr):>10.3g}")

# %%
# The correlation index against electrode distance, and the first five minutes of spikes. Where the
# preset and the recording differ, ``wavesim fit`` tunes the parameters against exactly these statistics.
fig, (ci_ax, raster_ax) = plt.subplots(1, 2, figsize=(10, 4), layout="constrained")
for summary in (real, simulated):
    profile = summary.ci_profile
    ci_ax.plot(profile.distance_um, profile.mean_ci, "o-", label=summary.name)
ci_ax.set(xlabel="electrode distance (um)", ylabel="correlation index", yscale="log")
ci_ax.legend()
for offset, (rec, colour) in enumerate([(recording, "C0"), (virtual, "C1")]):
    for channel, spikes in enumerate(rec.spike_times_s):
        raster_ax.plot(spikes, np.full(len(spikes), channel + offset * 70), "|", color=colour, ms=2)
raster_ax.set(xlabel="time (s)", ylabel="electrode (recording, then virtual)", xlim=(0, 300))
plt.show()
